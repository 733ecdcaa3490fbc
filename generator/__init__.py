"""Slate's generator: the worker that loads a model, checks its identity, generates and
sends each image to the signing API; and the trainer of the bundled demo model.

The only package that imports torch and diffusers. It may import ``governance``; the
reverse is never allowed (API hosts carry no GPU stack).
"""

import os

# transformers warns at import that torchvision (an image-model dependency Slate never
# uses) is missing; that line on every start would only teach people to ignore warnings.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

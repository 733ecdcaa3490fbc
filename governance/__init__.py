"""Slate: governance and provenance for a studio's bespoke generative image models.

This package is the service. It must never import torch or diffusers: API hosts carry
no GPU stack. The worker that does lives in ``generator``.
"""

__version__ = "0.1.0"

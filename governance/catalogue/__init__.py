"""The fact catalogue: typed attributes a studio records on its records, and the words it
adds to Slate's closed vocabularies, kept in a file legal and an admin maintain, reviewed
and published like a policy. ``model`` is the plain value; ``versions`` its storage."""

from .model import EMPTY, Attribute, Catalogue, load_catalogue
from .versions import published_catalogue

__all__ = ["EMPTY", "Attribute", "Catalogue", "load_catalogue", "published_catalogue"]

"""The inputs digest: how a decision names exactly the facts it judged.

Every decision records a digest of its facts, so that an auditor holding the stored facts
can check they are the ones judged, and replay can tell two requests' inputs apart. Two
schemes have been used; a stored decision says which (``DIGEST_SCHEME``, recorded with its
records; absent means 1):

1. (decisions recorded before issue 15) the SHA-256 of the canonical JSON of the whole facts.
2. (every decision since) a Merkle-like composition over the facts' top-level parts::

       part digest   = SHA-256 of the canonical JSON of one part (request, requester, model,
                       production, references, performers, training_assets ...)
       inputs digest = SHA-256 of the canonical JSON of {"parts": {name: part digest}, "scheme": 2}

   A change to any fact changes its part's digest and so the inputs digest, exactly as
   under scheme 1; what changes is the cost. A model's training-set entries are most of
   the facts and the same for every request on that model, so the facts builder hashes them
   once per model (``Hashed``) and each decision hashes only its own parts and the
   composition. A part's digest is also the key ``stored_facts`` stores it under.

``inputs_digest(facts, scheme)`` computes either, so decisions of both schemes verify.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from ..canonical import canonical_json, digest, sha256_hex
from ..errors import PolicyError

#: the scheme of every decision made now
DIGEST_SCHEME = 2
#: the scheme of decisions that record none
LEGACY_SCHEME = 1


class Hashed(tuple[Any, ...]):
    """A list-valued part of the facts with the SHA-256 of its canonical JSON, computed once
    when it is made, so that every decision relying on it reuses the hash.

    It iterates, indexes and encodes (as JSON) like the list it holds. Being a tuple, it
    cannot gain or lose items; like all facts, its items are never mutated once built.
    """

    sha256: str

    def __new__(cls, items: Iterable[Any]) -> Hashed:
        part = super().__new__(cls, items)
        part.sha256 = digest(part)  # a tuple encodes as the same JSON array as a list
        return part


def part_digest(value: Any) -> str:
    """The SHA-256 of one part's canonical JSON, hashed now unless it was hashed when built."""
    return value.sha256 if isinstance(value, Hashed) else digest(value)


def inputs_digest(facts: Mapping[str, Any], scheme: int = DIGEST_SCHEME) -> str:
    """The digest naming ``facts`` under ``scheme`` (see the module's docstring)."""
    if scheme == DIGEST_SCHEME:
        parts = {name: part_digest(value) for name, value in facts.items()}
        return sha256_hex(canonical_json({"parts": parts, "scheme": DIGEST_SCHEME}))
    if scheme == LEGACY_SCHEME:
        return digest(facts)
    raise PolicyError(f"unknown inputs digest scheme {scheme!r}",
                      hint=f"Slate knows schemes {LEGACY_SCHEME} and {DIGEST_SCHEME}")

"""The facts a decision was made on, as stored and as read back.

Decisions keep their facts so a later policy version can be replayed against exactly
the same inputs. A model's training-set entries are most of those facts (one per image)
and the same for every request until a licence changes, so they are stored once in
``SharedFacts`` under the SHA-256 of their canonical JSON, and the decision holds that
hash. Reading back checks the hash, so a shared row edited in the database is named as
such rather than replayed.

That hash is the part's digest in the decision's inputs digest (scheme 2, see ``inputs``):
a part the facts builder hashed once (``Hashed``) is stored without hashing it again, and
is read back as a ``Hashed`` part, so replaying or verifying many decisions hashes each
shared part once. ``inputs_verified`` checks stored facts against a decision's digest
under the scheme it was recorded with, old decisions included.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..clock import utcnow
from ..db import HotSelect
from ..errors import PolicyError
from .inputs import LEGACY_SCHEME, Hashed, inputs_digest, part_digest
from .tables import DecisionRecord, SharedFacts

#: facts keys stored once and shared; the rest (request, performers...) stay with the decision
SHARED_KEYS = ("training_assets",)


def facts_to_store(facts: Mapping[str, Any]) -> dict[str, Any]:
    """``facts`` with each large shared part replaced by ``{"shared": sha256}``; call inside
    the decision's transaction."""
    stored = dict(facts)
    for key in SHARED_KEYS:
        if facts.get(key):
            stored[key] = {"shared": _share(facts[key])}
    return stored


def decision_facts(record: DecisionRecord, cache: dict[str, Any] | None = None) -> dict[str, Any]:
    """The facts ``record`` was decided on, shared parts read back and checked.

    ``cache`` (hash -> part) lets a caller reading many decisions read each shared part
    once; the parts are never changed, so sharing them between decisions is safe.
    """
    facts = dict(record.facts or {})
    for key in SHARED_KEYS:
        part = facts.get(key)
        if isinstance(part, dict) and "shared" in part:
            sha256 = str(part["shared"])
            value = cache.get(sha256) if cache is not None else None
            if value is None:
                value = _shared(sha256, record.id)
                if cache is not None:
                    cache[sha256] = value
            facts[key] = value
    return facts


def inputs_verified(record: DecisionRecord, cache: dict[str, Any] | None = None) -> bool:
    """Whether the facts stored with ``record`` are exactly those its inputs digest names,
    recomputed under the scheme the decision was recorded with (1 when it records none)."""
    scheme = int((record.records or {}).get("digest_scheme", LEGACY_SCHEME))
    return inputs_digest(decision_facts(record, cache), scheme) == record.inputs_digest


def _share(value: Any) -> str:
    sha256 = part_digest(value)
    if not _stored(sha256):  # checked first: serialising a large part again costs more
        # a concurrent request may store the same part first: the row is the same either way
        SharedFacts.insert(sha256=sha256, facts=value, created_at=utcnow()).on_conflict_ignore().execute()
    return sha256


def _stored(sha256: str) -> bool:
    return _by_sha256.first(sha256) is not None


#: whether a shared part is stored already (every decision asks, for each part)
_by_sha256: HotSelect[SharedFacts] = HotSelect(
    lambda sha256: SharedFacts.select(SharedFacts.sha256).where(SharedFacts.sha256 == sha256).limit(1),
    SharedFacts.sha256)


def _shared(sha256: str, decision_id: int) -> Hashed:
    row = SharedFacts.get_or_none(SharedFacts.sha256 == sha256)
    if row is None:
        raise PolicyError(f"decision #{decision_id} relies on shared facts {sha256[:16]} that are missing "
                          "from the database", hint="restore the shared_facts table from a backup")
    part = Hashed(row.facts)
    if part.sha256 != sha256:
        raise PolicyError(f"the shared facts {sha256[:16]} of decision #{decision_id} were changed after they "
                          "were stored", hint="restore the shared_facts table from a backup")
    return part

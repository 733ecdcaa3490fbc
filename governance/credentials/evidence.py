"""What verification knows beyond the file itself: the evidence it judges a credential by.

A file alone proves only that its manifest is intact. Whether Slate issued it and whether it
still stands needs evidence: the roots to trust, Slate's signing certificates (with their
revocations), the record of what was issued and the rights each output relied on.
``Evidence`` is that seam; ``Verifier`` asks it and nothing else, so verification reads the
same with any of:

- ``StudioEvidence``: the studio's database and keys folder (the API, the pages, ``slate verify``
  inside the studio, where the database is opened read-only);
- ``NoRecords``: no database at all (``slate verify`` in an empty folder), with trust anchors
  only if someone gave them; what it cannot check it says, and it never makes keys;
- ``KitEvidence`` (``kit``): an exported verification kit, for auditors outside the studio.

For the same facts every implementation yields the same checks and wording: the kit stores
what the studio would have said (its standing reasons), not a summary of it.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import c2pa

from ..audit.trust import TrustAnchors
from ..errors import CredentialError, SlateError
from ..ledger import LedgerEntry, find_by_label, find_by_sha256
from ..ledger.bindings import LedgerRecovery, manifest_store
from ..settings import Settings
from . import c2pa_config, pki
from .approvals import APPROVALS_LABEL
from .claim import GOVERNANCE_LABEL
from .identities import IdentityStore, identity_anchors_path
from .keys import KeyInfo, KeyStore
from .softbinding import Recovery

#: Called with a ledger entry and the governance assertion; returns reasons it no longer stands.
StandingCheck = Callable[[LedgerEntry, Mapping[str, Any]], Sequence[str]]

#: What a verdict says when there is nothing to check issuance and standing against.
NO_RECORDS = "not checked: no records of what Slate issued here; pass --kit DIR (slate export verification-kit)"
NO_ANCHORS = "no trust anchors were given: pass --trust-anchors FILE or --kit DIR"


@dataclass(frozen=True)
class Source:
    """Where a verdict's evidence came from, for its facts: what a reader must know to weigh it."""

    kind: str  # studio | none | kit
    trust_anchors: str
    as_of: str | None = None
    location: str | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "trust_anchors": self.trust_anchors, "as_of": self.as_of,
                "location": self.location, "notes": list(self.notes)}


class Evidence(Protocol):
    """What ``Verifier`` asks beyond the file. Implementations never write anything."""

    @property
    def has_records(self) -> bool:
        """Whether signing keys and issued outputs are known (else issuance is not checked)."""

    @property
    def source(self) -> Source: ...

    def trust_anchors_pem(self) -> str:
        """PEM roots a claim signer must chain to; "" when there are none (nothing is trusted)."""

    def keys_by_serial(self, serial: str) -> list[tuple[KeyInfo, frozenset[str]]]:
        """Slate's signing certificates with this serial (hex), each with the names its
        certificate carries, revoked ones included with their revocation time."""

    def key(self, fingerprint: str) -> KeyInfo | None:
        """Slate's signing certificate with this SHA-256 fingerprint (the one a recovered
        copy's original was signed with), revoked ones included."""

    def output_by_sha256(self, sha256: str) -> LedgerEntry | None: ...

    def output_by_label(self, manifest_label: str) -> LedgerEntry | None: ...

    def standing(self, entry: LedgerEntry, assertion: Mapping[str, Any]) -> list[str]:
        """Why ``entry`` is no longer in good standing (the ledger's reason, then every
        standing check's); empty when it stands."""

    def identity_anchors_pem(self) -> str:
        """The studio identity CA approvers' certificates chain to; "" when there is none
        (then no approver's signature can be valid)."""

    def approval_manifest(self, entry: LedgerEntry) -> Mapping[str, Any] | None:
        """The original's manifest as far as its approvals go (label, governance and approvals
        assertions), for judging a recovered copy; None when none is kept."""

    def identity_revocations(self) -> Mapping[str, tuple[datetime, str]]:
        """Revoked identity certificates: serial (hex) -> (revoked at, reason)."""

    @property
    def recovery(self) -> Recovery | None:
        """Where a copy stripped of its manifest is looked up by its soft bindings (watermark
        id, fingerprint); None without records."""


def anchors_from_file(path: Path) -> TrustAnchors:
    """``--trust-anchors FILE``: PEM roots an auditor pins; unreadable or empty is an error."""
    anchors = TrustAnchors.from_file(path)
    if not anchors.roots:
        raise CredentialError(f"'{path}' holds no certificates", hint="pass a PEM file of root certificates")
    return anchors


def anchors_pem(anchors: TrustAnchors) -> str:
    return pki.certificate_pem(*anchors.roots)


class StudioEvidence:
    """The studio's database (ledger, signing keys, registry) and its keys folder's anchors.

    Needs the database open; reads only. ``anchors``, when given, replaces the keys folder's."""

    has_records = True

    def __init__(self, settings: Settings, standing_checks: Sequence[StandingCheck] = (), *,
                 anchors: TrustAnchors | None = None) -> None:
        self._keys = KeyStore(settings)
        self._identities = IdentityStore(settings)
        self._identity_path = identity_anchors_path(settings.keys_dir)
        self._checks = tuple(standing_checks)
        self.recovery: Recovery | None = LedgerRecovery(settings.output_index_dir)
        self._anchors = anchors_pem(anchors) if anchors is not None else None
        # no paths: the API hands this to anyone who verifies a file
        self.source = Source("studio", anchors.source if anchors is not None else "the studio's keys folder")

    def trust_anchors_pem(self) -> str:
        if self._anchors is not None:
            return self._anchors
        try:
            return self._keys.trust_anchors_pem()
        except CredentialError:  # keys never generated: nothing is trusted
            return ""

    def keys_by_serial(self, serial: str) -> list[tuple[KeyInfo, frozenset[str]]]:
        return self._keys.keys_by_serial(serial)

    def key(self, fingerprint: str) -> KeyInfo | None:
        try:
            return self._keys.find(fingerprint)
        except SlateError:
            return None

    def identity_anchors_pem(self) -> str:
        # read, never created: verification makes no CA (an absent one trusts nothing)
        return self._identity_path.read_text() if self._identity_path.is_file() else ""

    def approval_manifest(self, entry: LedgerEntry) -> Mapping[str, Any] | None:
        store = manifest_store(entry.manifest_label)
        return approval_part(read_manifest_store(store, entry.manifest_label)) if store is not None else None

    def identity_revocations(self) -> dict[str, tuple[datetime, str]]:
        return self._identities.revocations()

    def output_by_sha256(self, sha256: str) -> LedgerEntry | None:
        return find_by_sha256(sha256)

    def output_by_label(self, manifest_label: str) -> LedgerEntry | None:
        return find_by_label(manifest_label)

    def standing(self, entry: LedgerEntry, assertion: Mapping[str, Any]) -> list[str]:
        reasons = []
        if not entry.in_good_standing:
            reasons.append(entry.standing_reason or "the ledger marks this output as no longer in good standing")
        for check in self._checks:
            reasons.extend(check(entry, assertion))
        return reasons


class NoRecords:
    """No database and no kit: integrity, and trust when anchors were given; nothing else."""

    has_records = False
    recovery: Recovery | None = None

    def __init__(self, anchors: TrustAnchors | None = None) -> None:
        self._anchors = anchors_pem(anchors) if anchors is not None else ""
        self.source = Source("none", anchors.source if anchors is not None else "none",
                             notes=(NO_RECORDS.removeprefix("not checked: "),))

    def trust_anchors_pem(self) -> str:
        return self._anchors

    def keys_by_serial(self, serial: str) -> list[tuple[KeyInfo, frozenset[str]]]:
        return []

    def key(self, fingerprint: str) -> KeyInfo | None:
        return None

    def identity_anchors_pem(self) -> str:
        return ""

    def approval_manifest(self, entry: LedgerEntry) -> Mapping[str, Any] | None:
        return None

    def identity_revocations(self) -> dict[str, tuple[datetime, str]]:
        return {}

    def output_by_sha256(self, sha256: str) -> LedgerEntry | None:
        return None

    def output_by_label(self, manifest_label: str) -> LedgerEntry | None:
        return None

    def standing(self, entry: LedgerEntry, assertion: Mapping[str, Any]) -> list[str]:
        return []


#: the assertions an approval check reads
APPROVAL_LABELS = (GOVERNANCE_LABEL, APPROVALS_LABEL)
#: c2pa's reading context for stored manifests (no anchors: only their assertions are read)
_reading: c2pa.Context | None = None


def read_manifest_store(store: bytes, label: str) -> Mapping[str, Any] | None:
    """The manifest ``label`` of a stored manifest store (``application/c2pa``) as c2pa reports
    it, read offline; None when the store cannot be read."""
    global _reading
    if _reading is None:
        _reading = c2pa_config.context(c2pa_config.reading_settings(""))
    try:
        with c2pa.Reader("application/c2pa", io.BytesIO(store), context=_reading) as reader:
            report = json.loads(reader.json())
    except (c2pa.C2paError, ValueError):
        return None
    active = (report.get("manifests") or {}).get(label)
    return {**active, "label": label} if isinstance(active, Mapping) else None


def approval_part(manifest: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The label and the governance and approvals assertions of ``manifest``: all an approval
    check needs, small enough for a verification kit to carry per output."""
    if manifest is None:
        return None
    return {"label": manifest.get("label"),
            "assertions": [a for a in manifest.get("assertions") or ()
                           if isinstance(a, Mapping) and a.get("label") in APPROVAL_LABELS]}

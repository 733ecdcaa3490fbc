"""The content credentials an asset arrives with, read once when it is registered.

An image can carry a C2PA manifest whose CAWG (or C2PA 1.x) training-and-mining assertion
says whether its owner allows AI training. Registration reads it with c2pa's own ``Reader``
(offline: no remote manifest or OCSP is fetched) and keeps what decisions need: who signed
the active manifest, whether it validated, and the owner's answer for AI training. The
manifest is also kept as a C2PA ingredient archive (c2pa ``Builder.write_ingredient_archive``)
so an output that uses the asset as a reference names it as its ingredient with the asset's
own manifest, although Slate keeps no asset bytes.

Only the owner's refusal ever changes what Slate does: a ``notAllowed`` keeps the asset out
of training sets whether or not its manifest validated (an owner's stated wish counts even
unsigned), and an ``allowed`` never stands in for a licence. A file that carries a manifest
Slate cannot read (damaged, truncated, or stored at a remote URL) is refused, so a wish
cannot be hidden by breaking its container.

This module never writes anything; ``assets`` records what it returns.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import c2pa

from ..errors import InvalidInput

#: ``Asset.credential_state``: no manifest; one that validated; one that did not; a media
#: type c2pa does not read; bytes whose container c2pa cannot parse and that carry no manifest
NONE, VALID, INVALID, UNSUPPORTED, UNREADABLE = "none", "valid", "invalid", "unsupported", "unreadable"
#: the owner's answer for AI training, summed over the entries that speak to it
ALLOWED, NOT_ALLOWED, CONSTRAINED = "allowed", "notAllowed", "constrained"
#: the training-and-mining assertions: CAWG's, and the C2PA 1.x label it replaced
MINING_LABELS = ("cawg.training-mining", "c2pa.training-mining")
#: entries that speak to training a model on the asset (ai_inference is about using it as
#: a model's input, which its licence governs as a reference)
TRAINING_USES = ("ai_training", "ai_generative_training", "data_mining")
#: a kept ingredient archive (the manifest store plus c2pa's ingredient record) at most this big
MAX_ARCHIVE_BYTES = 4 * 1024 * 1024
#: the bytes that begin a JUMBF superbox of a C2PA manifest store
_JUMBF_MARKERS = (b"jumb", b"c2pa")


def ingredient_id(sha256: str) -> str:
    """The instance id an asset has as an ingredient of Slate's outputs."""
    return f"slate:sha256:{sha256}"


@dataclass(frozen=True)
class Credentials:
    """What registration read from an asset's content credentials."""

    state: str
    signer: str | None = None
    signer_serial: str | None = None
    active_manifest: str | None = None
    #: c2pa's failure codes for the active manifest (empty: it validated)
    failures: tuple[str, ...] = ()
    #: every training-and-mining entry: {assertion label: {entry: {"use": ..., ...}}}
    entries: Mapping[str, Any] = field(default_factory=dict)
    #: the C2PA ingredient archive kept for references; None when there is no manifest or it is too big
    archive: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def training_mining(self) -> str:
        """The owner's answer for AI training: notAllowed wins over constrained over allowed."""
        uses = [str((entry or {}).get("use")) for data in self.entries.values() for name, entry in data.items()
                if name.split(".", 1)[-1] in TRAINING_USES and isinstance(entry, Mapping)]
        for answer in (NOT_ALLOWED, CONSTRAINED, ALLOWED):
            if answer in uses:
                return answer
        return NONE

    def summary(self) -> dict[str, Any]:
        return {"state": self.state, "signer": self.signer, "signer_serial": self.signer_serial,
                "active_manifest": self.active_manifest, "failures": list(self.failures),
                "training_mining": self.training_mining}


def read_credentials(content: bytes, media_type: str, sha256: str, title: str) -> Credentials:
    """The asset's credentials; ``InvalidInput`` for a manifest that is there but cannot be read."""
    if not _reads(media_type):
        if _carries_manifest(content):
            raise InvalidInput(f"the asset looks like it carries a C2PA manifest, which cannot be read as "
                               f"{media_type[:100]}; nothing was registered",
                               hint="register it under its true media type (image/png, image/jpeg, ...)")
        return Credentials(UNSUPPORTED)
    try:
        with c2pa.Reader(media_type, io.BytesIO(content), context=_context()) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return Credentials(NONE)
    except c2pa.C2paError as exc:
        return _unreadable(content, str(exc))
    except (ValueError, TypeError):
        raise _damaged("its manifest store is not valid JSON") from None
    return _credentials(store, _archive(content, media_type, sha256, title))


def _reads(media_type: str) -> bool:
    return media_type.lower() in _supported()


_SUPPORTED: frozenset[str] | None = None


def _supported() -> frozenset[str]:
    global _SUPPORTED
    if _SUPPORTED is None:
        _SUPPORTED = frozenset(t.lower() for t in c2pa.Reader.get_supported_mime_types() if "/" in t)
    return _SUPPORTED


_CONTEXT: c2pa.Context | None = None


def _context() -> c2pa.Context:
    """Reading settings: nothing fetched, no trust list (validation is integrity only:
    whether the claim signature and hashes match, not whether Slate trusts the signer)."""
    global _CONTEXT
    if _CONTEXT is None:
        _CONTEXT = c2pa.Context.from_dict({
            "version": 1,
            "verify": {"verify_trust": False, "verify_timestamp_trust": False, "remote_manifest_fetch": False,
                       "ocsp_fetch": False},
            "builder": {"thumbnail": {"enabled": False}},
        })
    return _CONTEXT


def _unreadable(content: bytes, text: str) -> Credentials:
    """A read that failed: a file with no manifest in it that c2pa cannot parse is recorded as
    such; one that carries a manifest Slate cannot read is refused."""
    if text.startswith("Remote"):
        raise InvalidInput("the asset's content credentials are stored at a remote URL, which Slate does not "
                           "fetch; nothing was registered",
                           hint="register a copy with its C2PA manifest embedded")
    if _carries_manifest(content):
        raise _damaged("it is damaged, truncated or malformed, or the file is not the media type it was "
                       "registered as")
    return Credentials(UNREADABLE)


def _carries_manifest(content: bytes) -> bool:
    """Whether the bytes hold what begins a C2PA manifest store (a JUMBF box labelled c2pa)."""
    return all(marker in content for marker in _JUMBF_MARKERS)


def _damaged(why: str) -> InvalidInput:
    return InvalidInput(f"the asset carries a C2PA manifest that cannot be read: {why}; nothing was registered",
                        hint="register the file as its owner published it, or a copy without the manifest "
                             "if its licence allows")


def _credentials(store: Mapping[str, Any], archive: bytes | None) -> Credentials:
    label = store.get("active_manifest")
    active = (store.get("manifests") or {}).get(label) if label else None
    if not isinstance(active, Mapping):
        return Credentials(NONE)
    results = (store.get("validation_results") or {}).get("activeManifest") or {}
    failures = tuple(str(f.get("code")) for f in results.get("failure") or () if isinstance(f, Mapping))
    info = active.get("signature_info") or {}
    state = VALID if str(store.get("validation_state")) in ("Valid", "Trusted") else INVALID
    return Credentials(state, signer=_signer(info), signer_serial=_text(info.get("cert_serial_number"), 100),
                       active_manifest=_text(label, 300), failures=failures,
                       entries=_strictest([active, *(m for k, m in (store.get("manifests") or {}).items()
                                                     if k != label and isinstance(m, Mapping))]),
                       archive=archive)


def _signer(info: Mapping[str, Any]) -> str | None:
    name, issuer = _text(info.get("common_name"), 200), _text(info.get("issuer"), 190)
    if name and issuer:
        return f"{name} ({issuer})"
    return name or issuer


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value not in (None, "") else None


#: how strict each training-and-mining answer is: the strictest any manifest gave counts
_STRICTNESS = {ALLOWED: 0, CONSTRAINED: 1, NOT_ALLOWED: 2}


def _strictest(manifests: list[Mapping[str, Any]]) -> dict[str, Any]:
    """The training-and-mining entries of every manifest in the store, the strictest answer
    kept for each: re-saving an owner's image in any C2PA editor makes a new active manifest
    (perhaps saying nothing, or "allowed") and leaves the owner's as an ingredient's, whose
    refusal must still count. An answer no manifest gave stays absent."""
    found: dict[str, Any] = {}
    for manifest in manifests:
        for label, entries in _mining(manifest).items():
            kept = found.setdefault(label, {})
            for key, entry in entries.items():
                use = str(entry.get("use"))
                if key not in kept or _STRICTNESS.get(use, 2) > _STRICTNESS.get(str(kept[key].get("use")), 2):
                    kept[key] = entry
    return found


def _mining(active: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for assertion in active.get("assertions") or ():
        if not isinstance(assertion, Mapping) or assertion.get("label") not in MINING_LABELS:
            continue
        entries = (assertion.get("data") or {}).get("entries")
        if isinstance(entries, Mapping):
            found[str(assertion["label"])] = {str(k): dict(v) for k, v in entries.items() if isinstance(v, Mapping)}
    return found


def _archive(content: bytes, media_type: str, sha256: str, title: str) -> bytes | None:
    """The asset as a C2PA ingredient (its manifest store and c2pa's validation of it, no
    thumbnail), written as c2pa's own ingredient archive; None if c2pa cannot make one or it
    is over ``MAX_ARCHIVE_BYTES``."""
    out = io.BytesIO()
    try:
        with c2pa.Builder({"title": title, "assertions": []}, context=_context()) as builder:
            builder.add_ingredient({"title": title, "relationship": "inputTo", "instance_id": ingredient_id(sha256)},
                                   media_type, io.BytesIO(content))
            builder.write_ingredient_archive(ingredient_id(sha256), out)
    except c2pa.C2paError:
        return None
    data = out.getvalue()
    return data if 0 < len(data) <= MAX_ARCHIVE_BYTES else None

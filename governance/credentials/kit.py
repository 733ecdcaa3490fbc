"""The verification kit: what someone outside the studio needs to verify Slate's outputs offline.

``export_kit`` writes a folder (``slate export verification-kit DIR``); ``KitEvidence.open``
reads one back as the ``Evidence`` a ``Verifier`` judges by (``slate verify --kit DIR``)::

    kit.json                  the kit's manifest: format, export time, every file's SHA-256,
                              signed by Slate's active signing key (chain included)
    trust-anchors.pem         the roots Slate's claim signers chain to
    signing-keys.json         every signing certificate (public), revoked ones with when and why
    outputs.json              every issued output: SHA-256, manifest label, signing certificate,
                              signed_at, governance assertion digest, and its standing as of the
                              export (the reasons the studio gives, word for word)
    audit-checkpoint.json     the newest signed audit checkpoint, covering this export's own entry
    identity-anchors.pem      (when the studio has one) the identity CA approvers' certificates chain to
    identity-revocations.json (with it) revoked identity certificates: serial, when, why

A kit is refused, never half-believed: a file changed, added or missing, a signature that
does not verify, or a signer that does not chain to the anchors. A kit brings its own trust
anchors, so on its own it proves only that it is whole; an auditor pins the studio's roots,
obtained another way, with ``--trust-anchors FILE``, and those are then used throughout.

Per output, ``soft_bindings`` are what a stripped copy is recovered by (``KitRecovery``): its
watermark id, pHash and descriptor, as ``ledger.bindings.BoundOutput.to_export`` writes them;
null for outputs signed before soft bindings were recorded.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..audit import log
from ..audit.checkpoints import SignedCheckpoint, signature_problem
from ..audit.trust import TrustAnchors
from ..canonical import canonical_json, json_default, sha256_hex
from ..clock import as_utc, utcnow
from ..db import transaction
from ..errors import CredentialError, InvalidInput
from ..ledger import LedgerEntry
from ..ledger.bindings import BoundOutput, exported_bindings
from ..ledger.tables import Output
from ..settings import Settings
from . import pki
from .evidence import Source, StandingCheck, StudioEvidence, anchors_pem
from .keys import KeyInfo, KeyStore, certificate_names
from .signers import FileSigner
from .tables import SigningKey

FORMAT = "slate-verification-kit/1"
MANIFEST = "kit.json"
TRUST_ANCHORS = "trust-anchors.pem"
SIGNING_KEYS = "signing-keys.json"
OUTPUTS = "outputs.json"
CHECKPOINT = "audit-checkpoint.json"
IDENTITY_ANCHORS = "identity-anchors.pem"
IDENTITY_REVOCATIONS = "identity-revocations.json"
REQUIRED = (TRUST_ANCHORS, SIGNING_KEYS, OUTPUTS, CHECKPOINT)
UNPINNED = ("the kit's own trust-anchors.pem, not pinned: an auditor passes the studio's roots, obtained "
            "another way, with --trust-anchors FILE")


def _time(value: Any, what: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        raise CredentialError(f"the verification kit is malformed: {what} is not an ISO 8601 time") from None


def _optional_time(value: Any, what: str) -> datetime | None:
    return None if value is None else _time(value, what)


@dataclass(frozen=True)
class IssuedOutput:
    """One line of ``outputs.json``: what the ledger recorded, and its standing at the export."""

    sha256: str
    manifest_label: str
    cert_fingerprint: str
    signed_at: datetime
    claim_sha256: str  # the governance assertion's digest, as the ledger recorded it
    media_type: str
    timestamped: bool
    output_id: int
    job_id: str
    decision_id: str
    request_id: str
    standing_reasons: tuple[str, ...] = ()
    #: soft bindings a stripped copy is found by (``BoundOutput.to_export``); None before they were recorded
    soft_bindings: Mapping[str, Any] | None = field(default=None, compare=False)
    #: the original's label, governance and approvals assertions (``evidence.approval_part``),
    #: so a recovered copy's approvals are judged offline; None when no manifest was kept
    approvals: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def watermark_id(self) -> str | None:
        return str(self.soft_bindings.get("watermark_id") or "") or None if self.soft_bindings else None

    @property
    def in_good_standing(self) -> bool:
        return not self.standing_reasons

    @classmethod
    def from_entry(cls, entry: LedgerEntry, reasons: Sequence[str]) -> IssuedOutput:
        return cls(entry.sha256, entry.manifest_label, entry.cert_fingerprint, entry.signed_at, entry.claim_sha256,
                   entry.media_type, entry.timestamped, entry.id, entry.job_id, entry.decision_id, entry.request_id,
                   tuple(reasons))

    def as_ledger_entry(self) -> LedgerEntry:
        # the kit carries the assertion's digest, not the assertion: the file holds that
        return LedgerEntry(self.output_id, self.sha256, self.manifest_label, self.cert_fingerprint, self.media_type,
                           self.job_id, self.decision_id, self.request_id, "", self.signed_at, self.timestamped,
                           None, self.claim_sha256, "{}", self.in_good_standing,
                           self.standing_reasons[0] if self.standing_reasons else None)

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "manifest_label": self.manifest_label,
                "cert_fingerprint": self.cert_fingerprint, "signed_at": json_default(self.signed_at),
                "claim_sha256": self.claim_sha256, "media_type": self.media_type, "timestamped": self.timestamped,
                "output_id": self.output_id, "job_id": self.job_id, "decision_id": self.decision_id,
                "request_id": self.request_id, "in_good_standing": self.in_good_standing,
                "standing_reasons": list(self.standing_reasons),
                "soft_bindings": dict(self.soft_bindings) if self.soft_bindings else None,
                "approvals": dict(self.approvals) if self.approvals else None}

    @classmethod
    def from_dict(cls, data: Any) -> IssuedOutput:
        try:
            reasons = tuple(str(r) for r in data["standing_reasons"])
            made = cls(str(data["sha256"]), str(data["manifest_label"]), str(data["cert_fingerprint"]),
                       _time(data["signed_at"], "an output's signed_at"), str(data["claim_sha256"]),
                       str(data["media_type"]), bool(data["timestamped"]), int(data["output_id"]),
                       str(data["job_id"]), str(data["decision_id"]), str(data["request_id"]), reasons,
                       _soft_bindings(data.get("soft_bindings")), _approvals(data.get("approvals")))
        except (KeyError, TypeError, ValueError):
            raise CredentialError("the verification kit is malformed: an entry of outputs.json lacks a field") from None
        if data.get("in_good_standing") is not made.in_good_standing:
            raise CredentialError("the verification kit is malformed: an output's in_good_standing disagrees with "
                                  "its standing reasons")
        return made


@dataclass(frozen=True)
class IdentityRevocation:
    """A revoked identity (approver) certificate, by serial (hex), as verification looks it up."""

    serial: str
    revoked_at: datetime
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "revoked_at": json_default(self.revoked_at), "reason": self.reason}


@dataclass(frozen=True)
class KitKey:
    """A signing certificate as a kit carries it: its public certificate and its standing."""

    info: KeyInfo
    cert_pem: str

    def to_dict(self) -> dict[str, Any]:
        return {**json.loads(canonical_json(self.info.to_dict())), "certificate_pem": self.cert_pem}

    @classmethod
    def from_dict(cls, data: Any) -> KitKey:
        try:
            info = KeyInfo(str(data["fingerprint"]), str(data["subject"]), str(data["issuer"]), str(data["serial"]),
                           _time(data["not_before"], "not_before"), _time(data["not_after"], "not_after"),
                           str(data["custody"]), str(data["status"]), _time(data["created_at"], "created_at"),
                           _optional_time(data.get("retired_at"), "retired_at"),
                           _optional_time(data.get("revoked_at"), "revoked_at"), data.get("revocation_reason"))
            return cls(info, str(data["certificate_pem"]))
        except (KeyError, TypeError):
            raise CredentialError("the verification kit is malformed: an entry of signing-keys.json lacks a "
                                  "field") from None


@dataclass(frozen=True)
class KitContents:
    """Everything a kit states, gathered from the studio at ``exported_at``."""

    exported_at: datetime
    trust_anchors_pem: str
    keys: tuple[KitKey, ...]
    outputs: tuple[IssuedOutput, ...]
    checkpoint: SignedCheckpoint
    identity_anchors_pem: str | None = None
    identity_revocations: tuple[IdentityRevocation, ...] = field(default=())

    def files(self) -> dict[str, bytes]:
        files = {
            TRUST_ANCHORS: self.trust_anchors_pem.encode("ascii"),
            SIGNING_KEYS: _json({"keys": [k.to_dict() for k in self.keys]}),
            OUTPUTS: _json({"as_of": json_default(self.exported_at), "outputs": [o.to_dict() for o in self.outputs]}),
            CHECKPOINT: _json(self.checkpoint.to_dict()),
        }
        if self.identity_anchors_pem:
            files[IDENTITY_ANCHORS] = self.identity_anchors_pem.encode("ascii")
            files[IDENTITY_REVOCATIONS] = _json({"revocations": [r.to_dict() for r in self.identity_revocations]})
        return files


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def manifest_body(exported_at: datetime, files: Mapping[str, str]) -> dict[str, Any]:
    return {"format": FORMAT, "exported_at": json_default(exported_at), "files": dict(sorted(files.items()))}


# ---------------------------------------------------------------- writing


@dataclass(frozen=True)
class ExportedKit:
    """What ``slate export verification-kit`` reports."""

    folder: str
    exported_at: datetime
    outputs: int
    not_in_good_standing: int
    keys: int
    checkpoint_tree_size: int
    manifest_sha256: str
    signed_by: str

    def to_dict(self) -> dict[str, Any]:
        return {"folder": self.folder, "exported_at": json_default(self.exported_at), "outputs": self.outputs,
                "not_in_good_standing": self.not_in_good_standing, "keys": self.keys,
                "checkpoint_tree_size": self.checkpoint_tree_size, "manifest_sha256": self.manifest_sha256,
                "signed_by": self.signed_by}


def export_kit(settings: Settings, folder: Path, standing_checks: Sequence[StandingCheck], *,
               withheld: str | None = None) -> ExportedKit:
    """Write a verification kit to ``folder`` (new, or empty), signed by the active signing key.

    A kit states why each output lost its standing in the studio's own words, which can name
    a person and legal's reason; ``withheld``, when given, replaces every such list by that
    one sentence (the outcome stays ``revoked``) for a kit going to someone who may not read them.

    The export is audit-logged, and a checkpoint is signed after that entry, so the kit's
    checkpoint covers its own export. The kit is written beside ``folder`` and renamed into
    place inside the same transaction: a failure leaves no kit and no log entry. Needs the
    database open (read-write)."""
    _check_target(folder)
    store = KeyStore(settings)  # never ``ensure``: a kit signed by a PKI made just now would vouch for nothing
    signer = store.file_signer(store.active_key())
    studio = StudioEvidence(settings, standing_checks)
    exported_at = utcnow().replace(microsecond=0)
    keys = tuple(KitKey(KeyInfo.from_row(r), r.cert_pem) for r in SigningKey.select().order_by(SigningKey.id))
    outputs = tuple(_issued(studio, withheld))
    anchors = store.trust_anchors_pem()

    # the approvers' identity CA and its revocations, so approvals are judged offline too
    identity_pem = studio.identity_anchors_pem() or None
    revoked = tuple(IdentityRevocation(serial, at, withheld or why)  # why is about a person: withheld too
                    for serial, (at, why) in sorted(studio.identity_revocations().items()))

    def contents(checkpoint: SignedCheckpoint) -> KitContents:
        return KitContents(exported_at, anchors, keys, outputs, checkpoint, identity_pem, revoked)

    logged = {"exported_at": exported_at, "outputs": len(outputs), "keys": len(keys),
              "outputs_sha256": sha256_hex(canonical_json([o.to_dict() for o in outputs])),
              "signed_by": signer.fingerprint, "reasons_withheld": withheld is not None}
    try:
        with transaction():
            return _record_and_write(folder, signer, contents, logged)
    except BaseException:
        # the kit was renamed into place but the log entry did not commit: no kit without its entry
        if folder.is_dir() and (folder / MANIFEST).exists():
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _record_and_write(folder: Path, signer: FileSigner, contents: Callable[[SignedCheckpoint], KitContents],
                      logged: dict[str, Any]) -> ExportedKit:
    """The audit entry, a checkpoint over it, then the kit, in the caller's transaction."""
    log.record("verification_kit.exported", f"kit:{folder.name}", logged)
    log.checkpoint(signer)
    checkpoint = log.newest_checkpoint()
    assert checkpoint is not None  # one was signed just now, over at least this entry
    kit = contents(checkpoint)
    manifest_sha256 = write_kit(folder, kit, signer)
    return ExportedKit(str(folder), kit.exported_at, len(kit.outputs),
                       sum(not o.in_good_standing for o in kit.outputs), len(kit.keys), checkpoint.tree_size,
                       manifest_sha256, signer.fingerprint)


def _issued(studio: StudioEvidence, withheld: str | None) -> Iterator[IssuedOutput]:
    bindings = {b.sha256: b.to_export() for b in exported_bindings()}
    for row in Output.select().order_by(Output.id).iterator():
        entry = LedgerEntry.from_row(row)
        # the assertion as signed: the standing checks are given what verification gives them
        reasons = studio.standing(entry, entry.claim)
        bound = bindings.get(entry.sha256)
        soft = {k: v for k, v in bound.items() if k not in ("sha256", "manifest_label")} if bound else None
        yield replace(IssuedOutput.from_entry(entry, [withheld] if reasons and withheld else reasons),
                      soft_bindings=soft, approvals=studio.approval_manifest(entry))


def _check_target(folder: Path) -> None:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InvalidInput(f"'{folder}' exists and is not an empty folder",
                           hint="name a new folder for the kit; an existing kit is never overwritten")
    if not folder.parent.is_dir():
        raise InvalidInput(f"the folder '{folder.parent}' does not exist")


def write_kit(folder: Path, contents: KitContents, signer: log.CheckpointSigner) -> str:
    """Write ``contents`` as a kit signed by ``signer`` into ``folder`` (which must not exist or
    be empty); returns the SHA-256 of its manifest. ``export_kit`` is the studio's way in."""
    files = contents.files()
    body = manifest_body(contents.exported_at, {name: sha256_hex(data) for name, data in files.items()})
    signature = signer.sign(canonical_json(body)).hex()
    manifest = _json({**body, "certificate_chain_pem": signer.certificate_chain_pem, "signature": signature})
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for name, data in {**files, MANIFEST: manifest}.items():
            (partial / name).write_bytes(data)
        partial.chmod(0o755)  # a kit is public material, made to be handed out
        os.replace(partial, folder)  # an empty folder is replaced; anything else was refused above
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise InvalidInput(f"cannot write the verification kit to '{folder}': {exc.strerror}") from None
    return sha256_hex(manifest)


# ---------------------------------------------------------------- reading


class KitEvidence:
    """An exported kit as verification's evidence; ``open`` refuses a kit that is not whole."""

    has_records = True

    def __init__(self, folder: Path, anchors: TrustAnchors, pinned: bool, exported_at: datetime,
                 keys: Sequence[KitKey], outputs: Sequence[IssuedOutput], checkpoint: SignedCheckpoint,
                 identity_anchors_pem: str | None, identity_revocations: Sequence[IdentityRevocation]) -> None:
        self.folder = folder
        self.exported_at = exported_at
        self.checkpoint = checkpoint
        self._identity_pem = identity_anchors_pem or ""
        self._identity_revocations = {r.serial: (r.revoked_at, r.reason) for r in identity_revocations}
        self.outputs = tuple(outputs)
        self._anchors = anchors_pem(anchors)
        self.keys = tuple(keys)
        self._by_sha256 = {o.sha256: o for o in outputs}
        self._by_label = {o.manifest_label: o for o in outputs}
        self._recovery = KitRecovery(outputs)
        stamp = json_default(exported_at)
        self.source = Source("kit", anchors.source if pinned else UNPINNED, as_of=stamp, location=str(folder),
                             notes=((f"issuance and standing as the studio recorded them at {stamp}: a revocation "
                                     "after that is not in this kit; ask the studio for a newer kit"),
                                    (f"the kit's audit checkpoint: {checkpoint.describe()}, root "
                                     f"{checkpoint.root_hash}")))

    @classmethod
    def open(cls, folder: Path, anchors: TrustAnchors | None = None) -> KitEvidence:
        """Read and check the kit in ``folder``: its manifest's signature, by a certificate that
        chains to ``anchors`` (pinned roots; else the kit's own), and every file's hash.
        Raises ``CredentialError`` saying why a kit is refused."""
        files = _read_kit_files(folder)
        manifest = _load_json(files.pop(MANIFEST), MANIFEST)
        body, exported_at = _manifest_body(manifest)
        pinned = anchors is not None
        if anchors is None:
            anchors = TrustAnchors.from_pem(files.get(TRUST_ANCHORS, b""), f"the kit's {TRUST_ANCHORS}")
        chain = str(manifest.get("certificate_chain_pem") or "")
        problem = signature_problem(chain, canonical_json(body), str(manifest.get("signature") or "")) \
            or anchors.signer_problem(chain, exported_at)
        if problem:
            raise _refused(folder, f"its manifest ({MANIFEST}) is not signed as Slate signs it: {problem}")
        _check_files(folder, body["files"], files)
        keys = tuple(KitKey.from_dict(k) for k in _load_json(files[SIGNING_KEYS], SIGNING_KEYS).get("keys") or ())
        _check_signer(folder, chain, keys, exported_at)
        outputs = tuple(IssuedOutput.from_dict(o) for o in _load_json(files[OUTPUTS], OUTPUTS).get("outputs") or ())
        try:
            checkpoint = SignedCheckpoint.from_dict(_load_json(files[CHECKPOINT], CHECKPOINT))
        except InvalidInput as exc:
            raise _refused(folder, f"its audit checkpoint is malformed: {exc.message}") from None
        problem = checkpoint.problem(anchors)
        if problem:
            raise _refused(folder, f"its audit checkpoint cannot be relied on: {problem}")
        identity = files[IDENTITY_ANCHORS].decode("ascii", "replace") if IDENTITY_ANCHORS in files else None
        revocations = _identity_revocations(files.get(IDENTITY_REVOCATIONS))
        return cls(folder, anchors, pinned, exported_at, keys, outputs, checkpoint, identity, revocations)

    # ------------------------------------------------------------ Evidence

    def trust_anchors_pem(self) -> str:
        return self._anchors

    def keys_by_serial(self, serial: str) -> list[tuple[KeyInfo, frozenset[str]]]:
        serial = serial.lower()
        return [(k.info, certificate_names(k.cert_pem)) for k in self.keys if k.info.serial == serial]

    def output_by_sha256(self, sha256: str) -> LedgerEntry | None:
        found = self._by_sha256.get(sha256)
        return found.as_ledger_entry() if found else None

    def output_by_label(self, manifest_label: str) -> LedgerEntry | None:
        found = self._by_label.get(manifest_label)
        return found.as_ledger_entry() if found else None

    def standing(self, entry: LedgerEntry, assertion: Mapping[str, Any]) -> list[str]:
        found = self._by_sha256.get(entry.sha256)
        return list(found.standing_reasons) if found else []

    # ------------------------------------------------------------ soft bindings, approvers

    def key(self, fingerprint: str) -> KeyInfo | None:
        return next((k.info for k in self.keys if k.info.fingerprint == fingerprint), None)

    def approval_manifest(self, entry: LedgerEntry) -> Mapping[str, Any] | None:
        found = self._by_sha256.get(entry.sha256)
        return found.approvals if found is not None else None

    @property
    def recovery(self) -> KitRecovery:
        return self._recovery

    def identity_anchors_pem(self) -> str:
        return self._identity_pem

    def identity_revocations(self) -> dict[str, tuple[datetime, str]]:
        return dict(self._identity_revocations)


class KitRecovery:
    """``softbinding.Recovery`` over a kit's outputs: the same questions the ledger answers,
    by an exact scan of the descriptors (a kit's outputs fit in memory; no index to trust)."""

    def __init__(self, outputs: Sequence[IssuedOutput]) -> None:
        self._bound = [BoundOutput.from_export({**o.soft_bindings, "sha256": o.sha256,
                                                "manifest_label": o.manifest_label})
                       for o in outputs if o.soft_bindings]
        self._by_watermark = {b.watermark_id: b for b in self._bound if b.watermark_id}
        self._matrix = np.stack([b.descriptor for b in self._bound]) if self._bound else None

    def by_watermark(self, watermark_id: str) -> BoundOutput | None:
        return self._by_watermark.get(watermark_id)

    def nearest(self, descriptor: Any, k: int = 2) -> list[tuple[BoundOutput, float]]:
        if self._matrix is None:
            return []
        distances = np.maximum(0.0, 1.0 - self._matrix @ np.asarray(descriptor, dtype=np.float32))
        order = np.argsort(distances, kind="stable")[:k]
        return [(self._bound[i], round(float(distances[i]), 6)) for i in order]


def _soft_bindings(value: Any) -> Mapping[str, Any] | None:
    """An output's soft bindings as the kit states them, checked enough to be read back."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(value.get(k), str) for k in ("phash", "descriptor")):
        raise CredentialError("the verification kit is malformed: an output's soft_bindings lack phash or descriptor")
    try:
        BoundOutput.from_export({**value, "sha256": "", "manifest_label": ""})
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise CredentialError("the verification kit is malformed: an output's soft_bindings cannot be read") from None
    return dict(value)


def _approvals(value: Any) -> Mapping[str, Any] | None:
    """An output's approvals part as the kit states it: a label and a list of assertions."""
    if value is None:
        return None
    if not isinstance(value, Mapping) or not isinstance(value.get("label"), str) \
            or not isinstance(value.get("assertions"), list):
        raise CredentialError("the verification kit is malformed: an output's approvals lack a label or assertions")
    return dict(value)


def _refused(folder: Path, why: str) -> CredentialError:
    return CredentialError(f"the verification kit in '{folder}' is refused: {why}",
                           hint="ask the studio for a new kit (slate export verification-kit), and check it "
                                "with roots you obtained from the studio yourself: --trust-anchors FILE")


def _read_kit_files(folder: Path) -> dict[str, bytes]:
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise CredentialError(f"cannot read the verification kit '{folder}': {exc.strerror}",
                              hint="pass the folder slate export verification-kit wrote") from None
    files: dict[str, bytes] = {}
    # hidden files (a desktop's .DS_Store) are never read: no kit file's name starts with a dot
    for path in (p for p in entries if not p.name.startswith(".")):
        if not path.is_file() or path.is_symlink():
            raise _refused(folder, f"it holds '{path.name}', which is not a plain file")
        with contextlib.suppress(OSError):
            files[path.name] = path.read_bytes()
    if MANIFEST not in files:
        raise CredentialError(f"'{folder}' holds no {MANIFEST}: it is not a Slate verification kit",
                              hint="pass the folder slate export verification-kit wrote")
    return files


def _load_json(data: bytes, name: str) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CredentialError(f"the verification kit is malformed: {name} is not JSON") from None
    if not isinstance(value, dict):
        raise CredentialError(f"the verification kit is malformed: {name} is not a JSON object")
    return value


def _manifest_body(manifest: dict[str, Any]) -> tuple[dict[str, Any], datetime]:
    if manifest.get("format") != FORMAT:
        raise CredentialError(f"this kit's format is '{manifest.get('format')}'; this Slate reads {FORMAT}",
                              hint="verify it with the Slate version that exported it, or ask for a new kit")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise CredentialError(f"the verification kit is malformed: {MANIFEST} lists no files")
    exported_at = _time(manifest.get("exported_at"), "exported_at")
    return manifest_body(exported_at, files), exported_at


def _check_files(folder: Path, listed: Mapping[str, str], files: Mapping[str, bytes]) -> None:
    added = sorted(set(files) - set(listed))
    if added:
        raise _refused(folder, f"it holds {added[0]}, which its signed manifest does not list (added after export)")
    for name, expected in sorted(listed.items()):
        if name not in files:
            raise _refused(folder, f"{name}, which its signed manifest lists, is missing")
        if sha256_hex(files[name]) != expected:
            raise _refused(folder, f"{name} was changed after Slate signed the kit (its SHA-256 differs from "
                                   "the manifest's)")
    for name in REQUIRED:
        if name not in listed:
            raise _refused(folder, f"it has no {name}")


def _check_signer(folder: Path, chain_pem: str, keys: Sequence[KitKey], at: datetime) -> None:
    """The kit's signer must be one of the signing certificates it lists, unrevoked when it signed."""
    leaf = pki.fingerprint(pki.load_certificates(chain_pem)[0])
    key = next((k.info for k in keys if k.info.fingerprint == leaf), None)
    if key is None:
        raise _refused(folder, "it is signed by a certificate that is not among its signing keys")
    if key.revoked_for(at):
        raise _refused(folder, f"it is signed by signing key {leaf[:16]}, revoked at "
                               f"{key.revoked_at:%Y-%m-%d %H:%M:%S}Z ({key.revocation_reason})")


def _identity_revocations(data: bytes | None) -> tuple[IdentityRevocation, ...]:
    if data is None:
        return ()
    try:
        return tuple(IdentityRevocation(str(r["serial"]), _time(r["revoked_at"], "revoked_at"),
                                        str(r["reason"]))
                     for r in _load_json(data, IDENTITY_REVOCATIONS).get("revocations") or ())
    except (KeyError, TypeError):
        raise CredentialError(f"the verification kit is malformed: an entry of {IDENTITY_REVOCATIONS} lacks a "
                              "field") from None

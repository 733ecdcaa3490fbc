"""Signing an output: embed Slate's C2PA manifest and record it in the ledger, atomically.

``Issuer`` is built once per process (app factory, worker, CLI) and reused: it keeps the
c2pa context and signer, and the embedded time-stamping authority when one is used.
It checks the image and the claim, signs, and inserts the ledger row in one
transaction; a failure anywhere leaves nothing recorded and no file written.
Authorisation (is this job approved, does the worker's model match) is the service
layer's, before it calls ``sign``.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import c2pa

from ..canonical import sha256_hex
from ..clock import utcnow
from ..db import private_folder, transaction
from ..errors import ConfigurationError, CredentialError, InvalidInput
from ..ledger import record_output
from ..ledger.bindings import index_outputs, record_bindings
from ..settings import Settings
from . import approvals, c2pa_config, images, manifest, softbinding, xmp
from .claim import SigningClaim
from .identities import IdentityStore
from .keys import KeyInfo, KeyStore
from .offload import HashingDestination, Offload
from .signers import Signer
from .tsa import EmbeddedTSAServer, TimeStampAuthority

log = logging.getLogger(__name__)

_ALGORITHMS = {"es256": c2pa.C2paSigningAlg.ES256, "es384": c2pa.C2paSigningAlg.ES384,
               "es512": c2pa.C2paSigningAlg.ES512}


@dataclass(frozen=True)
class SignedOutput:
    """A signed image and its ledger record."""

    data: bytes = field(repr=False)
    sha256: str
    media_type: str
    manifest_label: str
    cert_fingerprint: str
    signed_at: datetime
    timestamped: bool
    ledger_id: int
    path: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "media_type": self.media_type, "manifest_label": self.manifest_label,
                "cert_fingerprint": self.cert_fingerprint, "signed_at": self.signed_at,
                "timestamped": self.timestamped, "ledger_id": self.ledger_id, "path": self.path}


@dataclass(frozen=True)
class PreparedOutput:
    """A signed image not yet recorded: what ``Issuer.record`` writes to the ledger."""

    data: bytes = field(repr=False)
    sha256: str
    info: images.ImageInfo
    claim: SigningClaim
    label: str
    cert_fingerprint: str
    signed_at: datetime
    timestamped: bool
    #: the watermark id and fingerprint the manifest states (``softbinding``)
    bindings: softbinding.Bindings | None = None
    #: the manifest store c2pa signed, kept in the manifest repository
    manifest_store: bytes | None = field(default=None, repr=False)


class _LibrarySigner:
    """A Slate ``Signer`` as c2pa's callback signer; keeps failures out of c2pa's log.

    One per key, shared by the threads that sign with it: what belongs to one signing
    (the check it must wait for, the failure it met) is kept per thread. c2pa calls the
    callback on the thread that called ``Builder.sign``.
    """

    def __init__(self, signer: Signer, tsa_url: str | None) -> None:
        self._signer = signer
        self._call = threading.local()
        self.native = c2pa.Signer.from_callback(self._sign, _ALGORITHMS[signer.algorithm],
                                                signer.certificate_chain_pem, tsa_url)

    @contextmanager
    def signing(self, gate: Future[Any] | None) -> Iterator[None]:
        """Within: the callback waits for ``gate`` (the image checks running beside c2pa)
        and signs nothing if they failed, so a damaged image never costs a key operation
        (a KMS call) or a timestamp request."""
        self._call.gate, self._call.failure = gate, None
        try:
            yield
        finally:
            self._call.gate = None

    def take_failure(self) -> str | None:
        failure, self._call.failure = getattr(self._call, "failure", None), None
        return failure

    def _sign(self, data: bytes) -> bytes:
        # c2pa logs the text of any exception raised here; return nothing instead and
        # report a Slate error after the library gives up.
        gate = getattr(self._call, "gate", None)
        if gate is not None and gate.exception() is not None:
            self._call.failure = "image check"
            return b""
        try:
            return self._signer.sign(data)
        except Exception as exc:  # noqa: BLE001 - any signer failure becomes one CredentialError
            self._call.failure = type(exc).__name__
            return b""


class Issuer:
    def __init__(self, settings: Settings, *, signer: Signer | None = None,
                 clock: Callable[[], datetime] = utcnow, tsa_clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.keys = KeyStore(settings, clock)
        self.identities = IdentityStore(settings, clock)
        self._external = signer
        self._clock = clock
        self._tsa_clock = tsa_clock or clock
        self._tsa_server: EmbeddedTSAServer | None = None
        self._context: c2pa.Context | None = None
        self._library_signers: dict[str, _LibrarySigner] = {}
        self._offload = Offload("slate-sign")

    def __enter__(self) -> Issuer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._offload.close()
        if self._tsa_server is not None:
            self._tsa_server.close()
            self._tsa_server = None

    # ------------------------------------------------------------ signing

    def sign(self, image: bytes, claim: SigningClaim | Mapping[str, Any], *, store: bool = False) -> SignedOutput:
        """Sign ``image`` with the credential ``claim`` describes and record it in the ledger.

        ``store=True`` also writes the signed file under ``outputs_dir`` (same transaction)
        and records its path; callers that hand the bytes straight back leave it off.
        """
        signed = self.record(self.prepare(image, claim), store=store)
        self.index_outputs()
        return signed

    def prepare(self, image: bytes, claim: SigningClaim | Mapping[str, Any], *,
                check: Callable[[], object] | None = None) -> PreparedOutput:
        """The signing itself, which writes nothing to the database (but an approver's identity
        certificate, once, on first need): callers that serialise on a lock (the signing API)
        do this first and hold the lock only for ``record``.

        ``check``, a further check of the image that raises to refuse it, runs beside
        c2pa's signing like the chunk CRCs, and gates the signature the same way.
        """
        claim = SigningClaim.coerce(claim)
        # Format, size and pixel limits before c2pa sees the image; the PNG chunk CRCs
        # (a pass over every byte) run beside c2pa's signing and are awaited before the
        # result is used, so a damaged image is still refused and nothing recorded.
        info = images.inspect(image, self.settings, check_chunks=False)
        chunks = (self._offload.submit(_check_image, image, info.media_type, check)
                  if info.media_type == "image/png" or check is not None else None)
        try:
            # the watermark goes into the pixels c2pa signs; the checks above read the image as given
            bound = softbinding.bind(image, info.media_type, embed=self.settings.watermark,
                                     max_pixels=self.settings.max_image_pixels, beside=self._offload.submit)
            # Slate's own XMP (IPTC source type and AI system, ``xmp``) goes in before c2pa
            # signs, so the hard binding covers it; the approvers sign these very bytes' hash
            to_sign = xmp.embed(bound.data, info.media_type, info.width, info.height,
                                xmp.packet(claim.model_name, claim.model_version))
            key, library_signer = self._signer()
            label = manifest.new_label()
            signed_approvals = self._approvals(claim, label, to_sign)
            with library_signer.signing(chunks):
                signed, sha256, store = self._embed(to_sign, info, claim, label, library_signer, bound.bindings,
                                                    signed_approvals)
        except Exception:
            if chunks is not None:
                chunks.result()  # a damaged image explains a failure better than c2pa's error
            raise
        if chunks is not None:
            chunks.result()
        return PreparedOutput(signed, sha256, info, claim, label, key.fingerprint,
                              self._clock(), self.settings.tsa_url != "none", bound.bindings, store)

    def record(self, prepared: PreparedOutput, *, store: bool = False, receipt: str | None = None) -> SignedOutput:
        """Insert the ledger row (and write the file) for a prepared output, in one transaction.

        ``receipt`` is the worker's signed generation receipt, stored with the row; the
        claim must name its SHA-256 (the service layer has checked it before)."""
        p = prepared
        if (sha256_hex(receipt.encode("utf-8")) if receipt is not None else None) != p.claim.receipt_sha256:
            raise InvalidInput("the receipt stored with an output must be the one its credential names")
        path = self._output_path(p.sha256, p.info) if store else None
        try:
            with transaction():
                ledger_id = record_output(
                    sha256=p.sha256, manifest_label=p.label, cert_fingerprint=p.cert_fingerprint,
                    media_type=p.info.media_type, job_id=p.claim.job_id, decision_id=p.claim.decision_id,
                    request_id=p.claim.request_id, model_ref=p.claim.model_ref, signed_at=p.signed_at,
                    timestamped=p.timestamped, file_path=str(path) if path else None,
                    assertion=p.claim.governance_assertion(), receipt=receipt)
                if p.bindings is not None:
                    record_bindings(sha256=p.sha256, manifest_label=p.label, watermark_id=p.bindings.watermark_id,
                                    watermark_alg=p.bindings.watermark_alg, fingerprint=p.bindings.fingerprint,
                                    manifest_store=p.manifest_store)
                if path is not None:
                    _write_atomically(path, p.data, self.settings.data_dir)
        except BaseException:
            if path is not None:  # the ledger is the record: no row, no file
                path.unlink(missing_ok=True)
            raise
        return SignedOutput(p.data, p.sha256, p.info.media_type, p.label, p.cert_fingerprint, p.signed_at,
                            p.timestamped, ledger_id, str(path) if path else None)

    def index_outputs(self) -> None:
        """Add newly committed outputs to the outputs' similarity index (after the signing
        transaction). Best effort: recovery compares what the index lacks exactly."""
        try:
            index_outputs(self.settings.output_index_dir)
        except Exception as exc:  # noqa: BLE001 - the rows are the record; the index only speeds recovery
            log.warning("outputs' similarity index not updated (%s); recovery compares the rest exactly",
                        type(exc).__name__)

    def _approvals(self, claim: SigningClaim, label: str, image: bytes) -> list[dict[str, Any]]:
        """The approvals assertion: each approver the claim names signs, with their own
        identity key, the governance assertion's hash, this manifest's label and the image's
        hash (``approvals``). Empty when the decision needed no approval. An approver whose
        approval cannot be signed (revoked, unknown) stops the signing: a credential missing
        a signature it promises would only fail verification later."""
        governance = claim.governance_assertion()
        names = approvals.required_approvers(governance)
        if not names:
            return []
        image_sha256, now, entries = sha256_hex(image), self._clock(), []
        for name in names:
            identity, signer = self.identities.signer_for(name)
            body = approvals.payload(approver=name, role=identity.role, manifest_label=label,
                                     governance=governance, image_sha256=image_sha256, signed_at=now)
            entries.append(approvals.sign(body, signer))
        return [approvals.assertion(entries)]

    def _embed(self, image: bytes, info: images.ImageInfo, claim: SigningClaim, label: str,
               library_signer: _LibrarySigner, bindings: softbinding.Bindings | None = None,
               extra: list[dict[str, Any]] | None = None) -> tuple[bytes, str, bytes]:
        """The signed image, its SHA-256 (taken while c2pa verifies it; see ``offload``) and
        the manifest store c2pa returned. ``image`` is exactly what the approvers signed the
        hash of: watermarked, with Slate's XMP."""
        definition = manifest.definition(claim, label=label, title=f"{claim.job_id}.{info.extension}",
                                         mirror_training_mining=self.settings.c2pa_training_mining_mirror,
                                         bindings=bindings, extra_assertions=extra or ())
        destination = HashingDestination(self._offload)
        try:
            builder = c2pa.Builder(definition, context=self._signing_context())
            self._add_reference_images(builder, claim)
            store = builder.sign(library_signer.native, info.media_type, io.BytesIO(image), destination)
        except c2pa.C2paError as exc:
            raise _signing_error(exc, library_signer, self.tsa_url) from None
        signed, sha256 = destination.signed()
        return signed, sha256, bytes(store or b"")

    def _add_reference_images(self, builder: c2pa.Builder, claim: SigningClaim) -> None:
        for ref in claim.references:
            if ref.data is None and ref.ingredient is not None:
                # the asset's own manifest as registration read it: c2pa adds it to the store
                builder.add_ingredient_from_archive(io.BytesIO(bytes(ref.ingredient)))
                continue
            if ref.data is None:
                continue
            data = bytes(ref.data)
            if sha256_hex(data) != ref.sha256:
                raise InvalidInput(f"reference image '{ref.title}' does not match its SHA-256")
            media_type = images.inspect(data, self.settings).media_type
            builder.add_ingredient({"title": ref.title, "relationship": "inputTo",
                                    "instance_id": manifest.reference_id(ref.sha256)}, media_type, io.BytesIO(data))

    def _output_path(self, sha256: str, info: images.ImageInfo) -> Path:
        return self.settings.outputs_dir / sha256[:2] / f"{sha256}.{info.extension}"

    # ------------------------------------------------------------ keys, TSA, library state

    def _signer(self) -> tuple[KeyInfo, _LibrarySigner]:
        """The active key and its c2pa signer; an external signer must be the registered active key."""
        self.keys.ensure()
        key = self.keys.active_key()
        signer = self._external or self.keys.file_signer(key)
        if signer.fingerprint != key.fingerprint:
            raise CredentialError(
                f"the signer's certificate {signer.fingerprint[:16]} is not Slate's active signing key",
                hint="register it first (KeyStore.register_external) so verification can recognise it")
        if key.fingerprint not in self._library_signers:
            self._library_signers[key.fingerprint] = _LibrarySigner(signer, self.tsa_url)
        return key, self._library_signers[key.fingerprint]

    def active_signer(self) -> Signer:
        """The signer of the active key: what also signs audit-log checkpoints."""
        self.keys.ensure()
        key = self.keys.active_key()
        return self._external or self.keys.file_signer(key)

    def _signing_context(self) -> c2pa.Context:
        if self._context is None:
            self._context = c2pa_config.context(c2pa_config.signing_settings(self.keys.trust_anchors_pem()))
        return self._context

    @property
    def tsa_url(self) -> str | None:
        choice = self.settings.tsa_url
        if choice == "none":
            return None
        if choice == "embedded":
            return self._embedded_tsa().url
        if not choice.startswith(("http://", "https://")):
            raise ConfigurationError(f"SLATE_TSA_URL must be 'embedded', 'none' or an http(s) URL, got '{choice}'")
        return choice

    def _embedded_tsa(self) -> EmbeddedTSAServer:
        if self._tsa_server is None:
            self.keys.ensure()
            issued, chain = self.keys.tsa_credentials()
            authority = TimeStampAuthority(issued.certificate, issued.private_key, chain, clock=self._tsa_clock)
            self._tsa_server = EmbeddedTSAServer(authority)
        return self._tsa_server


def _signing_error(exc: c2pa.C2paError, signer: _LibrarySigner, tsa_url: str | None) -> Exception:
    text = str(exc)
    detail = {"library": text[:300]}
    failure = signer.take_failure()
    if failure:
        return CredentialError(f"the signer failed to sign the claim ({failure})",
                               hint="check the key service the callback signer calls", fields=detail)
    if "could not be parsed" in text or "NotSupported" in text:
        return InvalidInput("the image is corrupt: the C2PA library cannot parse it", fields=detail)
    if "not valid at time of signing" in text:
        return CredentialError("the active signing certificate is not valid now (expired or not yet valid)",
                               hint="issue a new one: slate keys rotate", fields=detail)
    if text.startswith("Verify"):
        # verify-after-sign refused the result; the status codes say why (e.g. a certificate
        # without the extended key usage C2PA requires).
        codes = ", ".join(line.strip().split(":")[0] for line in text.splitlines()[1:] if line.strip())
        return CredentialError(f"the signed output failed C2PA validation right after signing ({codes})",
                               hint="check the signing certificate's key usages and chain", fields=detail)
    if "http" in text.lower() and tsa_url:
        return CredentialError(f"the time-stamping authority at {tsa_url} did not answer",
                               hint="check SLATE_TSA_URL, or use 'embedded' offline", fields=detail)
    return CredentialError("the C2PA library could not sign this image", fields=detail)


def _check_image(image: bytes, media_type: str, check: Callable[[], object] | None) -> None:
    if media_type == "image/png":
        images.check_png_chunks(image)
    if check is not None:
        check()


def _write_atomically(path: Path, data: bytes, data_dir: Path) -> None:
    """Write ``path`` whole or not at all, 0600 (``mkstemp``'s mode, kept by the rename) in
    folders that are 0700 from ``data_dir`` down, whatever the umask."""
    private_folder(path.parent, top=data_dir)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

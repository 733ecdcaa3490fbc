"""Whether a file's signer is trusted by a C2PA trust list the user supplies.

Slate's own verdict asks "did Slate issue this?", with Slate's anchors alone. A distributor
checking a file from elsewhere also wants the ecosystem's answer: does the signer chain to
a root on the C2PA trust list (or any list of roots they choose)? That is a second,
separate read of the file with the list's roots as the only anchors, reported as its own
check and never mixed into Slate's trust: a root on the list never makes a file "issued
by Slate", and Slate's anchors never make a file "trusted by the C2PA trust list".

Like every read, it never reaches the network (``c2pa_config.reading_settings``: no OCSP,
no remote manifests); the list is a local PEM file.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import c2pa
from cryptography import x509

from ..errors import ConfigurationError
from . import c2pa_config
from .verdict import Check

#: What makes the list's answer "no", and how to say it to someone who is not Slate's operator.
_UNTRUSTED = {
    "signingCredential.untrusted": "the signing certificate does not chain to any root on the list",
    "signingCredential.revoked": "the signing certificate was revoked by its issuer",
    "signingCredential.expired": "the signing certificate has expired and no trusted timestamp shows it was "
                                 "valid when it signed",
    "signingCredential.invalid": "the signing certificate is not valid for C2PA claim signing",
}


@dataclass(frozen=True)
class TrustList:
    """A PEM bundle of root certificates, checked to hold at least one when loaded."""

    path: Path
    roots: int
    pem: str = field(repr=False)

    @classmethod
    def load(cls, path: Path) -> TrustList:
        try:
            data = path.read_bytes()
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise ConfigurationError(f"the C2PA trust list {path} cannot be read ({why})",
                                     hint="give a PEM file of root certificates (SLATE_C2PA_TRUST_LIST or "
                                          "--c2pa-trust-list)") from None
        try:
            certificates = x509.load_pem_x509_certificates(data)
        except ValueError:
            certificates = []
        if not certificates:
            raise ConfigurationError(f"the C2PA trust list {path} holds no PEM certificate",
                                     hint="a trust list is a PEM bundle: -----BEGIN CERTIFICATE----- blocks")
        return cls(path, len(certificates), data.decode("ascii", errors="replace"))

    def settings(self) -> dict[str, Any]:
        """c2pa settings with the list's roots as the only anchors; offline like every read."""
        return c2pa_config.reading_settings(self.pem)

    def judge(self, data: bytes, media_type: str, signer: str) -> Check:
        """The list's answer for one file that carries a C2PA manifest (``signer`` names its
        signing certificate in the reasons)."""
        try:
            with c2pa.Reader(media_type, io.BytesIO(data), context=self._context()) as reader:
                store = json.loads(reader.json())
        except c2pa.C2paError:
            return Check.skipped("not checked: the C2PA manifest cannot be read")
        results = (store.get("validation_results") or {}).get("activeManifest") or {}
        return self._answer(results, signer)

    def _context(self) -> c2pa.Context:
        return c2pa_config.context(self.settings())

    def _answer(self, results: Mapping[str, Any], signer: str) -> Check:
        failures = [f for f in results.get("failure") or () if f.get("code") in _UNTRUSTED]
        trusted = any(s.get("code") == "signingCredential.trusted" for s in results.get("success") or ())
        where = f"the C2PA trust list {self.path.name} ({self.roots} root{'s' if self.roots != 1 else ''})"
        if trusted and not failures:
            return Check.passed(f"trusted by {where}: {signer} chains to a root on it",
                                codes=("signingCredential.trusted",))
        reasons = [_UNTRUSTED[f["code"]] for f in failures] or ["the signing certificate was not found trusted"]
        return Check.failed(f"not trusted by {where}: {signer}", *reasons,
                            codes=tuple(f["code"] for f in failures))


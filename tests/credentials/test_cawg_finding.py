"""What c2pa-python 0.38.1 does with a CAWG X.509 identity signer, pinned so a new release
that changes it is noticed (README, "Approver signatures": why approvals are a COSE_Sign1 in
``com.slate.approvals`` rather than ``cawg.identity``)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from typing import Any

import c2pa
from cryptography.hazmat.primitives import serialization

from governance.credentials import pki
from governance.credentials.signers import FileSigner

from .conftest import make_image


def _pem(issued: pki.Issued) -> str:
    return issued.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode()


def _sign(with_explicit_signer: bool) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    root = pki.make_root(now)
    intermediate = pki.make_intermediate(root, now)
    claim_key = pki.make_signing_certificate(intermediate, now)
    identity_ca = pki.make_identity_ca(now)
    person = pki.make_identity_certificate(identity_ca, "ada-approver", "approver", now)
    chain = pki.certificate_pem(claim_key.certificate, intermediate.certificate)
    settings: dict[str, Any] = {
        "version": 1, "trust": {"user_anchors": pki.certificate_pem(root.certificate)},
        "verify": {"verify_after_sign": False, "remote_manifest_fetch": False, "ocsp_fetch": False},
        "builder": {"thumbnail": {"enabled": False}},
        "cawg_x509_signer": {"local": {"alg": "es256", "sign_cert": pki.certificate_pem(person.certificate),
                                       "private_key": _pem(person)}},
    }
    definition = {"claim_generator_info": [{"name": "Slate"}], "title": "t.png",
                  "assertions": [{"label": "com.slate.governance", "data": {"schema": 5}}]}
    out = io.BytesIO()
    if with_explicit_signer:
        signer = FileSigner(claim_key.private_key, chain)
        native = c2pa.Signer.from_callback(signer.sign, c2pa.C2paSigningAlg.ES256, chain, None)
        c2pa.Builder(definition, context=c2pa.Context.from_dict(settings)).sign(
            native, "image/png", io.BytesIO(make_image()), out)
    else:
        settings["signer"] = {"local": {"alg": "es256", "sign_cert": chain, "private_key": _pem(claim_key)}}

        class SettingsSigner(c2pa.Context):
            """A context whose signer is in its settings: the Python check looks only for a signer object."""

            @property
            def has_signer(self) -> bool:
                return True

        c2pa.Builder(definition, context=SettingsSigner(c2pa.Settings.from_dict(settings))).sign(
            "image/png", io.BytesIO(make_image()), out)
    reading = {"version": 1, "trust": {"user_anchors": pki.certificate_pem(root.certificate)},
               "cawg_trust": {"user_anchors": pki.certificate_pem(identity_ca.certificate)}}
    with c2pa.Reader("image/png", io.BytesIO(out.getvalue()), context=c2pa.Context.from_dict(reading)) as reader:
        store = json.loads(reader.json())
    return store  # type: ignore[no-any-return]


def _labels(store: dict[str, Any]) -> list[str]:
    return [a["label"] for a in store["manifests"][store["active_manifest"]]["assertions"]]


def test_c2pa_python_0_38_skips_the_cawg_signer_when_an_explicit_signer_signs() -> None:
    assert c2pa.__version__ == "0.38.1"  # re-measure on upgrade: this is why Slate does not use cawg.identity
    assert "cawg.identity" not in _labels(_sign(with_explicit_signer=True))


def test_the_settings_signer_path_makes_one_valid_cawg_identity_assertion() -> None:
    store = _sign(with_explicit_signer=False)
    assert _labels(store).count("cawg.identity") == 1
    codes = {s["code"] for s in store["validation_results"]["activeManifest"]["success"]}
    assert "cawg.x509.signature.validated" in codes

"""Images as their owners publish them: signed with c2pa-python by a signer of the owner's
own (a fresh PKI, not Slate's), with a training-and-mining assertion saying what the owner
allows. Real C2PA files, made the way any C2PA tool makes them."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

import c2pa
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from governance.credentials import pki
from tests.credentials.conftest import flip, make_image, png_chunks

CREATED = {"label": "c2pa.actions", "data": {"actions": [{
    "action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"}]}}


OWNER = "Northlight Photo Agency"


@lru_cache(maxsize=1)
def _owner() -> tuple[bytes, bytes]:
    """The owner's claim-signing certificate (its own PKI, made like Slate's development one)."""
    now = datetime.now(timezone.utc)
    intermediate = pki.make_intermediate(pki.make_root(now), now)
    signer = pki._end_entity(OWNER, intermediate, now - timedelta(minutes=5), now + timedelta(days=30),
                             [pki.DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION], critical_eku=False)
    key = signer.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption())
    return pki.certificate_pem(signer.certificate, intermediate.certificate).encode(), key


def mining(use: str, *, label: str = "cawg.training-mining", uses: tuple[str, ...] | None = None) -> dict[str, Any]:
    prefix = label.split(".")[0] + "."
    names = uses or ("ai_training", "ai_generative_training", "ai_inference", "data_mining")
    return {"label": label, "data": {"entries": {prefix + name: {"use": use} for name in names}}}


def signed_image(*assertions: dict[str, Any], seed: int = 11, media_type: str = "image/png") -> bytes:
    """An image of its own (``seed``) signed by the owner with ``assertions`` beside c2pa.created."""
    cert, key = _owner()
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert, key, None)
    context = c2pa.Context.from_dict({"version": 1, "builder": {"thumbnail": {"enabled": False}}})
    out = io.BytesIO()
    definition = {"title": "owner-photo", "claim_generator_info": [{"name": "Owner camera app", "version": "1"}],
                  "assertions": [CREATED, *assertions]}
    with c2pa.Builder(definition, context=context) as builder:
        builder.sign(c2pa.Signer.from_info(info), media_type, io.BytesIO(make_image(media_type, seed=seed)), out)
    return out.getvalue()


def not_allowed_image(seed: int = 11) -> bytes:
    return signed_image(mining("notAllowed"), seed=seed)


def resaved(owner_png: bytes, *assertions: dict[str, Any]) -> bytes:
    """``owner_png`` opened and saved again in another C2PA editor (signed by the same
    certificate here, which makes no difference to the attack): a new active manifest with
    ``assertions``, the owner's manifest kept only as its parent ingredient's."""
    cert, key = _owner()
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, cert, key, None)
    context = c2pa.Context.from_dict({"version": 1, "builder": {"thumbnail": {"enabled": False}}})
    edited = {"label": "c2pa.actions", "data": {"actions": [
        {"action": "c2pa.opened", "parameters": {"ingredientIds": ["owner-original"]}}, {"action": "c2pa.edited"}]}}
    definition = {"title": "re-saved", "claim_generator_info": [{"name": "Some editor", "version": "9"}],
                  "assertions": [edited, *assertions]}
    out = io.BytesIO()
    with c2pa.Builder(definition, context=context) as builder:
        builder.add_ingredient({"title": "owner-photo", "relationship": "parentOf", "label": "owner-original"},
                               "image/png",
                               io.BytesIO(owner_png))
        builder.sign(c2pa.Signer.from_info(info), "image/png", io.BytesIO(owner_png), out)
    return out.getvalue()


def with_pixels_changed(png: bytes) -> bytes:
    """The signed PNG with one byte of its image data changed: the manifest no longer validates."""
    offset, _, length = next((o, k, n) for o, k, n in png_chunks(png) if k == b"IDAT")
    return flip(png, offset + 8 + length // 2)

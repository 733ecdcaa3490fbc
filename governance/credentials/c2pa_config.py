"""How Slate configures c2pa-python, each setting chosen on purpose.

Settings are given per ``Context`` (never the library's process-wide defaults), so two
Slates in one process, or a test beside the service, cannot change each other's trust.
"""

from __future__ import annotations

from typing import Any

import c2pa

from ..errors import CredentialError

#: Slate's claim generator name, and the IPTC term for images made by a trained model.
CLAIM_GENERATOR = "Slate"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def _common(trust_anchors_pem: str) -> dict[str, Any]:
    return {
        "version": 1,
        # Trust anchors are explicit, per context: Slate's roots from the keys folder and
        # nothing else, never the library's process-wide defaults. Without any, nothing
        # is trusted (the library refuses an empty anchor list, so the key is left out).
        "trust": {"user_anchors": trust_anchors_pem} if trust_anchors_pem.strip() else {},
        "verify": {
            "verify_trust": True,
            "verify_timestamp_trust": True,
            # Verification never reaches the network: a manifest stored at a remote URL is
            # reported as such rather than fetched, and OCSP is not consulted (Slate's own
            # revocation list is the ledger's SigningKey table).
            "remote_manifest_fetch": False,
            "ocsp_fetch": False,
        },
    }


def signing_settings(trust_anchors_pem: str) -> dict[str, Any]:
    settings = _common(trust_anchors_pem)
    # Read the signed asset back before returning it: a credential that cannot validate
    # must fail the request now, not an auditor's check months later. It costs about as
    # much as the signature itself and is measured in the benchmark.
    settings["verify"]["verify_after_sign"] = True
    settings["builder"] = {
        # The default thumbnail decodes, rescales (upscaling small images) and re-encodes
        # the picture: ~30x the rest of signing, and it embeds a second copy of the image
        # that governance does not need.
        "thumbnail": {"enabled": False},
    }
    return settings


def reading_settings(trust_anchors_pem: str) -> dict[str, Any]:
    return _common(trust_anchors_pem)


def context(settings: dict[str, Any]) -> c2pa.Context:
    try:
        return c2pa.Context.from_dict(settings)
    except c2pa.C2paError:
        raise CredentialError("the C2PA library rejected Slate's settings; the trust anchors may not be valid PEM",
                              hint="check trust-anchors.pem in the keys folder") from None

"""Content credentials: keys, C2PA signing of outputs, and verification.

Entry points for the service layer:

- ``Issuer(settings).sign(image_bytes, claim)`` -> ``SignedOutput`` (ledger row written)
- ``Verifier(settings).verify_bytes(data)`` / ``verify(settings, path_or_bytes)`` -> ``Verdict``;
  ``Verifier(settings, evidence=...)`` judges by other evidence than the studio's database
  (``evidence.NoRecords``, ``kit.KitEvidence``)
- ``kit.export_kit(settings, folder, standing_checks)``: a signed verification kit for auditors
- ``KeyStore(settings)``: development PKI, rotation, revocation, trust anchors
- ``FileSigner`` / ``CallbackSigner``: who holds the private key

This package must not import the registry or the policy engine: what a credential
states arrives as a ``SigningClaim``.
"""

from .claim import ReferenceImage, SigningClaim
from .evidence import StandingCheck
from .issuance import Issuer, SignedOutput
from .keys import KeyInfo, KeysStatus, KeyStore
from .signers import CallbackSigner, FileSigner, Signer
from .verdict import Check, Verdict
from .verification import Verifier, verify

__all__ = ["CallbackSigner", "Check", "FileSigner", "Issuer", "KeyInfo", "KeyStore", "KeysStatus",
           "ReferenceImage", "SignedOutput", "Signer", "SigningClaim", "StandingCheck", "Verdict", "Verifier",
           "verify"]

"""``SigningClaim``: everything a credential states about one output, as plain data.

The service layer builds it from the database (decision, model, policy, job); this
module only validates its shape and turns it into the Slate governance assertion.
It holds the prompt's SHA-256, never the prompt: a value that is not a hex digest is
refused, so a prompt cannot slip into a credential by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from ..errors import InvalidInput

GOVERNANCE_LABEL = "com.slate.governance"
#: 2 adds ``signoffs``: every sign-off, with the approval rules it satisfied (1 named one approver);
#: 3 adds ``receipt_sha256``: the SHA-256 of the worker's signed generation receipt (null when
#: none was given); 4 adds ``evaluation``: what output review measured on the pixels before
#: signing and who reviewed them (null where no review ran); 5 promises that every approver
#: it names signed their approval with their own identity certificate (``approvals``), so a
#: schema-5 credential without those signatures fails verification. Credentials of earlier
#: schemas are read and verified as they were signed.
GOVERNANCE_SCHEMA = 5
TRAINING_MINING = ("allowed", "notAllowed", "constrained")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class ReferenceImage:
    """An image the request used as a reference; becomes a C2PA ingredient."""

    title: str
    sha256: str
    data: bytes | None = field(default=None, repr=False, compare=False)
    #: the asset's own C2PA manifest, as the ingredient archive registration kept
    #: (``registry.intake``): the ingredient then carries the owner's manifest
    ingredient: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class SignOff:
    """One person's sign-off of the request: who, the approval rules it satisfied, when (RFC 3339)."""

    approver: str
    rules: tuple[str, ...] = ()
    at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"approver": self.approver, "rules": list(self.rules), "at": self.at}


@dataclass(frozen=True)
class Evaluation:
    """What output review measured on the pixels before they were signed, and who reviewed
    them: versions, the nearest registered work and its distance, the face count, the style
    distance. Numbers and digests only: no face, no descriptor, nothing of the prompt."""

    fingerprint_version: str
    index_format: str
    detector_version: str
    decision: str
    policy_version: str
    image_sha256: str
    nearest_distance: float
    faces: int
    nearest_asset_sha256: str | None = None
    style_distance: float | None = None
    reviewer: str | None = None

    def __post_init__(self) -> None:
        problems = {}
        if not _HEX64.match(str(self.image_sha256)):
            problems["evaluation.image_sha256"] = "a SHA-256 as 64 lowercase hex characters"
        if self.nearest_asset_sha256 is not None and not _HEX64.match(str(self.nearest_asset_sha256)):
            problems["evaluation.nearest_asset_sha256"] = "a SHA-256 as 64 lowercase hex characters, or null"
        if self.decision not in ("allow", "needs_approval"):
            problems["evaluation.decision"] = "allow or needs_approval: a denied output is never signed"
        if not isinstance(self.faces, int) or self.faces < 0:
            problems["evaluation.faces"] = "a count"
        if problems:
            raise InvalidInput("the output evaluation is malformed", fields=problems)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evaluation:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput("the output evaluation has fields Slate does not know",
                               fields={f"evaluation.{n}": "unknown field" for n in unknown})
        try:
            return cls(**dict(data))
        except TypeError:
            raise InvalidInput("the output evaluation is incomplete") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SigningClaim:
    model_name: str
    model_version: str
    weights_sha256: str
    training_set_root: str
    policy_uid: str
    policy_version: str
    policy_sha256: str
    decision_id: str
    request_id: str
    job_id: str
    prompt_sha256: str
    training_mining: str = "notAllowed"
    training_mining_constraint: str | None = None
    duties: tuple[str, ...] = ()
    #: the last (or only) approver, kept for readers of credentials from before ``signoffs``
    approver: str | None = None
    references: tuple[ReferenceImage, ...] = ()
    signoffs: tuple[SignOff, ...] = ()
    #: the SHA-256 of the stored generation receipt the worker signed for these pixels
    receipt_sha256: str | None = None
    #: output review's measurements and reviewer (``lifecycle.output_review``); no biometric data
    evaluation: Evaluation | None = None

    def __post_init__(self) -> None:
        errors = _problems(self)
        if errors:
            raise InvalidInput("the signing claim is incomplete or malformed", fields=errors)

    @classmethod
    def coerce(cls, value: SigningClaim | Mapping[str, Any]) -> SigningClaim:
        return value if isinstance(value, SigningClaim) else cls.from_dict(value)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SigningClaim:
        known = {f.name for f in fields(cls)}
        values = dict(data)
        if "weights_hash" in values and "weights_sha256" not in values:
            values["weights_sha256"] = values.pop("weights_hash")
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput("the signing claim has fields Slate does not know",
                               fields={name: "unknown field" for name in unknown})
        missing = sorted(f.name for f in fields(cls)
                         if f.name not in values and f.default is MISSING and f.default_factory is MISSING)
        if missing:
            raise InvalidInput("the signing claim is incomplete", fields={n: "required" for n in missing})
        values["duties"] = tuple(values.get("duties") or ())
        values["references"] = tuple(_reference(r) for r in values.get("references") or ())
        values["signoffs"] = tuple(_signoff(s) for s in values.get("signoffs") or ())
        if isinstance(values.get("evaluation"), Mapping):
            values["evaluation"] = Evaluation.from_dict(values["evaluation"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["duties"] = list(self.duties)
        data["references"] = [{"title": r.title, "sha256": r.sha256} for r in self.references]
        data["signoffs"] = [s.to_dict() for s in self.signoffs]
        data["evaluation"] = self.evaluation.to_dict() if self.evaluation else None
        return data

    @property
    def model_ref(self) -> str:
        """NAME:VERSION, the registry's form, so a ref read off an output finds its model."""
        return f"{self.model_name}:{self.model_version}"

    def governance_assertion(self) -> dict[str, Any]:
        """The ``com.slate.governance`` assertion body (hashed in canonical JSON by the ledger)."""
        return {
            "schema": GOVERNANCE_SCHEMA,
            "model": {"name": self.model_name, "version": self.model_version,
                      "weights_sha256": self.weights_sha256},
            "training_set": {"merkle_root": self.training_set_root},
            "policy": {"uid": self.policy_uid, "version": self.policy_version, "sha256": self.policy_sha256},
            "decision": {"id": self.decision_id, "duties": list(self.duties)},
            "approver": self.approver,
            "signoffs": [s.to_dict() for s in self.signoffs],
            "request_id": self.request_id,
            "job_id": self.job_id,
            "prompt_sha256": self.prompt_sha256,
            "training_mining": self.training_mining,
            "references": [{"title": r.title, "sha256": r.sha256} for r in self.references],
            "receipt_sha256": self.receipt_sha256,
            "evaluation": self.evaluation.to_dict() if self.evaluation else None,
        }


def _reference(value: Any) -> ReferenceImage:
    if isinstance(value, ReferenceImage):
        return value
    if isinstance(value, Mapping):
        return ReferenceImage(str(value.get("title", "")), str(value.get("sha256", "")), value.get("data"),
                              value.get("ingredient"))
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and len(value) in (2, 3):
        return ReferenceImage(str(value[0]), str(value[1]), value[2] if len(value) == 3 else None)
    raise InvalidInput("a reference image is (title, sha256[, bytes])")


def _signoff(value: Any) -> SignOff:
    if isinstance(value, SignOff):
        return value
    if isinstance(value, Mapping):
        rules = value.get("rules") or ()
        return SignOff(str(value.get("approver", "")),
                       tuple(str(r) for r in rules) if isinstance(rules, (list, tuple)) else ("",),
                       str(value.get("at", "")))
    raise InvalidInput("a sign-off is {approver, rules, at}")


def _problems(claim: SigningClaim) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in ("model_name", "model_version", "policy_uid", "policy_version", "decision_id",
                 "request_id", "job_id"):
        value = getattr(claim, name)
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            errors[name] = "required text, at most 200 characters"
    for name in ("weights_sha256", "training_set_root", "policy_sha256", "prompt_sha256"):
        if not isinstance(getattr(claim, name), str) or not _HEX64.match(getattr(claim, name)):
            errors[name] = "a SHA-256 as 64 lowercase hex characters"
    if claim.receipt_sha256 is not None and (not isinstance(claim.receipt_sha256, str)
                                             or not _HEX64.match(claim.receipt_sha256)):
        errors["receipt_sha256"] = "a SHA-256 as 64 lowercase hex characters, or null"
    if claim.training_mining not in TRAINING_MINING:
        errors["training_mining"] = f"one of {', '.join(TRAINING_MINING)}"
    elif claim.training_mining == "constrained" and not claim.training_mining_constraint:
        errors["training_mining_constraint"] = "required when training_mining is constrained"
    if claim.approver is not None and (not isinstance(claim.approver, str) or not claim.approver.strip()):
        errors["approver"] = "a name, or null when policy allowed without review"
    for index, signoff in enumerate(claim.signoffs):
        if not signoff.approver.strip() or len(signoff.approver) > 200 or not all(r for r in signoff.rules) \
                or not signoff.at:
            errors[f"signoffs[{index}]"] = "an approver's name, the rule ids it satisfied and when"
    if claim.signoffs and claim.approver not in {s.approver for s in claim.signoffs}:
        errors["approver"] = "one of the sign-offs' approvers"
    if not all(isinstance(d, str) and d.strip() for d in claim.duties):
        errors["duties"] = "credit lines are non-empty text"
    for index, ref in enumerate(claim.references):
        if not ref.title or not _HEX64.match(ref.sha256):
            errors[f"references[{index}]"] = "a title and a SHA-256 as 64 lowercase hex characters"
        elif ref.data is not None and not isinstance(ref.data, (bytes, bytearray)):
            errors[f"references[{index}]"] = "image data must be bytes"
        elif ref.ingredient is not None and not isinstance(ref.ingredient, (bytes, bytearray)):
            errors[f"references[{index}]"] = "an ingredient archive must be bytes"
    return errors

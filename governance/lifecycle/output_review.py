"""Output review: the decision on a generated image, after generation and before signing.

A request is judged before the pixels exist, on what its requester declared. Here Slate
looks at the pixels the worker sent to ``/sign`` (already checked to be the generator's
layout and the job's size) and computes facts about them (``image_facts``):

- the nearest registered works in the similarity index (``provenance.similarity``): the
  nearest asset, its distance, where it comes from (``watchlist``, ``training_set``,
  ``reference``, ``other``) and whether its licence covers the request's use; and the
  nearest *watchlist* work among them, whatever is nearer;
- how many faces a real detector finds (``perception.faces``; boxes only, no biometric
  data), and which of the request's declared people that leaves unaccounted for.

The policy's rules about ``output`` (published version of the request's policy) judge those
facts with the request's own facts (``CompiledPolicy.evaluate_output``):

- ``allow``: signed at once; the credential's ``evaluation`` block states what was
  measured and the review is kept as ``allowed``;
- ``needs_approval``: the image is ``held`` privately in the data folder for a person who
  looks at the pixels; their approval covers exactly that image's SHA-256 and signs it
  under the worker's own receipt, naming them in the credential (``decide``);
- ``deny``: ``refused``; nothing is signed; the image is quarantined for legal, never served
  to anyone else, and deleted after the retention (``purge``).

A policy with no rule about ``output`` reviews nothing: signing is as before.
Nothing about the prompt, and no face descriptor, is in a fact, a row, an answer or a log line.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..audit.log import record
from ..canonical import sha256_hex
from ..clock import utcnow
from ..db import private_folder, transaction
from ..errors import Conflict, Forbidden, NotFound
from ..jobs.statuses import JobStatus
from ..jobs.tables import Job, OutputReview
from ..perception.faces import DETECTOR_VERSION, detect_faces
from ..perception.fingerprints import FINGERPRINT_VERSION, MATCH_DISTANCE, decode, fingerprint_image
from ..perception.index import INDEX_FORMAT
from ..perception.style import STYLE_VERSION, LookProfile
from ..policy import facts as F
from ..policy.compiler import CompiledPolicy
from ..policy.decision import ALLOW, DENY, Decision
from ..policy.replay import RecordedOutput
from ..policy.tables import DecisionRecord, GenerationRequest, PolicyVersion
from ..policy.versions import active_row, compiled
from ..principal import Principal
from ..provenance.similarity import Nearest, nearest_to
from ..registry import faces as registered_faces
from ..registry.fingerprints import searchable_index, thumbnail_path

ALLOWED, HELD, APPROVED, REJECTED, REFUSED, PURGED = "allowed", "held", "approved", "rejected", "refused", "purged"
#: who may look at a held image and decide on it
REVIEWERS = ("legal", "approver")
#: who may look at a refused or rejected (quarantined) image
QUARANTINE_READERS = ("legal",)
#: how many neighbours a review shows the reviewer, and how many it searches for a watchlist work
NEIGHBOURS = 5
SEARCHED = 32
#: within this distance a registered work counts as copied (``perception.fingerprints.MATCH_DISTANCE``;
#: the studio policy's copy rules state the same line)
COPY_DISTANCE = MATCH_DISTANCE
NO_MATCH_DISTANCE = 1.0


@dataclass(frozen=True)
class ReviewConfig:
    """Where output review finds the index and keeps held images, and for how long."""

    index_dir: Path
    held_dir: Path
    retention: timedelta = timedelta(days=30)
    max_pixels: int = 40_000_000

    @classmethod
    def from_settings(cls, settings: Any) -> ReviewConfig:
        return cls(settings.index_dir, settings.data_dir / "held",
                   timedelta(days=settings.quarantine_retention_days), settings.max_image_pixels)


@dataclass(frozen=True)
class Judgement:
    """The output decision: the policy version that judged, its decision and the image's facts."""

    version: PolicyVersion
    decision: Decision
    facts: dict[str, Any]
    nearest: Nearest

    def evaluation(self, reviewer: str | None = None) -> dict[str, Any]:
        """The credential's ``evaluation`` block: what was measured, never a face or the prompt."""
        return _evaluation(self.facts, self.decision.outcome, f"{self.version.uid}@{self.version.version}",
                           reviewer)


def _evaluation(f: Mapping[str, Any], outcome: str, policy: str, reviewer: str | None) -> dict[str, Any]:
    return {"fingerprint_version": f["fingerprint_version"], "index_format": f["index_format"],
            "detector_version": f["detector_version"],
            "nearest_asset_sha256": f.get("nearest_asset"), "nearest_distance": f["nearest_distance"],
            "faces": f["faces"], "style_distance": f.get("style_distance"),
            "decision": outcome, "policy_version": policy, "image_sha256": f["sha256"], "reviewer": reviewer}


@dataclass(frozen=True)
class ReviewView:
    """An output review as callers see it: decision, evidence, status; never the image bytes."""

    id: str
    job_id: str
    request_id: int
    image_sha256: str
    status: str
    outcome: str
    policy: str
    violations: list[dict[str, Any]]
    approvals: list[dict[str, Any]]
    facts: dict[str, Any]
    output_sha256: str | None
    signoffs: list[dict[str, Any]]
    reviewer: str | None
    comment: str | None
    reviewed_at: datetime | None
    created_at: datetime
    purge_after: datetime | None

    @classmethod
    def from_row(cls, row: OutputReview) -> ReviewView:
        return cls(row.id, row.job_id, row.request_id, row.image_sha256, row.status, row.outcome,
                   f"{row.policy_uid}@{row.policy_version}", list(row.violations or []), list(row.approvals or []),
                   dict(row.facts or {}), row.output_sha256, list(row.signoffs or []), row.reviewer, row.comment,
                   row.reviewed_at,
                   row.created_at, row.purge_after)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "job_id": self.job_id, "request_id": self.request_id,
                "image_sha256": self.image_sha256, "status": self.status, "outcome": self.outcome,
                "policy": self.policy, "violations": self.violations, "approvals": self.approvals,
                "facts": self.facts, "output_sha256": self.output_sha256, "signoffs": self.signoffs,
                "reviewer": self.reviewer,
                "comment": self.comment, "reviewed_at": self.reviewed_at, "created_at": self.created_at,
                "purge_after": self.purge_after}


# --------------------------------------------------------------------------- facts


def image_facts(image: bytes, request: GenerationRequest, config: ReviewConfig, *,
                use: str | None = None) -> tuple[dict[str, Any], Nearest]:
    """The facts output rules read about ``image`` (see ``policy.facts.FIELDS['output']``)."""
    pil = decode(image, max_pixels=config.max_pixels).convert("RGB")
    found = fingerprint_image(pil)
    near = nearest_to(found, NEIGHBOURS, searchable_index(config.index_dir), use=use, on=utcnow().date(),
                      wider=SEARCHED - NEIGHBOURS, close=COPY_DISTANCE)
    rgb = np.asarray(pil, dtype=np.uint8)
    faces = detect_faces(rgb)
    # registered people whose consent covers biometric matching, recognised in the faces
    matched = registered_faces.match(rgb, faces, registered_faces.live_faces()) if faces else []
    # the work the copy rules judge: the nearest one whose licence does not cover the use among
    # those close enough to be copies (a cleared near copy must not hide an uncleared one),
    # else the nearest; and the nearest watchlist work among a wider search, however many
    # ordinary works are nearer
    close = [m for m in near.matches if m.distance <= COPY_DISTANCE]
    top = next((m for m in close if not m.licence_covers_output), near.matches[0] if near.matches else None)
    watched = next((m for m in near.matches if m.origin == "watchlist"), None)
    near = dataclasses.replace(near, matches=near.matches[:NEIGHBOURS])
    declared = sorted(set(request.people or ()))
    look = _look(request.production, config.index_dir)
    style = look.distance(np.asarray(pil, dtype=np.uint8)) if look is not None else None
    facts: dict[str, Any] = {
        "sha256": sha256_hex(image), "width": pil.width, "height": pil.height,
        "nearest_asset": top.asset_sha256 if top else None,
        "nearest_title": top.title if top else None,
        "nearest_distance": top.distance if top else NO_MATCH_DISTANCE,
        "nearest_origin": top.origin if top else "none",
        "nearest_licence": top.licence if top else None,
        "nearest_licence_covers_use": bool(top.licence_covers_output) if top else False,
        "watchlist_asset": watched.asset_sha256 if watched else None,
        "watchlist_distance": watched.distance if watched else NO_MATCH_DISTANCE,
        "faces": len(faces),
        "face_boxes": [b.to_dict() for b in faces],
        # every neighbour, for the reviewer to compare side by side (the rules read the nearest)
        "matches": [{"asset": m.asset_sha256, "title": m.title, "distance": m.distance,
                     "origin": m.origin, "licence": m.licence} for m in near.matches],
        "people_matched": [k.person for k in matched],
        "undeclared_people": [k.person for k in matched if k.person not in declared],
        "minors_without_guardian": [k.person for k in matched if k.is_minor and not k.guardian_signed],
        "matcher_version": registered_faces.matcher().VERSION,
        "declared_people": len(declared),
        "style_distance": round(style.value, 4) if style is not None else None,
        "look_references": len(look.references) if look is not None else 0,
        "style_version": STYLE_VERSION,
        "fingerprint_version": FINGERPRINT_VERSION, "index_format": INDEX_FORMAT,
        "detector_version": DETECTOR_VERSION,
    }
    return facts, near


_looks: dict[tuple[str, str, tuple[str, ...]], LookProfile] = {}


def _look(production: str, index_dir: Path) -> LookProfile | None:
    """The production's approved look, from its look references' kept thumbnails (the style
    features work on a 128-pixel copy, which a 160-pixel thumbnail holds); kept per process
    while the set of references is the same. None where the production registered none."""
    from ..registry.tables import Asset, LookReference, Production
    shas = tuple(sorted(r.asset.sha256 for r in LookReference.select(LookReference, Asset).join(Asset)
                        .switch(LookReference).join(Production).where(Production.name == production)))
    if not shas:
        return None
    key = (str(index_dir), production, shas)
    if key not in _looks:
        kept = [thumbnail_path(index_dir, sha) for sha in shas]
        images = [path.read_bytes() for path in kept if path.exists()]
        if len(images) < len(shas):  # a thumbnail missing: judge on what is there, but keep nothing
            return LookProfile.from_images(images) if images else None
        _looks[key] = LookProfile.from_images(images)
    return _looks[key]


def _policy_for(decision: DecisionRecord) -> tuple[PolicyVersion, CompiledPolicy]:
    """The published version of the policy that decided the request (its own version if none is)."""
    judged: PolicyVersion = decision.policy_version
    row = active_row(judged.uid) or judged
    return row, compiled(row)


def judge(job: Job, image: bytes, config: ReviewConfig) -> Judgement | None:
    """The output decision on ``image`` for ``job``; None when the policy has no rule about ``output``."""
    decision: DecisionRecord = job.decision
    version, policy = _policy_for(decision)
    if not policy.has_output_rules:
        return None
    request: GenerationRequest = job.request
    stored: Mapping[str, Any] = decision.facts or {}
    request_facts = stored.get("request") or {}
    facts, near = image_facts(image, request, config, use=request_facts.get("use"))
    judged = {root: stored[root] for root in F.GLOBAL_ROOTS if root in stored}
    judged["outputs"] = [{"subject": "output", "output": facts}]
    return Judgement(version, policy.evaluate_output(judged), facts, near)


def evaluation_of(row: OutputReview, reviewer: str | None) -> dict[str, Any]:
    """The credential's ``evaluation`` block for a review's image, as it was judged."""
    return _evaluation(dict(row.facts), row.outcome, f"{row.policy_uid}@{row.policy_version}", reviewer)


def recorded_outputs(limit: int | None = None) -> list[RecordedOutput]:
    """Every recorded output decision with the facts it was judged on, newest first, for
    ``slate policy replay`` (``policy.replay``)."""
    query = OutputReview.select().order_by(OutputReview.created_at.desc(), OutputReview.id.desc())
    if limit:
        query = query.limit(limit)
    rows = list(query)
    decisions = {j.id: j.decision for j in Job.select(Job, DecisionRecord).join(DecisionRecord)
                 .where(Job.id.in_([r.job_id for r in rows]))}
    found = []
    for row in rows:
        decision = decisions.get(row.job_id)
        stored: Mapping[str, Any] = decision.facts if decision is not None else {}
        facts = {root: stored[root] for root in F.GLOBAL_ROOTS if root in stored}
        facts["outputs"] = [{"subject": "output", "output": dict(row.facts)}]
        found.append(RecordedOutput(row.id, row.request_id, f"{row.policy_uid}@{row.policy_version}", row.outcome,
                                    tuple(row.violations), tuple(row.approvals), facts))
    return found


def recorded_output_count() -> int:
    """How many output decisions are recorded: what a full replay re-judges beside the requests."""
    return int(OutputReview.select().count())


# --------------------------------------------------------------------------- holding


def existing(job: Job) -> OutputReview | None:
    return OutputReview.get_or_none(OutputReview.job_id == job.id)


def record_allowed(job: Job, judgement: Judgement, worker: str, model_identity: str, receipt: str,
                   environment: Mapping[str, Any], output_sha256: str) -> None:
    """Keep the decision of an image signed at once, in the signing transaction."""
    _create(job, judgement, ALLOWED, worker, model_identity, receipt, environment, None, None,
            output_sha256=output_sha256)


def hold(job: Job, image: bytes, judgement: Judgement, worker: str, model_identity: str, receipt: str,
         environment: Mapping[str, Any], config: ReviewConfig) -> ReviewView:
    """Keep an image policy did not allow at once: ``held`` for a reviewer, or ``refused``.

    The file is written (0600) before the rows and removed if they are not: a held image
    exists exactly when its review row says so. The job leaves the queue either way.
    """
    refused = judgement.decision.outcome == DENY
    review_id = "or_" + uuid.uuid4().hex
    folder = private_folder(config.held_dir)
    path = folder / f"{review_id}.png"
    _write_private(path, image)
    now = utcnow()
    try:
        with transaction():
            # the job must still be this worker's, running (a revocation may have blocked it, or a
            # retry of this same call held it meanwhile): one conditional UPDATE decides
            moved = (Job.update(status=JobStatus.OUTPUT_REFUSED if refused else JobStatus.AWAITING_OUTPUT_REVIEW,
                                worker=worker, lease_expires_at=None, updated_at=now, environment=dict(environment))
                     .where((Job.id == job.id) & (Job.status == JobStatus.RUNNING) & (Job.worker == worker))
                     .execute())
            if not moved:
                kept = existing(job)
                if kept is not None and kept.worker == worker:
                    path.unlink(missing_ok=True)
                    return ReviewView.from_row(kept)
                raise Conflict(f"job {job.id} is no longer running under this worker",
                               hint="a revocation may have blocked it; see the job")
            row = _create(job, judgement, REFUSED if refused else HELD, worker, model_identity, receipt,
                          environment, str(path), now + config.retention if refused else None, review_id=review_id)
            record("output.refused" if refused else "output.held_for_review", f"job:{job.id}",
                   {"review": row.id, "image_sha256": row.image_sha256, "outcome": row.outcome,
                    "rules": sorted({f["rule"] for f in row.violations + row.approvals}),
                    "policy": f"{row.policy_uid}@{row.policy_version}"}, actor=worker)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return ReviewView.from_row(row)


def _create(job: Job, judgement: Judgement, status: str, worker: str, model_identity: str, receipt: str,
            environment: Mapping[str, Any], file_path: str | None, purge_after: datetime | None, *,
            review_id: str | None = None, output_sha256: str | None = None) -> OutputReview:
    d, v = judgement.decision, judgement.version
    return OutputReview.create(
        id=review_id or "or_" + uuid.uuid4().hex, job_id=job.id, request_id=job.request_id,
        image_sha256=judgement.facts["sha256"], status=status, outcome=d.outcome, policy_uid=v.uid,
        policy_version=v.version, policy_sha256=v.sha256, violations=[f.to_dict() for f in d.violations],
        approvals=[f.to_dict() for f in d.approvals], facts=judgement.facts, inputs_digest=d.inputs.digest,
        worker=worker, model_identity=model_identity, receipt=receipt, environment=dict(environment),
        file_path=file_path, output_sha256=output_sha256, signoffs=[], created_at=utcnow(), purge_after=purge_after)


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


# --------------------------------------------------------------------------- reading


def get_review(review_id: str) -> OutputReview:
    row = OutputReview.get_or_none(OutputReview.id == review_id) \
        if isinstance(review_id, str) and len(review_id) <= 100 else None
    if row is None:
        raise NotFound("no output review has that id")
    return row


def _may_read(by: Principal, row: OutputReview) -> None:
    if row.status in (REFUSED, REJECTED, PURGED):
        if not by.has_any(QUARANTINE_READERS + ("auditor",)):
            raise NotFound("no output review has that id")
        return
    if by.has_any(REVIEWERS + ("auditor",)):
        return
    request = GenerationRequest.get_or_none(GenerationRequest.id == row.request_id)
    if request is None or not by.may_see_production(request.production):
        raise NotFound("no output review has that id")


#: what a producer reads of their own output's review: measurements, not who or what was
#: matched (other productions' works, registered people, face boxes)
PRODUCER_FACTS = ("sha256", "width", "height", "faces", "nearest_distance", "nearest_origin",
                  "watchlist_distance", "style_distance", "look_references")


def show_review(review_id: str, by: Principal) -> ReviewView:
    row = get_review(review_id)
    _may_read(by, row)
    view = ReviewView.from_row(row)
    if by.has_any(REVIEWERS + ("auditor",)):
        return view
    return dataclasses.replace(view, facts={k: v for k, v in view.facts.items() if k in PRODUCER_FACTS})


def list_reviews(by: Principal, status: str | None = None, limit: int = 100) -> list[ReviewView]:
    """Reviews the caller may see, oldest first (a held image waits longest at the top)."""
    if not by.has_any(REVIEWERS + ("auditor",)):
        raise Forbidden("output reviews are for " + ", ".join(REVIEWERS) + " and auditors")
    query = OutputReview.select().order_by(OutputReview.created_at, OutputReview.id).limit(limit)
    if status:
        query = query.where(OutputReview.status == status)
    if not by.has_any(QUARANTINE_READERS + ("auditor",)):
        query = query.where(OutputReview.status.not_in([REFUSED, REJECTED, PURGED]))
    return [ReviewView.from_row(r) for r in query]


def kept_file(row: OutputReview) -> Path | None:
    """The review's held or quarantined image, where Slate keeps it: ``<data>/held/<id>.png``.
    A stored path naming any other file (a database edit) is not followed, never served or
    deleted."""
    if not row.file_path:
        return None
    path = Path(row.file_path)
    if path.name != f"{row.id}.png" or path.parent.name != "held" or path.is_symlink():
        return None
    return path


def read_kept(row: OutputReview) -> bytes | None:
    """The kept image's bytes, or None when it is gone (purged or signed meanwhile)."""
    path = kept_file(row)
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def held_image(review_id: str, by: Principal) -> tuple[Path, ReviewView]:
    """The held or quarantined image of a review, for those who may look at it; never a producer's."""
    row = get_review(review_id)
    if not by.has_any(REVIEWERS + ("auditor",)):
        raise NotFound("no output review has that id")
    _may_read(by, row)
    path = kept_file(row)
    if path is None or row.status not in (HELD, REFUSED, REJECTED):
        raise NotFound("this review keeps no image (it was signed or purged)")
    return path, ReviewView.from_row(row)


# --------------------------------------------------------------------------- deciding


def add_signoff(row: OutputReview, by: Principal, comment: str, outstanding: tuple[str, ...]) -> ReviewView:
    """Record one reviewer's approval of a held image whose rules need more people; it stays held."""
    now = utcnow()
    with transaction():
        # take the row's lock (SQLite: the write lock; PostgreSQL: the row), then check nothing moved
        OutputReview.update(status=HELD).where((OutputReview.id == row.id) & (OutputReview.status == HELD)).execute()
        current = get_review(row.id)
        if current.status != HELD or list(current.signoffs or ()) != list(row.signoffs or ()):
            raise Conflict("this output review changed meanwhile; look at it again")
        given = [*list(row.signoffs or ()), {"approver": by.name, "at": now.isoformat(), "comment": comment}]
        OutputReview.update(signoffs=given).where(OutputReview.id == row.id).execute()
        record("output.review_signed_off", f"job:{row.job_id}",
               {"review": row.id, "image_sha256": row.image_sha256, "outstanding": list(outstanding)}, actor=by.name)
    return ReviewView.from_row(get_review(row.id))


def reject(row: OutputReview, by: Principal, comment: str, retention: timedelta) -> ReviewView:
    """Quarantine a held image its reviewer rejected: never signed; purged after ``retention``."""
    now = utcnow()
    with transaction():
        changed = (OutputReview.update(status=REJECTED, reviewer=by.name, comment=comment, reviewed_at=now,
                                       purge_after=now + retention)
                   .where((OutputReview.id == row.id) & (OutputReview.status == HELD)).execute())
        if not changed:
            raise Conflict("this output review was decided meanwhile")
        Job.update(status=JobStatus.OUTPUT_REFUSED, updated_at=now).where(Job.id == row.job_id).execute()
        record("output.review_rejected", f"job:{row.job_id}",
               {"review": row.id, "image_sha256": row.image_sha256}, actor=by.name)
    return ReviewView.from_row(get_review(row.id))


def purge(now: datetime | None = None) -> int:
    """Delete quarantined images past their retention; their rows stay, ``purged``."""
    now = now or utcnow()
    due = list(OutputReview.select().where(OutputReview.status.in_([REFUSED, REJECTED]),
                                           OutputReview.purge_after <= now))
    for row in due:
        path = kept_file(row)
        if path is not None:
            path.unlink(missing_ok=True)
        with transaction():
            OutputReview.update(status=PURGED, file_path=None).where(OutputReview.id == row.id).execute()
            record("output.quarantine_purged", f"job:{row.job_id}", {"review": row.id,
                                                                      "image_sha256": row.image_sha256})
    return len(due)


__all__ = ["ALLOW", "ALLOWED", "APPROVED", "HELD", "PURGED", "REFUSED", "REJECTED", "Judgement", "ReviewConfig",
           "ReviewView", "existing", "held_image", "hold", "image_facts", "judge", "list_reviews",
           "purge", "record_allowed", "recorded_output_count", "recorded_outputs", "reject", "show_review"]

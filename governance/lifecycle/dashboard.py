"""What waits for a person, per role: the home page's dashboard, as plain values.

Each queue is one bounded query (a LIMIT on an indexed column), so the start page stays fast
however large the studio's history grows: a queue says "at least N" when it hit its bound
rather than counting a million rows. The web layer only renders ``Dashboard``; the checks of
who may act on an item are the lifecycle's own (``approval_desk.queue``, ``requests.may_sign_off``).

Nothing here reads or returns a prompt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

import peewee

from ..audit.tables import AuditCheckpoint, AuditHead
from ..db import first
from ..jobs.statuses import JobStatus
from ..jobs.tables import Job, OutputReview
from ..ledger.tables import Output
from ..policy.tables import DecisionRecord, GenerationRequest, PolicyReview, PolicyVersion
from ..principal import Principal
from ..registry import scope
from ..registry.tables import TrainingRun
from . import approval_desk, output_review, training_runs

#: the most items a queue lists; a longer queue links to its page
SHOWN = 5
#: how many candidates a queue reads at most (its count says "at least" beyond it)
BOUND = 50
#: a producer's lost outputs are looked for among this many most recently lost, a batch at a time
LOST_SCAN, LOST_BATCH = 5000, 500
#: a producer's denied and failed requests count as "recent" for this long ...
RECENT = timedelta(days=14)
#: ... among their newest requests (an indexed, bounded look-back)
RECENT_REQUESTS = 500


@dataclass(frozen=True)
class Item:
    """One thing waiting: what it is in words, which record (``kind`` + ``ref``), since when."""

    kind: str
    ref: str
    label: str
    since: datetime | None
    detail: str = ""


@dataclass(frozen=True)
class Queue:
    """One role's list: its oldest (or newest, for things that went wrong) items and a count."""

    key: str
    title: str
    items: tuple[Item, ...]
    count: int
    #: the count reached ``BOUND``: there are at least this many
    at_least: bool
    empty: str

    @classmethod
    def of(cls, key: str, title: str, found: list[Item], empty: str) -> Queue:
        return cls(key, title, tuple(found[:SHOWN]), len(found), len(found) >= BOUND, empty)


@dataclass(frozen=True)
class AuditState:
    """Where the audit log stands without walking it: its newest signed checkpoint and how many
    entries that checkpoint does not cover yet. Verifying the whole log is the audit page's job."""

    entries: int
    checkpoint_size: int | None
    checkpoint_at: datetime | None
    uncovered: int


@dataclass(frozen=True)
class Dashboard:
    queues: tuple[Queue, ...]
    audit: AuditState | None


def dashboard(principal: Principal, now: datetime) -> Dashboard:
    """The queues the principal's roles give them, in a fixed order."""
    queues: list[Queue] = []
    if principal.has_any(("approver", "legal")):
        queues.append(Queue.of("approvals", "Approvals waiting for your sign-off", approvals_for(principal),
                               "No request waits for your sign-off."))
        queues.append(Queue.of("output_reviews", "Output reviews waiting", held_reviews(),
                               "No image waits for a review."))
    if principal.has_any(("legal",)):
        queues.append(Queue.of("policy_drafts", "Policy drafts to review", drafts_to_review(principal),
                               "No draft waits for your review."))
        queues.append(Queue.of("training_runs", "Training runs waiting for approval", runs_waiting(principal),
                               "No training run waits for approval."))
    if principal.has_any(("producer",)):
        queues.append(Queue.of("my_refusals", "Your requests denied or failed recently",
                               refused_requests(principal, now - RECENT),
                               "None of your recent requests was denied or failed."))
        queues.append(Queue.of("lost_standing", "Outputs of your productions that lost good standing",
                               lost_standing(principal), "Every output of your productions is in good standing."))
    if principal.has_any(("auditor",)):
        if not principal.has_any(("producer",)):
            queues.append(Queue.of("lost_standing", "Outputs that lost good standing", lost_standing(principal),
                                   "Every signed output is in good standing."))
    return Dashboard(tuple(queues), audit_state() if principal.has_any(("auditor",)) else None)


def _requests_seen_by(query: peewee.ModelSelect[DecisionRecord],
                      principal: Principal) -> peewee.ModelSelect[DecisionRecord]:
    if scope.confined(principal):
        return query.where(GenerationRequest.production.in_(sorted(principal.productions))
                           | (GenerationRequest.requester == principal.name))
    return query


def approvals_for(principal: Principal) -> list[Item]:
    """Requests awaiting a sign-off the principal's would fill, longest waiting first: the
    approvals page's own queue (``approval_desk.queue``), its first ``BOUND``."""
    return [Item("request", str(e.request.id), f"Request #{e.request.id}: {e.request.use.replace('_', ' ')} for "
                 f"{e.request.production}, by {e.request.requester}", e.waiting_since)
            for e in approval_desk.queue(principal, BOUND)]


def _request_label(request: GenerationRequest) -> str:
    return f"Request #{request.id}: {request.use.replace('_', ' ')} for {request.production}, by {request.requester}"


def held_reviews() -> list[Item]:
    """Images held for a person's review of the pixels, oldest first."""
    query = (OutputReview.select(OutputReview.id, OutputReview.request_id, OutputReview.created_at)
             .where(OutputReview.status == output_review.HELD)
             .order_by(OutputReview.created_at, OutputReview.id).limit(BOUND))
    return [Item("output_review", r.id, f"Image of request #{r.request_id}", r.created_at) for r in query]


def drafts_to_review(principal: Principal) -> list[Item]:
    """Policy drafts by someone else that the principal has not reviewed yet, oldest first."""
    mine = PolicyReview.select(PolicyReview.id).where((PolicyReview.policy_version == PolicyVersion.id)
                                                     & (PolicyReview.reviewer == principal.name))
    query = (PolicyVersion.select(PolicyVersion.id, PolicyVersion.uid, PolicyVersion.version, PolicyVersion.title,
                                  PolicyVersion.author, PolicyVersion.created_at)
             .where(PolicyVersion.status == "draft", PolicyVersion.author != principal.name,
                    ~peewee.fn.EXISTS(mine))
             .order_by(PolicyVersion.created_at, PolicyVersion.id).limit(BOUND))
    return [Item("policy", f"{v.uid}@{v.version}", f"{v.title} (v{v.version}), by {v.author}", v.created_at)
            for v in query]


def runs_waiting(principal: Principal) -> list[Item]:
    """Training runs the policy sent for approval that someone else asked for, oldest first."""
    query = (TrainingRun.select(TrainingRun.uid, TrainingRun.model_name, TrainingRun.model_version,
                                TrainingRun.production, TrainingRun.requested_by, TrainingRun.created_at)
             .where(TrainingRun.status == training_runs.NEEDS_APPROVAL, TrainingRun.requested_by != principal.name)
             .order_by(TrainingRun.created_at, TrainingRun.id).limit(BOUND))
    if scope.confined(principal):
        query = query.where(TrainingRun.production.in_(sorted(principal.productions)))
    return [Item("training_run", r.uid, f"{r.model_name}:{r.model_version} for {r.production}, "
                 f"asked by {r.requested_by}", r.created_at) for r in query]


def refused_requests(principal: Principal, since: datetime) -> list[Item]:
    """The principal's own requests, among their newest, that policy denied or whose job failed
    since ``since``; newest first."""
    newest = (GenerationRequest.select(GenerationRequest.id).where(GenerationRequest.requester == principal.name)
              .order_by(GenerationRequest.id.desc()).limit(RECENT_REQUESTS))
    denied = (DecisionRecord.select(DecisionRecord, GenerationRequest).join(GenerationRequest)
              .where(DecisionRecord.request.in_(newest), DecisionRecord.outcome == "deny",
                     DecisionRecord.created_at >= since)
              .order_by(DecisionRecord.id.desc()).limit(BOUND))
    failed = (Job.select(Job, GenerationRequest).join(GenerationRequest)
              .where(Job.request.in_(newest), Job.status == JobStatus.FAILED, Job.updated_at >= since)
              .order_by(Job.updated_at.desc()).limit(BOUND))
    items = [Item("request", str(d.request.id), _request_label(d.request), d.created_at, "denied by policy")
             for d in denied]
    items += [Item("request", str(j.request.id), _request_label(j.request), j.updated_at, "its job failed")
              for j in failed]
    return sorted(items, key=lambda i: i.since or since, reverse=True)[:BOUND]


def lost_standing(principal: Principal) -> list[Item]:
    """Signed outputs no longer in good standing, most recently lost first; a producer's own only.

    A producer's are found by walking the lost-standing index a batch at a time (other
    productions' losses must not push theirs out of the box), up to ``LOST_SCAN`` outputs."""
    query = (Output.select(Output.sha256, Output.request_id, Output.standing_reason, Output.standing_changed_at)
             .where(Output.in_good_standing == False)  # noqa: E712
             .order_by(Output.standing_changed_at.desc(), Output.id.desc()))
    if not scope.confined(principal):
        rows = list(query.limit(BOUND))
    else:
        rows = []
        for start in range(0, LOST_SCAN, LOST_BATCH):
            batch = list(query.offset(start).limit(LOST_BATCH))
            rows += _own(batch, principal)
            if len(rows) >= BOUND or len(batch) < LOST_BATCH:
                break
        rows = rows[:BOUND]
    return [Item("output", o.sha256, f"Output {o.sha256[:12]}… of request #{o.request_id}",
                 o.standing_changed_at, o.standing_reason or "") for o in rows]


def _own(rows: Iterable[Output], principal: Principal) -> list[Output]:
    rows = list(rows)
    ids = {int(o.request_id) for o in rows if str(o.request_id).isdigit()}
    if not ids:
        return []
    theirs = {r.id for r in GenerationRequest.select(GenerationRequest.id)
              .where(GenerationRequest.id.in_(sorted(ids)),
                     GenerationRequest.production.in_(sorted(principal.productions)))}
    return [o for o in rows if str(o.request_id).isdigit() and int(o.request_id) in theirs]


def audit_state() -> AuditState:
    head = AuditHead.get_or_none(AuditHead.id == 1)
    entries = head.seq if head else 0
    last = first(AuditCheckpoint.select(AuditCheckpoint.tree_size, AuditCheckpoint.at)
                 .order_by(AuditCheckpoint.tree_size.desc()))
    if last is None:
        return AuditState(entries, None, None, entries)
    return AuditState(entries, last.tree_size, last.at, entries - last.tree_size)

"""What an approver reads before signing off: the queue, oldest first, and one request's brief.

The queue orders the requests awaiting the caller's sign-off by how long they have waited
(since their latest decision routed them to review), and says which were decided under a
policy version replaced since. The brief gathers, for one request, what the approval page
shows beside the decision's evidence: the reference images by title with their licences,
each person's consent terms as the decision relied on them, the generated image's output
reviews, and the prompt, but only where the policy the request was decided under lets
approvers read it (``disclosure: {approversSeePrompt: true}``) and only to someone whose
sign-off would count. Reads only; the pages, the API and the CLI share it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ..clock import as_utc
from ..errors import Forbidden, InvalidInput, NotFound
from ..jobs.statuses import Verdict
from ..jobs.tables import Approval, OutputReview
from ..policy.requests import RequestRecord, latest_decision, newer_policy
from ..policy.tables import AwaitingApproval, DecisionRecord, GenerationRequest, PolicyVersion
from ..policy.versions import active_row, compiled
from ..principal import Principal
from ..provenance.standing import revoked_rights
from ..registry import scope
from ..registry.consents import status_of
from ..registry.tables import Asset, Consent, Model
from . import approvals, output_review
from .consented_uses import ConsentedUse, consented_uses
from .requests import may_sign_off, visible_request
from .views import RequestView

#: the most requests the queue shows at once (the oldest)
QUEUE_LIMIT = 50
#: the most rows read to find them (requests others must sign are skipped)
QUEUE_SCAN = 200


@dataclass(frozen=True)
class PolicyStanding:
    """The policy version a request was decided under, and the one published since, if any."""

    uid: str
    decided_under: int
    published: int | None

    @property
    def stale(self) -> bool:
        return self.published is not None

    @classmethod
    def of(cls, decision: DecisionRecord) -> PolicyStanding:
        newer = newer_policy(decision)
        version: PolicyVersion = decision.policy_version
        return cls(version.uid, version.version, newer.version if newer is not None else None)

    def to_dict(self) -> dict[str, Any]:
        return {"uid": self.uid, "decided_under": self.decided_under, "published": self.published,
                "stale": self.stale}


@dataclass(frozen=True)
class QueueEntry:
    """One request awaiting the caller's sign-off: what was asked, since when it has waited,
    what it still needs, and whether its policy changed since it was decided."""

    request: RequestRecord
    waiting_since: datetime
    policy: PolicyStanding
    outstanding: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(), "waiting_since": self.waiting_since,
                "policy_standing": self.policy.to_dict(), "outstanding": list(self.outstanding)}


def waiting_rows(principal: Principal) -> list[AwaitingApproval]:
    """The oldest ``QUEUE_SCAN`` rows of the queue table in the caller's productions.

    Read from the small queue table a batch at a time, oldest first, each batch's requests
    then checked by id: a join lets SQLite start from (or filter through) the caller's
    productions, which hold every request ever made there, a million rows read per view."""
    found: list[AwaitingApproval] = []
    after: tuple[Any, int] | None = None
    while len(found) < QUEUE_SCAN:
        query = AwaitingApproval.select().order_by(AwaitingApproval.since, AwaitingApproval.request_id)
        if after is not None:
            query = query.where((AwaitingApproval.since > after[0])
                                | ((AwaitingApproval.since == after[0]) & (AwaitingApproval.request_id > after[1])))
        batch = list(query.limit(QUEUE_SCAN))
        if not batch:
            break
        after = (batch[-1].since, batch[-1].request_id)
        requests = GenerationRequest.select(GenerationRequest.id).where(
            GenerationRequest.id.in_([w.request_id for w in batch]))
        if not principal.studio_wide:
            requests = requests.where(GenerationRequest.production.in_(sorted(principal.productions)))
        seen = {r.id for r in requests}
        found.extend(w for w in batch if w.request_id in seen)
    return found[:QUEUE_SCAN]


def queue(principal: Principal, limit: int = QUEUE_LIMIT) -> list[QueueEntry]:
    """The requests awaiting a sign-off the caller's would fill, oldest first.

    A request waits from its latest decision (a re-decision starts the wait again); one
    rejected or already approved is not waiting (``AwaitingApproval`` holds only those that
    are), nor one a revocation blocked. Reads at most ``QUEUE_SCAN`` candidates, each batch
    of rows in one query, and each signer once, so the page stays fast however long the
    studio's history."""
    waiting = waiting_rows(principal)
    if not waiting:
        return []
    requests = {r.id: r for r in GenerationRequest.select(GenerationRequest, Model).join(Model)
                .where(GenerationRequest.id.in_([w.request_id for w in waiting]))}
    decisions = {d.id: d for d in DecisionRecord.select(DecisionRecord, PolicyVersion).join(PolicyVersion)
                 .where(DecisionRecord.id.in_([w.decision_id for w in waiting]))}
    given: dict[int, list[Approval]] = {}
    for row in Approval.select().where(Approval.decision.in_(list(decisions))).order_by(Approval.id):
        given.setdefault(row.decision_id, []).append(row)
    me = approvals.signer_of(principal)
    named = functools.lru_cache(maxsize=None)(approvals.signer_named)
    department = functools.lru_cache(maxsize=None)(approvals.department_of)
    published = functools.lru_cache(maxsize=None)(active_row)
    entries: list[QueueEntry] = []
    for w in waiting:
        request, decision = requests.get(w.request_id), decisions.get(w.decision_id)
        rows = given.get(w.decision_id, [])
        if request is None or decision is None or request.requester == principal.name \
                or any(r.verdict == Verdict.REJECTED or r.approver == principal.name for r in rows):
            continue
        try:
            standing = approvals.standing(request, decision, rows, named, department)
        except InvalidInput:  # stored approvers no one can judge: the request's own page says so
            continue
        if not standing.can_fill(me) or revoked_rights(decision.records):
            continue
        version: PolicyVersion = decision.policy_version
        current = published(version.uid)
        entries.append(QueueEntry(
            RequestRecord.from_row(request), as_utc(w.since),
            PolicyStanding(version.uid, version.version,
                           current.version if current is not None and current.id != version.id else None),
            standing.outstanding))
        if len(entries) >= limit:
            break
    return entries


@dataclass(frozen=True)
class Reference:
    """A reference image as the approver reads it: its title and the licence it is used under."""

    sha256: str
    title: str
    licence: str | None
    licensor: str | None
    licence_ends_on: date | None
    takedown: bool

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "title": self.title, "licence": self.licence, "licensor": self.licensor,
                "licence_ends_on": self.licence_ends_on, "takedown": self.takedown}


@dataclass(frozen=True)
class ConsentTerms:
    """A person's consent as the decision relied on it: its terms now, and its words."""

    use: ConsentedUse
    uses: tuple[str, ...]
    productions: tuple[str, ...]
    territories: tuple[str, ...]
    valid_from: date | None
    valid_until: date | None
    status: str
    revoked_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {**self.use.to_dict(), "uses": list(self.uses), "productions": list(self.productions),
                "territories": list(self.territories), "valid_from": self.valid_from,
                "valid_until": self.valid_until, "status": self.status, "revoked_at": self.revoked_at,
                "revoked": self.revoked_at is not None}


@dataclass(frozen=True)
class Brief:
    """Everything the approval page shows of one request."""

    view: RequestView
    may_sign_off: bool
    policy: PolicyStanding | None
    references: tuple[Reference, ...]
    consents: tuple[ConsentTerms, ...]
    reviews: tuple[output_review.ReviewView, ...]
    #: the prompt, only where its policy discloses it to approvers and the caller's sign-off counts
    prompt: str | None = field(default=None, repr=False)
    #: whether the policy lets approvers read the prompt (so the page can say why it is hidden)
    prompt_disclosed: bool = False


def brief(request_id: int | str, principal: Principal) -> Brief:
    """The approval page's facts for a request the caller may see (another production's: 404)."""
    request = visible_request(request_id, principal)
    view = RequestView.of(request)
    decision = latest_decision(request)
    signs = may_sign_off(request.id, principal)
    disclosed = decision is not None and compiled(decision.policy_version).policy.disclosure.approvers_see_prompt
    return Brief(view, signs, PolicyStanding.of(decision) if decision is not None else None,
                 _references(request), _consents(decision, principal), _reviews(request, principal),
                 prompt=request.prompt if disclosed and signs else None, prompt_disclosed=disclosed)


def _references(request: GenerationRequest) -> tuple[Reference, ...]:
    wanted = list(request.references or ())
    if not wanted:
        return ()
    rows = {a.sha256: a for a in Asset.select().where(Asset.sha256.in_(wanted))}
    out = []
    for sha in wanted:
        asset = rows.get(sha)
        lic = asset.licence if asset is not None and asset.licence_id else None
        out.append(Reference(sha, asset.title if asset is not None else "(no longer registered)",
                             lic.ref if lic else None, lic.licensor if lic else None,
                             lic.ends_on if lic else None, bool(lic.takedown) if lic else False))
    return tuple(out)


def _consents(decision: DecisionRecord | None, principal: Principal) -> tuple[ConsentTerms, ...]:
    uses = consented_uses(decision)
    if not uses:
        return ()
    rows = {c.id: c for c in Consent.select().where(Consent.id.in_([int(u.consent_id) for u in uses]))}
    out = []
    for use in uses:
        c = rows.get(int(use.consent_id))
        if c is None:
            continue
        out.append(ConsentTerms(use, tuple(c.uses or ()), tuple(scope.seen_productions(principal, c.productions or [])),
                                tuple(c.territories or ()), c.valid_from, c.valid_until, status_of(c),
                                as_utc(c.revoked_at) if c.revoked_at else None))
    return tuple(out)


def _reviews(request: GenerationRequest, principal: Principal) -> tuple[output_review.ReviewView, ...]:
    """The output reviews of the request's generated images, for those who may read them."""
    if not principal.has_any(output_review.REVIEWERS):
        return ()
    found = []
    for row in OutputReview.select().where(OutputReview.request_id == request.id) \
            .order_by(OutputReview.created_at).limit(10):
        try:
            found.append(output_review.show_review(row.id, principal))
        except (Forbidden, NotFound):
            continue
    return tuple(found)

"""A request's sign-offs as the records hold them, judged by ``signoffs``.

Reads the approval rows of a request's decision and the users behind them and hands them
to the pure matching as ``Signer`` values; writes nothing. A sign-off counts while its
signer still holds what a requirement asks (roles, production, department): a role
taken away before the request proceeds takes the sign-off's weight with it.

The department is read with ``getattr``: the column arrives with migration step 14.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..auth.tables import User
from ..jobs.statuses import Verdict
from ..jobs.tables import Approval
from ..policy.tables import DecisionRecord, GenerationRequest
from ..principal import Principal
from .signoffs import Need, Request, Requirement, Signer, Standing, needs_of, status


def _department(user: User | None) -> str | None:
    value = getattr(user, "department", None)
    return value if isinstance(value, str) and value else None


def department_of(name: str) -> str | None:
    """The named user's department (None for none, or no such user)."""
    return _department(User.get_or_none(User.name == name))


def signer_of(principal: Principal) -> Signer:
    """The caller as the requirements judge them."""
    return Signer(principal.name, principal.roles, principal.productions, department_of(principal.name))


def signer_named(name: str) -> Signer:
    """A user who signed off earlier, as the requirements judge them now (a disabled one fills nothing)."""
    user = User.get_or_none(User.name == name)
    if user is None or user.disabled_at is not None:
        return Signer(name)  # fills nothing
    productions = frozenset(m.production.name for m in user.memberships)
    return Signer(user.name, frozenset(user.roles or ()), productions, _department(user))


def request_of(request: GenerationRequest, department: Callable[[str], str | None] = department_of) -> Request:
    return Request(request.production, request.requester, department(request.requester))


def needs(decision: DecisionRecord) -> tuple[Need, ...]:
    """The decision's requirements; a decision routed to review with no finding wants one approver."""
    return needs_of(decision.approvals or []) or (Need(Requirement(), ()),)


def sign_offs(request: GenerationRequest, decision: DecisionRecord) -> list[Approval]:
    """Every sign-off and rejection given on this decision, in the order given."""
    return list(Approval.select().where((Approval.request == request) & (Approval.decision == decision))
                .order_by(Approval.id))


def standing(request: GenerationRequest, decision: DecisionRecord, rows: Sequence[Approval],
             named: Callable[[str], Signer] = signer_named,
             department: Callable[[str], str | None] = department_of) -> Standing:
    """The approved sign-offs matched to the decision's requirements (``named``, ``department``:
    how a signer and the requester's department are read; a list of many requests passes ones
    that remember each person)."""
    signers = [named(row.approver) for row in rows if row.verdict == Verdict.APPROVED]
    return status(needs(decision), signers, request_of(request, department))

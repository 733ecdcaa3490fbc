"""Sign-offs matched to approval requirements, as plain values (no database)."""

from __future__ import annotations

import pytest

from governance.errors import InvalidInput
from governance.lifecycle.signoffs import Request, Requirement, Signer, eligible, needs_of, status

REQUEST = Request(production="harbour-lights", requester="pat", requester_department="production")


def finding(rule: str, **approvers: object) -> dict[str, object]:
    body = {"roles": ["approver"], "count": 1, "from_production": False, "department": None,
            "not_requester_department": False, **approvers}
    return {"rule": rule, "type": "approval", "title": rule, "subject": "request", "evidence": [],
            "approvers": body}


def signer(name: str, *roles: str, productions: tuple[str, ...] = (), department: str | None = None) -> Signer:
    return Signer(name, frozenset(roles), frozenset(productions), department)


LEGAL_AND_APPROVER = needs_of([finding("legal-signs", roles=["legal"]), finding("approver-signs")])


def test_a_finding_stored_without_approvers_wants_one_approver():
    old = {"rule": "likeness-needs-approval", "type": "approval", "title": "", "subject": "person:x"}
    [need] = needs_of([old])
    assert need.requirement == Requirement(("approver",), 1, False, None, False)
    assert need.rules == ("likeness-needs-approval",)


def test_one_person_with_both_roles_fills_only_one_of_two_requirements():
    both = signer("lee", "legal", "approver")
    standing = status(LEGAL_AND_APPROVER, [both], REQUEST)
    assert not standing.met
    assert [n.filled_by for n in standing.needs] in ([("lee",), ()], [(), ("lee",)])
    assert standing.outstanding and len(standing.outstanding) == 1


def test_two_distinct_people_meet_legal_and_approver():
    standing = status(LEGAL_AND_APPROVER, [signer("lee", "legal"), signer("ada", "approver")], REQUEST)
    assert standing.met and standing.outstanding == ()
    assert standing.rules_of("lee") == ("legal-signs",) and standing.rules_of("ada") == ("approver-signs",)


def test_a_later_signer_moves_an_earlier_one_to_the_slot_only_they_fit():
    standing = status(LEGAL_AND_APPROVER, [signer("lee", "legal", "approver"), signer("ada", "approver")], REQUEST)
    assert standing.met and standing.rules_of("lee") == ("legal-signs",)


def test_a_quorum_of_two_needs_two_people():
    needs = needs_of([finding("two-approvers", count=2)])
    one = status(needs, [signer("ada", "approver")], REQUEST)
    assert not one.met
    assert one.outstanding == ("needs 1 more sign-off from approver (two-approvers)",)
    assert status(needs, [signer("ada", "approver"), signer("abe", "approver")], REQUEST).met


def test_an_approver_cannot_sign_twice_toward_a_quorum():
    needs = needs_of([finding("two-approvers", count=2)])
    once = status(needs, [signer("ada", "approver")], REQUEST)
    assert not once.can_fill(signer("ada", "approver"))


def test_rules_with_equal_requirements_share_their_sign_offs():
    needs = needs_of([finding("likeness"), finding("marketing"), finding("legal", roles=["legal"])])
    assert [n.rules for n in needs] == [("likeness", "marketing"), ("legal",)]
    standing = status(needs, [signer("ada", "approver"), signer("lee", "legal")], REQUEST)
    assert standing.met and standing.rules_of("ada") == ("likeness", "marketing")


def test_the_requester_never_fills_a_slot():
    needs = needs_of([finding("any-approver")])
    pat = signer("pat", "approver", "producer")
    assert not status(needs, [], REQUEST).can_fill(pat)
    assert not status(needs, [pat], REQUEST).met


def test_from_production_needs_a_member_of_the_requests_production():
    needs = needs_of([finding("production-signs", roles=["producer"], from_production=True)])
    standing = status(needs, [], REQUEST)
    assert not standing.can_fill(signer("sam", "producer", productions=("northern-line",)))
    assert standing.can_fill(signer("pia", "producer", productions=("harbour-lights",)))
    assert standing.outstanding == (
        "needs 1 more sign-off from producer, a member of harbour-lights (production-signs)",)


def test_a_named_department_and_not_the_requesters_department():
    marketing = needs_of([finding("marketing-signs", department="marketing")])
    assert not status(marketing, [], REQUEST).can_fill(signer("ada", "approver", department="legal"))
    assert status(marketing, [], REQUEST).can_fill(signer("mo", "approver", department="marketing"))
    other = needs_of([finding("outside-eyes", not_requester_department=True)])
    assert not status(other, [], REQUEST).can_fill(signer("ida", "approver", department="production"))
    assert status(other, [], REQUEST).can_fill(signer("ada", "approver", department="legal"))
    assert status(other, [], REQUEST).can_fill(signer("ned", "approver"))  # no department: not the requester's
    no_department = Request("harbour-lights", "pat", None)
    assert status(other, [], no_department).can_fill(signer("ida", "approver", department="production"))


def test_an_admin_is_not_eligible_unless_named():
    needs = needs_of([finding("any-approver")])
    assert not status(needs, [], REQUEST).can_fill(signer("root", "admin"))
    assert status(needs_of([finding("admins", roles=["admin"])]), [], REQUEST).can_fill(signer("root", "admin"))


def test_a_signer_who_adds_nothing_is_refused():
    needs = needs_of([finding("legal-signs", roles=["legal"])])
    done = status(needs, [signer("lee", "legal")], REQUEST)
    assert done.met and not done.can_fill(signer("lou", "legal"))
    assert eligible(needs[0].requirement, signer("lou", "legal"), REQUEST)  # may still reject it


@pytest.mark.parametrize("approvers", [{"roles": []}, {"count": 0}, {"count": "2"}, {"count": 99},
                                       {"roles": "legal"}, {"department": ""}])
def test_a_malformed_requirement_is_refused_as_invalid_input(approvers):
    with pytest.raises(InvalidInput):
        needs_of([{"rule": "x", "approvers": {"roles": ["legal"], **approvers}}])

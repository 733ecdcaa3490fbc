"""Recording performers' terms: each term checked with a message that says what to fix, a
death recorded once by legal, and the terms shown with the consent (the words and their hash)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from governance.clock import utcnow
from governance.errors import Conflict, Forbidden, InvalidInput
from governance.registry import people, performer_terms
from governance.registry.performer_terms import checked_terms, description_sha256
from governance.registry.tables import Person
from tests import rights
from tests.registry.test_rights import PAT, TERMS, world  # noqa: F401 (fixture)


@pytest.mark.parametrize(("terms", "says"), [
    ({"replica_type": "hologram"}, "'hologram' is not a known replica type"),
    ({"use_description": "x" * 4001}, "at most 4000 printable characters"),
    ({"use_description": "use\x00hidden"}, "printable"),
    ({"notice_given_at": "next tuesday"}, "is not a date and time"),
    ({"notice_given_at": "2999-01-01T00:00:00Z"}, "is in the future"),
    ({"estate_consent": True, "estate_representative": "Estate"}, "not recorded as deceased"),
    ({"estate_consent": True, "deceased": True}, "names who gave it"),
    ({"estate_representative": "Estate"}, "only with the estate's consent"),
], ids=["replica type", "long description", "control character", "garbled notice", "future notice",
        "estate of the living", "estate unnamed", "representative without estate"])
def test_bad_terms_are_refused_saying_what_to_fix(terms, says):
    with pytest.raises(InvalidInput, match=says):
        checked_terms(**terms)


def test_notice_without_a_zone_is_taken_as_utc_and_the_description_is_hashed_as_utf8():
    terms = checked_terms(replica_type="background", use_description=" Crowd on the quay, café scene. ",
                          notice_given_at="2025-05-01T09:30")
    assert terms.notice_given_at == datetime(2025, 5, 1, 9, 30, tzinfo=timezone.utc)
    assert terms.use_description == "Crowd on the quay, café scene."
    assert terms.use_description_sha256 == description_sha256("Crowd on the quay, café scene.")
    assert terms.audit()["use_description_sha256"] == terms.use_description_sha256 and "use_description" \
        not in terms.audit()


def test_a_consent_shows_its_terms_and_an_older_one_states_none(world):  # noqa: F811
    plain = rights.grant_consent(world, "Mara Quinn", replica_type=None, **TERMS)
    assert (plain["replica_type"], plain["use_description"], plain["notice_given_at"], plain["estate_consent"]) \
        == (None, None, None, False)
    notice = utcnow() - timedelta(days=2)
    full = rights.grant_consent(world, "Mara Quinn", replica_type="independently_created",
                                use_description="Her likeness in previs.", notice_given_at=notice, **TERMS)
    assert full["replica_type"] == "independently_created" and full["notice_given_at"] == notice
    assert full["use_description_sha256"] == description_sha256("Her likeness in previs.")


def test_a_death_is_recorded_once_by_legal_and_never_in_the_future(world):  # noqa: F811
    with pytest.raises(Forbidden):
        performer_terms.record_death("Mara Quinn", date(2024, 1, 1), by=PAT)
    with pytest.raises(InvalidInput, match="in the future"):
        performer_terms.record_death("Mara Quinn", utcnow().date() + timedelta(days=1), by=rights.LEE)
    assert Person.get(Person.name == "Mara Quinn").deceased_on is None
    performer_terms.record_death("Mara Quinn", date(2024, 1, 1), by=rights.LEE)
    with pytest.raises(Conflict, match="already recorded"):
        performer_terms.record_death("Mara Quinn", date(2024, 2, 1), by=rights.LEE)
    assert people.person_dict(Person.get(Person.name == "Mara Quinn"))["deceased_on"] == date(2024, 1, 1)

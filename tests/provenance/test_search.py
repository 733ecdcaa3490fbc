"""Searching signed outputs by each kind of filter, combined, paginated, within a producer's view."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from governance.errors import InvalidInput, NotFound
from governance.ledger.tables import Output
from governance.provenance import index
from governance.provenance.query import OutputQuery, find_outputs
from governance.provenance.tables import OutputFacet
from governance.registry.tables import Consent, Person
from tests.api.conftest import auth


def found(signed, **filters) -> set[str]:
    by_sha = {sha: name for name, sha in signed.outputs.items()}
    page = find_outputs(OutputQuery(**filters))
    return {by_sha[i["sha256"]] for i in page.items}


@pytest.fixture
def more(signed):
    """Adds an output whose reference image shows Mara (she is not depicted by request)."""
    signed.make("headshot", 5, use="final_frame", references=[signed.headshot])
    return signed


ALL = {"plain", "plate", "mara", "other", "headshot"}
STUDIO_MODEL = {"plain", "plate", "mara", "headshot"}


def test_by_asset_used_as_reference(more):
    assert found(more, asset=more.plate) == {"plate"}
    assert found(more, asset=more.headshot[:12]) == {"headshot"}


def test_by_asset_in_the_models_training_set(more):
    assert found(more, asset=more.style[1]) == STUDIO_MODEL
    assert found(more, asset=more.other_style) == {"other"}


def test_by_person_depicted_or_in_a_reference(more):
    assert found(more, person="Mara Quinn") == {"mara", "headshot"}
    assert found(more, person=str(Person.get(Person.name == "Mara Quinn").id)) == {"mara", "headshot"}
    assert found(more, person="Kit Young") == set()


def test_by_licence_of_a_reference_or_of_the_training_set(more):
    assert found(more, licence="LIC-NORTHLIGHT-PLATES") == {"plate", "headshot"}
    assert found(more, licence="LIC-STUDIO-OWN") == STUDIO_MODEL
    assert found(more, licence="LIC-OTHER") == {"other"}


def test_by_consent_relied_on(more):
    # the headshot request did not list Mara, but her reference image made her consent part of it
    consent = Consent.select().join(Person).where(Person.name == "Mara Quinn").get()
    assert found(more, consent=str(consent.id)) == {"mara", "headshot"}


def test_by_model_and_training_set(more):
    assert found(more, model="other:1") == {"other"}
    assert found(more, model="slate-studio:1") == STUDIO_MODEL
    assert found(more, training_set="studio-style-v1") == STUDIO_MODEL


def test_by_production_approver_and_outcome(more):
    assert found(more, production="harbour-lights") == ALL
    assert found(more, production="northern-line") == set()
    assert found(more, approver="ada-approver") == {"plate", "headshot"}
    assert found(more, approver="bea-approver") == {"mara"}
    assert found(more, outcome="allow") == {"plain", "other"}
    assert found(more, outcome="needs_approval") == {"plate", "mara", "headshot"}


def test_by_time_range(more):
    times = {name: Output.get(Output.sha256 == sha).signed_at.replace(tzinfo=timezone.utc)
             for name, sha in more.outputs.items()}
    assert found(more, since=times["mara"]) == {"mara", "other", "headshot"}
    assert found(more, until=times["mara"]) == {"plain", "plate"}
    assert found(more, since=times["plate"], until=times["other"]) == {"plate", "mara"}
    assert found(more, since=datetime.now(timezone.utc) + timedelta(days=1)) == set()


def test_filters_combine_with_and(more):
    assert found(more, model="slate-studio:1", approver="ada-approver") == {"plate", "headshot"}
    assert found(more, licence="LIC-NORTHLIGHT-PLATES", person="Mara Quinn") == {"headshot"}
    assert found(more, asset=more.style[0], outcome="allow", production="harbour-lights") == {"plain"}
    assert found(more, model="other:1", approver="ada-approver") == set()


def test_pages_follow_the_cursor_newest_first_without_repeats(more):
    seen, cursor = [], None
    while True:
        page = find_outputs(OutputQuery(limit=2, cursor=cursor))
        seen += [i["sha256"] for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    order = [more.outputs[n] for n in ("headshot", "other", "mara", "plate", "plain")]
    assert seen == order


def test_backfill_indexes_outputs_signed_before_provenance(more):
    before = found(more, person="Mara Quinn")
    OutputFacet.delete().execute()
    assert found(more, person="Mara Quinn") == set()
    assert index.backfill() == len(more.outputs)
    assert index.backfill() == 0
    assert found(more, person="Mara Quinn") == before
    assert found(more, approver="ada-approver") == {"plate", "headshot"}


@pytest.mark.parametrize("filters, error, words", [
    ({"asset": "f" * 64}, NotFound, "no asset"),
    ({"person": "Nobody Here"}, NotFound, "no person"),
    ({"licence": "LIC-NOPE"}, NotFound, "no licence"),
    ({"consent": "999"}, NotFound, "no consent"),
    ({"consent": "abc"}, InvalidInput, "not a consent id"),
    ({"model": "ghost:9"}, NotFound, "no model"),
    ({"training_set": "nope"}, NotFound, "no training set"),
    ({"production": "nope"}, NotFound, "no production"),
    ({"approver": "nobody"}, NotFound, "no approver"),
    ({"outcome": "maybe"}, InvalidInput, "outcome"),
    ({"limit": 0}, InvalidInput, "page size"),
    ({"limit": 100_000}, InvalidInput, "page size"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, InvalidInput, "before"),
    ({"since": "yesterday"}, InvalidInput, "not a time"),
    ({"cursor": "not-a-cursor"}, InvalidInput, "cursor"),
    ({"colour": "red"}, InvalidInput, "unknown filters"),
])
def test_bad_filters_are_clear_errors(more, filters, error, words):
    with pytest.raises(error, match=words):
        find_outputs(OutputQuery.from_text(filters))


def test_api_search_pages_and_rejects_bad_input(more):
    c, t = more.client, more.tokens
    response = c.get("/api/v1/provenance/outputs?person=Mara%20Quinn&limit=1", headers=auth(t["aud-auditor"]))
    assert response.status_code == 200, response.json
    assert len(response.json["items"]) == 1 and response.json["next_cursor"]
    second = c.get(f"/api/v1/provenance/outputs?person=Mara%20Quinn&limit=1&cursor={response.json['next_cursor']}",
                   headers=auth(t["aud-auditor"]))
    assert {response.json["items"][0]["sha256"], second.json["items"][0]["sha256"]} == \
        {more.outputs["mara"], more.outputs["headshot"]}
    for query, status in [("limit=0", 422), ("limit=1000000", 422), ("limit=ten", 422), ("since=soon", 422),
                          ("cursor=%%%", 422), ("asset=" + "0" * 64, 404), ("person=Nobody", 404),
                          ("colour=red", 422), ("outcome=maybe", 422)]:
        bad = c.get(f"/api/v1/provenance/outputs?{query}", headers=auth(t["aud-auditor"]))
        assert bad.status_code == status, (query, bad.json)
        assert bad.mimetype == "application/problem+json"


def test_producers_see_only_their_productions(more):
    c, t = more.client, more.tokens
    mine = c.get("/api/v1/provenance/outputs", headers=auth(t["pat-producer"]))
    assert len(mine.json["items"]) == len(more.outputs)
    from governance.auth.users import add_user, issue_token
    add_user("nia-producer", ["producer"], ["northern-line"])
    other = issue_token("nia-producer")["token"]
    assert c.get("/api/v1/provenance/outputs", headers=auth(other)).json["items"] == []
    assert c.get("/api/v1/provenance/outputs?production=harbour-lights", headers=auth(other)).status_code == 404
    sha = more.outputs["plain"]
    assert c.get(f"/api/v1/provenance/outputs/{sha}/lineage", headers=auth(other)).status_code == 404

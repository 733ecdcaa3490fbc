"""Edit and resubmit after a deny: the requester's own denied request fills the form (its
prompt too, for them alone), the new request records which one it resubmits, both pages link."""

from __future__ import annotations

import logging
import re

from governance.auth.users import add_user, issue_token
from governance.policy.tables import GenerationRequest
from tests.web.conftest import Browser
from tests.web.test_requests import PROMPT, submit


def denied(browser, studio) -> tuple[Browser, int]:
    producer = browser("pat-producer")
    location = submit(producer, studio, people=["Kit Young"]).headers["Location"]
    return producer, int(location.rsplit("/", 1)[1])


def test_the_requester_edits_a_denied_request_and_the_new_one_records_it(browser, studio, caplog):
    caplog.set_level(logging.DEBUG)
    producer, first = denied(browser, studio)
    page = producer.get(f"/requests/{first}").get_data(as_text=True)
    assert "Decision: deny" in page and f'href="/requests/{first}/resubmit"' in page
    assert "Harbour plate, dusk" in page  # the reference by its title, not its hash
    form = producer.get(f"/requests/{first}/resubmit")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert f"Edit and resubmit request #{first}" in html and f">{PROMPT}</textarea>" in html
    assert re.search(r'<input type="checkbox" name="people" value="Kit Young" checked>', html)
    assert f'name="resubmission_of" value="{first}"' in html
    # the producer drops the minor the decision refused and submits
    answer = producer.post("/requests/new", {
        "form_key": re.search(r'name="form_key" value="([^"]+)"', html).group(1), "resubmission_of": str(first),
        "production": "harbour-lights", "use": "final_frame", "territory": "GB", "model": studio["model"],
        "prompt": PROMPT, "references": [studio["plate"]], "steps": "4", "width": "64", "height": "64"})
    assert answer.status_code == 302
    second = int(answer.headers["Location"].rsplit("/", 1)[1])
    assert GenerationRequest.get_by_id(second).resubmission_of == first
    new_page = producer.get(f"/requests/{second}").get_data(as_text=True)
    old_page = producer.get(f"/requests/{first}").get_data(as_text=True)
    assert f'href="/requests/{first}">request #{first}</a>' in new_page
    assert f'href="/requests/{second}">request #{second}</a>' in old_page
    assert PROMPT not in caplog.text


def test_no_one_else_opens_a_requesters_denied_request_to_edit(browser, studio, app):
    """Insider attack: another producer of the same production, an approver and legal ask for
    pat's denied request's edit form (which would show its prompt): all refused, no prompt."""
    _, first = denied(browser, studio)
    add_user("pia-producer", ["producer"], ["harbour-lights"])
    pia = Browser(app.test_client())
    assert pia.sign_in(issue_token("pia-producer")["token"]).status_code == 302
    refused = pia.get(f"/requests/{first}/resubmit")
    assert refused.status_code == 404 and PROMPT not in refused.get_data(as_text=True)
    assert "/resubmit" not in pia.get(f"/requests/{first}").get_data(as_text=True)
    for user in ("ada-approver", "lee-legal"):
        answer = browser(user).get(f"/requests/{first}/resubmit")
        assert answer.status_code == 403 and PROMPT not in answer.get_data(as_text=True)


def test_a_resubmission_naming_someone_elses_request_records_nothing(browser, studio, app):
    """Insider attack: posting the form with resubmission_of set to another requester's request."""
    _, first = denied(browser, studio)
    add_user("pia-producer", ["producer"], ["harbour-lights"])
    pia = Browser(app.test_client())
    pia.sign_in(issue_token("pia-producer")["token"])
    before = GenerationRequest.select().count()
    pia.get("/requests/new")
    answer = pia.post("/requests/new", {
        "resubmission_of": str(first), "production": "harbour-lights", "use": "previs", "territory": "GB",
        "model": studio["model"], "prompt": "mine", "steps": "4", "width": "64", "height": "64"})
    assert answer.status_code == 404 and f"No request #{first} of yours" in answer.get_data(as_text=True)
    assert GenerationRequest.select().count() == before


def test_a_request_that_was_allowed_is_not_edited_and_resubmitted(browser, studio):
    producer = browser("pat-producer")
    allowed = submit(producer, studio, use="previs", references=[])
    request_id = int(allowed.headers["Location"].rsplit("/", 1)[1])
    assert "/resubmit" not in producer.get(f"/requests/{request_id}").get_data(as_text=True)
    answer = producer.get(f"/requests/{request_id}/resubmit")
    assert answer.status_code == 409 and "only a denied or rejected request" in answer.get_data(as_text=True)


def test_the_requests_list_pages_older_requests_and_filters_by_status_and_use(browser, studio, monkeypatch):
    from governance.web import requests as pages
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    producer = browser("pat-producer")
    made = [int(submit(producer, studio, use="previs", references=[]).headers["Location"].rsplit("/", 1)[1])
            for _ in range(3)]
    _, refused = denied(browser, studio)
    ids = re.compile(r'<td><a href="/requests/(\d+)">')
    first = producer.get("/requests").get_data(as_text=True)
    assert [int(i) for i in ids.findall(first)] == [refused, made[2]]
    older = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert [int(i) for i in ids.findall(producer.get(older).get_data(as_text=True))] == [made[1], made[0]]
    only_denied = producer.get("/requests?status=denied").get_data(as_text=True)
    assert [int(i) for i in ids.findall(only_denied)] == [refused]
    previs = producer.get("/requests?use=previs").get_data(as_text=True)
    assert [int(i) for i in ids.findall(previs)] == [made[2], made[1]]
    assert producer.get("/requests?before=12abc").status_code == 422


def test_the_reference_picker_finds_images_by_title_and_shows_their_thumbnails(browser, studio):
    producer = browser("pat-producer")
    everything = producer.get("/requests/new").get_data(as_text=True)
    assert f'src="/assets/{studio["plate"]}/thumbnail"' in everything
    found = producer.get("/requests/new?find=HARBOUR").get_data(as_text=True)
    picked = found.split('<fieldset class="picker">', 1)[1].split("</fieldset>", 1)[0]
    assert "Harbour plate, dusk" in picked and "Studio training frame" not in picked
    nothing = producer.get("/requests/new?find=no+such+title").get_data(as_text=True)
    assert "No image's title holds “no such title”." in nothing


def test_the_picker_never_lists_another_productions_images(browser, studio, app):
    """Insider attack: a producer of another production searches the picker for A's image."""
    from governance.registry import assets
    from tests.provenance.conftest import png
    mine, _ = assets.register_asset(png(77), media_type="image/png", title="Harbour secret still",
                                    production="harbour-lights")
    from governance.registry.people import add_production
    add_production("northern-line")
    add_user("nora-producer", ["producer"], ["northern-line"])
    nora = Browser(app.test_client())
    assert nora.sign_in(issue_token("nora-producer")["token"]).status_code == 302
    html = nora.get("/requests/new?find=secret").get_data(as_text=True)
    assert "Harbour secret still" not in html and mine["sha256"] not in html
    assert "Harbour secret still" in browser("pat-producer").get("/requests/new?find=secret").get_data(as_text=True)


def test_the_api_records_a_resubmission_through_the_same_path(browser, studio, app):
    from tests.api.conftest import auth
    _, first = denied(browser, studio)
    body = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": studio["model"],
            "prompt": "edited", "references": [], "people": [], "resubmission_of": first}
    client = app.test_client()
    answer = client.post("/api/v1/requests", json=body, headers=auth(studio["tokens"]["pat-producer"]))
    assert answer.status_code == 201, answer.json
    assert GenerationRequest.get_by_id(answer.json["request"]["id"]).resubmission_of == first
    add_user("pia-producer", ["producer"], ["harbour-lights"])
    theirs = client.post("/api/v1/requests", json=body, headers=auth(issue_token("pia-producer")["token"]))
    assert theirs.status_code == 404 and f"no request #{first} of yours" in theirs.json["detail"]


def _two_show_producer(app) -> Browser:
    from governance.registry.people import add_production
    add_production("northern-line")
    add_user("max-producer", ["producer"], ["harbour-lights", "northern-line"])
    max_ = Browser(app.test_client())
    assert max_.sign_in(issue_token("max-producer")["token"]).status_code == 302
    return max_


def test_a_resubmission_into_another_production_is_refused_and_records_nothing(browser, studio, app):
    """Insider attack: a producer of two shows edits a denied request of one into the other, so
    the other show's page would link to a request of a production its producers cannot see."""
    max_ = _two_show_producer(app)
    location = submit(max_, studio, people=["Kit Young"]).headers["Location"]
    first = int(location.rsplit("/", 1)[1])
    before = GenerationRequest.select().count()
    max_.get(f"/requests/{first}/resubmit")
    answer = max_.post("/requests/new", {
        "resubmission_of": str(first), "production": "northern-line", "use": "previs", "territory": "GB",
        "model": studio["model"], "prompt": "moved", "steps": "4", "width": "64", "height": "64"})
    assert answer.status_code == 422 and "a resubmission stays in that production" in answer.get_data(as_text=True)
    assert GenerationRequest.select().count() == before


def test_a_reference_of_another_production_is_shown_by_hash_not_title(browser, studio, app):
    """A producer of two shows puts one show's still on the other's request: the other show's
    producers see that reference's hash only, never its title (on the page or in a search)."""
    from governance.registry.assets import register_asset
    from tests.api.test_flow import png
    max_ = _two_show_producer(app)
    secret, _ = register_asset(png(11), media_type="image/png", title="Northern Line secret set",
                               production="northern-line")
    location = submit(max_, studio, use="previs", references=[secret["sha256"]]).headers["Location"]
    pat_page = browser("pat-producer").get(location).get_data(as_text=True)
    assert secret["sha256"][:12] in pat_page and "Northern Line secret set" not in pat_page
    assert "Northern Line secret set" in max_.get(location).get_data(as_text=True)

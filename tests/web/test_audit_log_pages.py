"""The auditor's audit-log pages: browse newest first, filter (time, actor, action, subject),
page on, open an entry with its chain links and checkpoint, list checkpoints, export CSV and
JSON Lines; the API's ``/audit/entries`` answers the same entries. And the insider attacks:
other roles exporting, spreadsheet formulas in exported cells, markup in entries, hostile
filter values, a forged verify form."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from governance.audit import log
from governance.audit.log import entry_body
from governance.audit.tables import AuditEntry
from governance.canonical import digest
from governance.credentials.keys import KeyStore
from governance.db import transaction

DASH = "\N{EN DASH}"


def record(action: str, subject: str, actor: str) -> int:
    """Record one entry in a transaction of its own; its number (appended at the commit)."""
    with transaction():
        log.record(action, subject, {"why": "test"}, actor=actor)
    return newest_seq()


def newest_seq() -> int:
    return int(AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1).scalar())


def test_the_auditor_browses_filters_in_any_case_and_opens_an_entry(browser):
    seq = record("request.decided", "request:4242", "Pat-Producer")
    auditor = browser("aud-auditor")
    page = auditor.get("/audit").get_data(as_text=True)
    assert f'href="/audit/entries/{newest_seq()}"' in page and "Verify the audit log" in page
    assert '<option value="request.decided">' in page  # the action choices come from the log
    filtered = auditor.get("/audit?actor=pat-PRODUCER&subject=REQUEST:4242").get_data(as_text=True)
    assert f'href="/audit/entries/{seq}"' in filtered and filtered.count('href="/audit/entries/') == 1
    entry = auditor.get(f"/audit/entries/{seq}")
    text = entry.get_data(as_text=True)
    assert entry.status_code == 200 and "request:4242" in text and "its content still matches it" in text
    assert f'href="/audit/entries/{seq - 1}"' in text and "No signed checkpoint covers this entry yet" in text


def test_pages_of_entries_link_older_and_newer_keeping_the_filters(browser):
    for i in range(60):
        record("person.added", f"person:{i}", "lee-legal")
    auditor = browser("aud-auditor")
    first = auditor.get("/audit?actor=lee-legal").get_data(as_text=True)
    assert "Older entries" in first and "Newer entries" not in first
    older_link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "actor=lee-legal" in older_link and "before=" in older_link
    second = auditor.get(older_link).get_data(as_text=True)
    assert "Newer entries" in second and second.count('href="/audit/entries/') >= 10


def test_the_checkpoints_page_names_each_signer_and_the_entries_it_covers(app, browser):
    store = KeyStore(app.config["SLATE_SETTINGS"])
    store.ensure()
    with transaction():
        log.checkpoint(store.file_signer(store.active_key()))
    size = newest_seq()
    auditor = browser("aud-auditor")
    page = auditor.get("/audit/checkpoints").get_data(as_text=True)
    assert f"1{DASH}{size}" in page and "Slate content credentials signer" in page
    assert "BEGIN CERTIFICATE" not in page
    entry = auditor.get(f"/audit/entries/{size}").get_data(as_text=True)
    assert f"entries 1{DASH}{size}" in entry and "Slate content credentials signer" in entry


def test_the_verification_says_which_check_failed_and_links_the_first_bad_entry(browser):
    record("person.added", "person:1", "lee-legal")
    auditor = browser("aud-auditor")
    auditor.get("/audit")
    honest = auditor.post("/audit").get_data(as_text=True)
    assert "The audit log is intact" in honest and honest.count("Passed") == 3
    bad = newest_seq() - 3
    AuditEntry.update(data={"why": "edited"}).where(AuditEntry.seq == bad).execute()
    broken = auditor.post("/audit").get_data(as_text=True)
    assert "The audit log is NOT intact" in broken and f"entry {bad} was edited" in broken
    assert f'href="/audit/entries/{bad}"' in broken and broken.count("Not checked: an earlier check failed") == 2


def rows_of(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_export_holds_the_filtered_entries_newest_first_with_a_stable_header(browser):
    first = record("request.decided", "request:1", "pat-producer")
    second = record("request.decided", "request:2", "pat-producer")
    response = browser("aud-auditor").get("/audit/export.csv?actor=Pat-Producer&action=request.decided")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="slate-audit-log.csv"'
    rows = rows_of(response)
    assert rows[0] == ["seq", "at", "actor", "action", "subject", "data", "prev_hash", "entry_hash"]
    assert [r[0] for r in rows[1:]] == [str(second), str(first)]
    assert json.loads(rows[1][5]) == {"why": "test"}


def test_a_formula_in_an_actor_or_subject_is_neutralised_in_the_csv(browser):
    """CSV injection: a name an insider chose must not run in the auditor's spreadsheet."""
    record("person.added", "=HYPERLINK(\"http://evil.example\",\"x\")", "+cmd|' /C calc'!A0")
    record("person.added", "@SUM(1+1)", "-2+3")
    rows = rows_of(browser("aud-auditor").get("/audit/export.csv?action=person.added"))
    cells = [cell for row in rows[1:] for cell in (row[2], row[4])]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells and "'+cmd|' /C calc'!A0" in cells
    assert "'@SUM(1+1)" in cells and "'-2+3" in cells
    assert not any(cell[:1] in "=+-@" for cell in cells)


def test_each_json_lines_entry_is_exactly_as_hashed(browser):
    record("person.added", "person:ü", "lee-legal")
    response = browser("aud-auditor").get("/audit/export.jsonl")
    lines = response.get_data(as_text=True).splitlines()
    assert response.status_code == 200 and len(lines) == AuditEntry.select().count()
    entries = [json.loads(line) for line in lines]
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)
    for e in entries:
        body = entry_body(e["seq"], AuditEntry.get(AuditEntry.seq == e["seq"]).at, e["actor"], e["action"],
                          e["subject"], e["data"], e["prev_hash"])
        assert digest(body) == e["entry_hash"]


@pytest.mark.parametrize("path", ["/audit?actor=lee-legal", "/audit/export.csv", "/audit/export.jsonl",
                                  "/audit/checkpoints", "/audit/entries/1"])
def test_no_one_but_an_auditor_reads_or_exports_the_log_through_the_pages(browser, path):
    for user in ("pat-producer", "lee-legal", "ada-approver", "root-admin", "gen-only"):
        response = browser(user).get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 403 and "this page is for the roles: auditor" in body.lower(), user
        assert "token.issued" not in body and "seq,at,actor" not in body


def test_an_export_left_unread_lends_its_auditor_to_no_later_request(app, browser):
    """A streamed download must not keep its request's context (and its signed-in principal)
    alive: the next request on the thread, by a producer, is still refused."""
    auditor, producer = browser("aud-auditor"), browser("pat-producer")
    unread = auditor.client.get("/audit/export.csv")
    assert unread.status_code == 200
    for path in ("/audit/export.csv", "/audit/export.jsonl", "/audit"):
        assert producer.get(path).status_code == 403, path
    assert unread.get_data(as_text=True).startswith("seq,at,actor")


def test_a_signed_out_visitor_asking_for_the_export_is_sent_to_sign_in(browser):
    response = browser().get("/audit/export.csv")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_markup_in_an_entry_is_shown_as_text_never_run(browser):
    seq = record("person.added", "<script>alert(1)</script>", "<img src=x onerror=alert(2)>")
    auditor = browser("aud-auditor")
    for path in ("/audit", f"/audit/entries/{seq}"):
        body = auditor.get(path).get_data(as_text=True)
        assert "<script>alert(1)</script>" not in body and "<img src=x" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


HOSTILE = [
    ("since=yesterday", "&#39;since&#39; is not a date"), ("actor=" + "x" * 201, "actor is at most 200 characters"),
    ("subject=a%0Ab", "subject may not hold control characters"),
    ("since=2026-03-02&until=2026-03-01", "&#39;since&#39; must be before &#39;until&#39;"),
]
CURSORS = [("before=-1", "&#39;before&#39; is an entry number"),
           ("before=99999999999999999999", "&#39;before&#39; is an entry number"),
           ("after=1e3", "&#39;after&#39; is an entry number")]


@pytest.mark.parametrize("path", ["/audit", "/audit/export.csv", "/audit/export.jsonl"])
def test_hostile_filter_values_answer_a_422_page_in_words_never_a_500(browser, path):
    auditor = browser("aud-auditor")
    for query, words in HOSTILE + (CURSORS if path == "/audit" else []):
        response = auditor.get(f"{path}?{query}")
        body = response.get_data(as_text=True)
        assert response.status_code == 422 and response.mimetype == "text/html", query
        assert words.lower() in body.lower(), query
        assert "Traceback" not in body


def test_an_entry_number_that_does_not_exist_answers_404_in_words(browser):
    response = browser("aud-auditor").get("/audit/entries/999999")
    assert response.status_code == 404
    assert "the audit log has no entry 999999" in response.get_data(as_text=True).lower()


def test_a_forged_verify_form_is_refused(browser):
    auditor = browser("aud-auditor")
    auditor.get("/audit")
    response = auditor.client.post("/audit", data={"csrf_token": "forged"})
    assert response.status_code == 400 and "nothing was done" in response.get_data(as_text=True)


def test_the_api_answers_the_same_filtered_entries_as_the_page_and_only_to_auditors_and_admins(app, studio):
    seq = record("request.decided", "request:77", "Pat-Producer")
    client = app.test_client()

    def get(user: str, query: str) -> Any:
        return client.get(f"/api/v1/audit/entries?{query}",
                          headers={"Authorization": f"Bearer {studio['tokens'][user]}"})
    answer = get("aud-auditor", "actor=pat-producer&subject=REQUEST:77")
    assert answer.status_code == 200 and [e["seq"] for e in answer.get_json()["entries"]] == [seq]
    assert get("root-admin", "").status_code == 200
    assert get("pat-producer", "").status_code == 403
    assert get("aud-auditor", "since=nope").status_code == 422
    detail = client.get(f"/api/v1/audit/entries/{seq}",
                        headers={"Authorization": f"Bearer {studio['tokens']['aud-auditor']}"}).get_json()
    assert detail["entry"]["subject"] == "request:77" and detail["hash_matches"] is True


@pytest.mark.parametrize("query", ["until=9999-12-31", "since=0001-01-01T00:00:00%2B05:00", "before=%C2%B2",
                                   "after=%C2%B2"])
def test_dates_at_the_calendars_ends_and_unicode_digits_are_a_422_not_a_500(browser, app, studio, query):
    response = browser("aud-auditor").get(f"/audit?{query}")
    assert response.status_code == 422 and "Traceback" not in response.get_data(as_text=True)
    if query.startswith(("until", "since")):
        api = app.test_client().get(f"/api/v1/audit/entries?{query}",
                                    headers={"Authorization": f"Bearer {studio['tokens']['aud-auditor']}"})
        assert api.status_code == 422 and api.mimetype == "application/problem+json"
    assert browser("aud-auditor").get("/audit/checkpoints?before=%C2%B2").status_code == 422

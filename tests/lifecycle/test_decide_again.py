"""A request decided under one policy version is never signed under it once another is
published: the sign-off is refused (409, saying what to do), and deciding it again under the
published version is the one way on (API, CLI and pages share ``lifecycle.decide_again``)."""

from __future__ import annotations

from typing import Any, Callable

from governance.audit.tables import AuditEntry
from governance.jobs.tables import Approval, Job
from governance.policy import versions
from governance.policy.tables import DecisionRecord
from tests.api.conftest import auth
from tests.policy.conftest import NEXT_VERSION, policy_text

REF = "urn:slate:policy:studio-default"
#: a final frame from the demo plate: policy routes it to an approver and to legal
ASK = {"production": "harbour-lights", "use": "final_frame", "territory": "GB", "model": "studio:1",
       "prompt": "the harbour wall at dawn, wide shot"}


def publish(edit: Callable[[str], str] = lambda t: t, version: int = NEXT_VERSION) -> None:
    versions.add_version(policy_text(version, edit=edit), "lee-legal")
    versions.approve_version(f"{REF}@{version}", "lou-legal")
    versions.publish_version(f"{REF}@{version}", "lou-legal")


def ask(app: Any, studio: dict[str, Any]) -> int:
    asked = app.test_client().post("/api/v1/requests", json={**ASK, "references": [studio["plate"]]},
                                   headers=auth(studio["tokens"]["pat-producer"]))
    assert asked.status_code == 201 and asked.json["status"] == "awaiting_approval", asked.json
    return int(asked.json["request"]["id"])


def sign(app: Any, studio: dict[str, Any], user: str, request_id: int, verdict: str = "approved") -> Any:
    return app.test_client().post(f"/api/v1/requests/{request_id}/approval",
                                  json={"verdict": verdict, "comment": "looked at it"},
                                  headers=auth(studio["tokens"][user]))


def again(app: Any, studio: dict[str, Any], user: str, request_id: int) -> Any:
    return app.test_client().post(f"/api/v1/requests/{request_id}/redecision", headers=auth(studio["tokens"][user]))


def test_a_request_decided_under_v_old_is_never_signed_under_it_after_v_new_is_published(app, studio):
    request_id = ask(app, studio)
    assert sign(app, studio, "lee-legal", request_id).status_code == 200  # under v7, while v7 is published
    publish()
    for user in ("ada-approver", "lou-legal"):
        refused = sign(app, studio, user, request_id)
        assert refused.status_code == 409, refused.json
        assert f"version {NEXT_VERSION} is published since, so it cannot be signed under version" in \
            refused.json["detail"]
        assert "decide it again" in refused.json["hint"]
    assert [a.approver for a in Approval.select().where(Approval.request == request_id)] == ["lee-legal"]
    assert not Job.select().where(Job.request == request_id).exists()
    assert not AuditEntry.select().where(AuditEntry.action == "request.approved").exists()


def test_deciding_again_puts_the_request_under_the_published_version_and_its_sign_offs_start_over(app, studio):
    request_id = ask(app, studio)
    assert sign(app, studio, "lee-legal", request_id).status_code == 200
    publish()
    decided = again(app, studio, "ada-approver", request_id)
    assert decided.status_code == 200, decided.json
    assert decided.json["decision"]["policy"]["version"] == NEXT_VERSION
    assert decided.json["status"] == "awaiting_approval" and decided.json["signoffs"] == []
    assert AuditEntry.select().where(AuditEntry.action == "request.decided_again").count() == 1
    assert sign(app, studio, "ada-approver", request_id).status_code == 200
    done = sign(app, studio, "lee-legal", request_id)  # legal's sign-off under v7 counts no more: again
    assert done.status_code == 200 and done.json["status"] == "queued", done.json
    job = Job.get(Job.request == request_id)
    assert job.decision.policy_version.version == NEXT_VERSION


def test_a_re_decision_that_allows_queues_the_job_and_one_that_denies_ends_the_request(app, studio):
    allowed, denied = ask(app, studio), ask(app, studio)
    # final frames no longer need sign-offs; 'harbour' becomes a forbidden word
    publish(lambda t: t.replace("release_uses: [final_frame, marketing]", "release_uses: [marketing]"))
    first = again(app, studio, "ada-approver", allowed)
    assert first.status_code == 200 and first.json["status"] == "queued", first.json
    assert Job.get(Job.request == allowed).decision.policy_version.version == NEXT_VERSION
    publish(lambda t: t.replace("forbidden_terms: [nude,", "forbidden_terms: [harbour, nude,"), NEXT_VERSION + 1)
    second = again(app, studio, "ada-approver", denied)
    assert second.status_code == 200 and second.json["status"] == "denied", second.json
    assert "prompt-forbidden-terms" in {v["rule"] for v in second.json["decision"]["violations"]}
    assert not Job.select().where(Job.request == denied).exists()


def test_only_someone_who_could_sign_it_may_decide_it_again_and_only_when_the_policy_changed(app, studio):
    request_id = ask(app, studio)
    unchanged = again(app, studio, "ada-approver", request_id)
    assert unchanged.status_code == 409 and "published version" in unchanged.json["detail"]
    publish()
    before = DecisionRecord.select().count()
    assert again(app, studio, "pat-producer", request_id).status_code == 403  # the requester
    assert again(app, studio, "aud-auditor", request_id).status_code == 403  # meets no requirement
    assert DecisionRecord.select().count() == before


def test_a_stale_decision_can_still_be_rejected(app, studio):
    request_id = ask(app, studio)
    publish()
    rejected = sign(app, studio, "ada-approver", request_id, "rejected")
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert again(app, studio, "lee-legal", request_id).status_code == 409  # nothing awaits any more


def test_the_cli_refuses_the_stale_sign_off_and_decides_again_as_the_api_does(app, studio, monkeypatch):
    import json

    from click.testing import CliRunner

    from governance.cli import cli
    settings = app.config["SLATE_SETTINGS"]
    monkeypatch.setenv("SLATE_HOME", str(settings.home))
    monkeypatch.setenv("SLATE_POLICIES_DIR", str(settings.policies_dir))
    for name in ("SLATE_DATABASE_URL", "SLATE_DATA_DIR", "SLATE_KEYS_DIR", "SLATE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    request_id = ask(app, studio)
    publish()
    run = CliRunner()
    refused = run.invoke(cli, ["request", "approve", str(request_id), "--by", "ada-approver"])
    assert refused.exit_code != 0 and "cannot be signed under version" in refused.output
    by_requester = run.invoke(cli, ["request", "decide-again", str(request_id), "--by", "pat-producer"])
    assert by_requester.exit_code != 0 and "your own request" in by_requester.output
    again_ = run.invoke(cli, ["request", "decide-again", str(request_id), "--by", "ada-approver", "--json"])
    assert again_.exit_code == 0, again_.output
    assert json.loads(again_.output)["decision"]["policy"]["version"] == NEXT_VERSION

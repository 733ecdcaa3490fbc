"""Every operation in the OpenAPI document, called by a producer of one production with the
identifiers of another's records: zero cross-production reads, zero cross-production writes,
and no producer anywhere writes a consent, a licence or a takedown.

Production A is harbour-lights (the demo studio with signed outputs, plus an asset and a
licence only it uses); production B is northern-line, whose producer nia belongs to no
other. For each operation the test fills the path with A's identifiers (a table below; a
new parameter without an entry fails the test, so every new route gets a decision), sends
a body that aims at A's records, and checks that:

- nothing A owns appears anywhere in nia's answers (names, hashes, job ids, licence refs,
  document hashes, the production's own name);
- no write by nia succeeds, and afterwards every registry, request, job and ledger row, and
  the audit log, are exactly as before;
- the same reads work for A's own producer, pat, and show A's records (so a 404 for nia is
  a refusal, not a typo in the test);
- every rights write answers 403 to both producers.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from PIL import Image

from governance.auth.users import add_user, issue_token, principal_named
from governance.db import database
from governance.jobs.tables import Job
from governance.ledger.tables import Output
from governance.policy.tables import GenerationRequest
from governance.registry import assets, licences, training_sets
from governance.registry.tables import Consent, ConsentDocument, Person
from tests import workers
from tests.api.conftest import auth
from tests.provenance.conftest import (  # noqa: F401 (fixtures)
    provenance_signed_stage,
    provenance_studio_stage,
    signed,
    studio,
)
from tests.rights import LEE

A, B = "harbour-lights", "northern-line"
#: tables whose rows must not change, and the audit log, which must not grow
GUARDED = ["production", "person", "person_production", "consent", "consent_event", "consent_document", "licence",
           "asset", "asset_person", "training_set", "training_set_member", "model", "generation_request",
           "decision", "approval", "job", "request_params", "output", "output_facet", "audit_entry",
           "membership", "user", "api_token", "policy_version", "signing_key", "catalogue_version",
           "catalogue_review"]
#: writes that record the facts deciding requests: refused to every producer
RIGHTS_WRITES = {
    "POST /api/v1/consents", "POST /api/v1/consent-documents", "POST /api/v1/consents/{consent_id}/confirm",
    "POST /api/v1/consents/{consent_id}/revoke", "POST /api/v1/licences", "POST /api/v1/licences/{ref}/takedown",
    "POST /api/v1/assets/{ref}/licence", "POST /api/v1/training-sets", "POST /api/v1/models",
    "POST /api/v1/models/{ref}/status", "POST /api/v1/people/{ref}/productions",
    "POST /api/v1/assets/{ref}/production", "POST /api/v1/people/{ref}/death",
}
#: POSTs that compute an answer and write nothing: verifying a file the caller holds, checking a proof
NOT_WRITES = {"/api/v1/verify", "/api/v1/proofs/verify"}
#: lists whose answer to pat must show A's records (so that nia's empty answer means something)
OWN_LISTS = {"/api/v1/consents": "Mara Quinn", "/api/v1/people": "Kit Young", "/api/v1/assets": "a_asset",
             "/api/v1/licences": "LIC-HARBOUR", "/api/v1/requests": A, "/api/v1/provenance/outputs": "a_output",
             "/api/v1/productions": A}


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (9, 90, 200)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def world(signed):
    add_user("nia-producer", ["producer"], [B])
    signed.tokens["nia-producer"] = issue_token("nia-producer")["token"]
    own, _ = assets.register_asset(b"harbour-only storyboard", media_type="image/png", title="Storyboard 7",
                                   production=A, by=None)
    licences.add_licence("LIC-HARBOUR", "Harbour Archive", grants=["ai_reference", "previs"], territories=["GB"],
                         starts_on=signed_start(), by=LEE)
    assets.set_licence(own["sha256"], "LIC-HARBOUR", by=LEE)
    training_sets.create_training_set("harbour-set", [(own["sha256"], None)], by=LEE)
    from governance.lifecycle.training_runs import TrainingRequest, request_run
    from governance.registry import base_models
    base_models.register_base("sd-base", "5d" * 32, licence="CreativeML OpenRAIL-M",
                              training_data="the maker's statement", by=LEE)
    run = request_run(TrainingRequest(A, "harbour-set", "lora", "harbour-lora", "1", base="sd-base"),
                      principal_named("pat-producer", "producer"))
    mara = Consent.select().join(Person).where(Person.name == "Mara Quinn").get()
    job = Job.select().join(GenerationRequest).where(GenerationRequest.production == A).first()
    from governance.jobs.tables import OutputReview
    review = OutputReview.get(OutputReview.output_sha256 == signed.outputs["mara"])
    signed.ids = {  # type: ignore[attr-defined]
        "consent_id": str(mara.id), "request_id": str(job.request_id), "job_id": job.id,
        "output": signed.outputs["mara"], "asset": own["sha256"], "review_id": review.id,
        "manifest": Output.get(Output.sha256 == signed.outputs["mara"]).manifest_label, "run": run.uid,
    }
    signed.markers = {  # type: ignore[attr-defined]
        A, "Mara Quinn", "Kit Young", "Sam Young", "LIC-HARBOUR", "Storyboard 7", own["sha256"],
        *signed.outputs.values(), *(j.id for j in Job.select()),
        *(d.sha256 for d in ConsentDocument.select()),
        *(Output.get(Output.sha256 == sha).manifest_label for sha in signed.outputs.values()),
    }
    return signed


def signed_start():
    from datetime import date
    return date(2020, 1, 1)


#: identifiers of records that do not exist, per place (what a hidden record must look like)
MISSING = {("consents", "consent_id"): "999999", ("consents", "ref"): "999999", ("people", "ref"): "Nobody Here",
           ("licences", "ref"): "LIC-NOPE",
           ("assets", "ref"): "f" * 64, ("outputs", "sha256"): "0" * 64, ("requests", "request_id"): "999999",
           ("jobs", "job_id"): "job_" + "0" * 32, ("proof", "asset_sha256"): "f" * 64,
           ("output-reviews", "review_id"): "or_" + "0" * 32,
           ("manifests", "manifest_id"): "urn:c2pa:00000000-0000-4000-8000-000000000000",
           ("training-runs", "uid"): "run_" + "0" * 32, ("productions", "production"): "no-such-production"}


def concrete(world, template: str, missing: bool = False) -> str:
    """The path with A's identifiers in it (or, with ``missing``, identifiers of nothing)."""
    ids = world.ids
    by_place = {
        ("consents", "consent_id"): ids["consent_id"], ("consents", "ref"): ids["consent_id"],
        ("people", "ref"): "Mara Quinn",
        ("licences", "ref"): "LIC-HARBOUR", ("assets", "ref"): ids["asset"], ("models", "ref"): "slate-studio:1",
        ("outputs", "sha256"): ids["output"], ("requests", "request_id"): ids["request_id"],
        ("jobs", "job_id"): ids["job_id"], ("training-sets", "name"): "harbour-set",
        ("proof", "asset_sha256"): ids["asset"], ("policies", "ref"): "urn:slate:policy:studio-default",
        ("diff", "new"): "urn:slate:policy:studio-default", ("policies", "old"): "urn:slate:policy:studio-default",
        ("keys", "fingerprint"): "0" * 16, ("tokens", "token_id"): "1", ("productions", "ref"): A,
        # A's clearance report, payables and budget
        ("productions", "production"): A,
        ("versions", "version"): "1", ("users", "name"): "pat-producer",
        ("identities", "name"): "ada-approver",  # identity certificates are an admin's: producers are refused by role
        ("workers", "key"): "1",  # a worker key belongs to no production: producers are refused by role
        # legal's policy test cases are studio-wide and legal's to write: producers are refused by role
        ("policy-test-cases", "case_id"): "1",
        # a base model is studio-wide (legal registers it; every registry reader reads it)
        ("base-models", "ref"): "sd-base",
        # the training run pat asked for in A (refused: its member is not licensed for AI training)
        ("training-runs", "uid"): ids["run"],
        # a reproduction sample is a generator's to claim: producers are refused by role
        ("reproductions", "sample_id"): "rs_" + "0" * 32,
        # the output review of A's signed output (allowed at once); reviewers and auditors read them all
        ("output-reviews", "review_id"): ids["review_id"],
        # the manifest store of A's signed output, in Slate's manifest repository
        ("manifests", "manifest_id"): ids["manifest"],
        # the audit log is auditors' and admins': producers are refused by role
        ("entries", "seq"): "1",
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        before = template[:match.start()].rstrip("/").split("/")
        for place in reversed(before):
            if missing and (place, name) in MISSING:
                return MISSING[(place, name)]
            if (place, name) in by_place:
                return by_place[(place, name)]
        raise AssertionError(f"no identifier of production A for {{{name}}} in {template}: add one to the table")

    return re.sub(r"\{([a-z_0-9]+)\}", fill, template)


def body(world, method: str, template: str) -> dict[str, Any]:
    """Keyword arguments for the test client: a body aimed at A's records."""
    ids = world.ids
    multipart = {
        "/api/v1/assets": {"file": (io.BytesIO(b"intruder"), "x.png", "image/png"), "title": "x", "production": A},
        "/api/v1/consent-documents": {"file": (io.BytesIO(b"%PDF-1.4\n%%EOF"), "c.pdf", "application/pdf")},
        "/api/v1/sign": {"image": (io.BytesIO(png()), "o.png", "image/png"), "job_id": ids["job_id"],
                         "model_identity": "b" * 64, "environment": "{}",
                         "receipt": workers.receipt(world.tokens["gpu-worker"], ids["job_id"], png())},
        "/api/v1/verify": {"file": (io.BytesIO(png()), "v.png", "image/png")},
    }
    if method == "POST" and template in multipart:
        return {"content_type": "multipart/form-data", "data": multipart[template]}
    samples = {
        "/api/v1/people": {"name": "Intruder", "productions": [A]},
        "/api/v1/people/{ref}/productions": {"production": B},
        "/api/v1/people/{ref}/death": {"deceased_on": "2024-01-01"},
        "/api/v1/consents": {"person": "Kit Young", "uses": ["likeness"], "productions": [A], "territories": ["GB"],
                             "valid_from": "2026-01-01", "valid_until": "2030-01-01", "document_sha256": "ab" * 32,
                             "guardian_signed": True, "guardian_name": "Made Up", "guardian_relationship": "aunt"},
        "/api/v1/consents/{consent_id}/revoke": {"reason": "withdrawn"},
        "/api/v1/licences/{ref}/takedown": {"reason": "complaint"},
        "/api/v1/assets/{ref}/licence": {"licence": "LIC-HARBOUR"},
        "/api/v1/assets/{ref}/production": {"production": B},
        "/api/v1/requests": {"production": A, "use": "previs", "territory": "GB", "model": "slate-studio:1",
                             "prompt": "x", "references": [ids["asset"]], "people": ["Mara Quinn"]},
        "/api/v1/requests/{request_id}/approval": {"verdict": "approved", "comment": "x"},
        "/api/v1/jobs/{job_id}/fail": {"reason": "x"},
        "/api/v1/productions": {"name": "x-production"},
        "/api/v1/training-sets": {"name": "stolen", "members": [{"asset": ids["asset"]}]},
        "/api/v1/models": {"name": "m", "version": "1", "weights_hash": "a" * 64},
        "/api/v1/models/{ref}/status": {"status": "retired", "reason": "x"},
        "/api/v1/catalogue/versions": {"text": "uid: x\nversion: 9\nattributes: {production: {tier: {type: string}}}"},
        **{f"/api/v1/{collection}/{{ref}}/attributes": {"attributes": {"tier": "top"}}
           for collection in ("licences", "consents", "people", "assets", "productions")},
    }
    return {"json": samples.get(template, {})}


def variants(world, method: str, template: str) -> list[str]:
    """Query strings that aim a list at A's records."""
    ids = world.ids
    queries = {
        "/api/v1/provenance/impact": [f"consent={ids['consent_id']}", "licence=LIC-HARBOUR"],
        "/api/v1/provenance/outputs": ["", "person=Mara%20Quinn", "person=mara%20quinn", "production=HARBOUR-LIGHTS",
                                       f"asset={ids['asset']}", f"production={A}",
                                       f"consent={ids['consent_id']}", "licence=LIC-HARBOUR"],
        "/api/v1/consents": ["", "person=Mara%20Quinn", "status=pending"],
        "/api/v1/assets": ["", "person=Mara%20Quinn", "licence=LIC-HARBOUR"],
        "/api/v1/audit/consistency": ["from=1"],
        "/api/v1/audit/entries": ["", f"subject=request:{ids['request_id']}", f"actor={A}"],
    }
    path = concrete(world, template)
    if method != "GET":
        return [path]
    return [f"{path}?{q}" if q else path for q in queries.get(template, [""])]


def operations(client) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json
    return [(method.upper(), path) for path, item in sorted(spec["paths"].items())
            for method in sorted(item) if method in ("get", "post", "put", "patch", "delete")]


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    return {table: database.execute_sql(f"SELECT * FROM {table} ORDER BY 1").fetchall() for table in GUARDED}


def call(world, who: str, method: str, url: str, **kw: Any):
    return world.client.open(url, method=method, headers=auth(world.tokens[who]), **kw)


def leaked(world, response, asked: str) -> list[str]:
    """A's markers in an answer, other than those the caller sent (an error may name what it was given)."""
    text = response.get_data(as_text=True)
    return sorted(m for m in world.markers if m in text and m not in asked)


def test_no_producer_reads_or_writes_another_productions_records(world):
    ops = operations(world.client)
    assert len(ops) > 60
    before = snapshot()
    failures, calls = [], 0
    for method, template in ops:
        for url in variants(world, method, template):
            sent = body(world, method, template)
            response = call(world, "nia-producer", method, url, **sent)
            fields = {k: v for k, v in sent.get("data", {}).items() if isinstance(v, str)}
            asked = url.replace("%20", " ") + json.dumps(sent.get("json", {})) + json.dumps(fields)
            calls += 1
            if method != "GET" and template not in NOT_WRITES and response.status_code < 300:
                failures.append(f"nia's {method} {url} succeeded: {response.status_code}")
            if response.status_code >= 500:
                failures.append(f"nia's {method} {url} crashed: {response.status_code}")
            if leaked(world, response, asked):
                failures.append(f"nia's {method} {url} shows A's {leaked(world, response, asked)}")
    after = snapshot()
    changed = [t for t in GUARDED if before[t] != after[t]]
    print(f"production matrix: {len(ops)} operations, {calls} calls by the other production's producer")
    assert failures == [], "\n".join(failures)
    assert changed == [], f"rows changed by another production's producer: {changed}"


def test_the_same_reads_show_the_owning_producer_their_records(world):
    """The guard against a matrix that cannot fail: A's identifiers are real, and A's lists
    show them to A's producer."""
    missed = []
    for method, template in operations(world.client):
        if method != "GET" or "{" not in template:
            continue
        url = concrete(world, template)
        theirs = call(world, "nia-producer", "GET", url)
        ours = call(world, "pat-producer", "GET", url)
        if theirs.status_code == 403 and ours.status_code == 403:
            continue  # not a producer's route at all
        if theirs.status_code == 200:
            continue  # studio-wide records (models, training sets, policies): checked for leaks above
        if ours.status_code != 200:
            missed.append(f"pat cannot read their own {url}: {ours.status_code}")
    for path, marker in OWN_LISTS.items():
        wanted = {"a_asset": world.ids["asset"], "a_output": world.ids["output"]}.get(marker, marker)
        ours = call(world, "pat-producer", "GET", path)
        if ours.status_code != 200 or wanted not in ours.get_data(as_text=True):
            missed.append(f"pat's {path} does not show {marker}")
        theirs = call(world, "nia-producer", "GET", path)
        assert theirs.status_code == 200 and wanted not in theirs.get_data(as_text=True), path
    assert missed == []


def test_a_hidden_record_answers_exactly_like_a_missing_one(world):
    """No oracle: the other production's record and a record that does not exist get the same
    status and the same words (bar the identifier the caller gave), on every route."""
    compared = 0
    for method, template in operations(world.client):
        if method != "GET" or "{" not in template:
            continue
        hidden_url, missing_url = concrete(world, template), concrete(world, template, missing=True)
        if hidden_url == missing_url:
            continue  # studio-wide records only (models, training sets, policies, keys)
        hidden = call(world, "nia-producer", "GET", hidden_url)
        if hidden.status_code in (200, 403):
            continue  # a studio-wide record, or not a producer's route
        missing = call(world, "nia-producer", "GET", missing_url)
        compared += 1
        assert hidden.status_code == missing.status_code == 404, template
        given = [p for p in hidden_url.replace("%20", " ").split("/") if p]
        absent = [p for p in missing_url.replace("%20", " ").split("/") if p]
        said, said_missing = hidden.json["detail"], missing.json["detail"]
        for ours, theirs in zip(given, absent, strict=True):
            said, said_missing = said.replace(ours, "<id>"), said_missing.replace(theirs, "<id>")
        assert (said, hidden.json.get("hint")) == (said_missing, missing.json.get("hint")), template
    assert compared >= 8


@pytest.mark.parametrize("who", ["pat-producer", "nia-producer"])
def test_no_producer_writes_a_consent_a_licence_or_a_takedown(world, who):
    listed = {f"{m} {p}" for m, p in operations(world.client)}
    assert RIGHTS_WRITES <= listed, RIGHTS_WRITES - listed
    before = snapshot()
    for op in sorted(RIGHTS_WRITES):
        method, template = op.split(" ", 1)
        response = call(world, who, method, concrete(world, template), **body(world, method, template))
        assert response.status_code == 403, f"{who}: {op} answered {response.status_code}"
        assert "legal" in json.dumps(response.json)
    assert snapshot() == before

"""``/api/v1/policies``: legal writes, reviews, tests, diffs, replays and publishes policies."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g

from ..credentials import policy_signatures
from ..lifecycle.output_review import recorded_outputs
from ..lifecycle.policy_publish import publish_preview
from ..policy import cases, versions
from ..policy.compiler import compile_policy
from ..policy.diff import diff_policies
from ..policy.odrl import MEDIA_TYPE, odrl_json
from ..policy.replay import replay
from . import schemas as s
from .access import admits
from .blueprint import SlateBlueprint as Blueprint

blp = Blueprint("policies", __name__, url_prefix="/api/v1", description="Policy versions, review, diff, replay")

READERS = ("legal", "auditor", "approver", "producer", "admin")


def _loaded(ref: str) -> Any:
    row = versions.get_version(ref)
    return versions.compiled(row).policy


@blp.route("/policies", methods=["GET"])
@admits(*READERS)
@blp.response(200, s.PolicyVersionOut(many=True))
def list_policies() -> Any:
    return versions.list_versions()


@blp.route("/policies", methods=["POST"])
@admits("legal")
@blp.arguments(s.PolicyIn)
@blp.response(201, s.PolicyVersionOut)
def add_policy(body: dict[str, Any]) -> Any:
    """Record a new draft version; the caller is its author."""
    return versions.add_version(body["text"].encode("utf-8"), g.principal.name, "the policy text")


@blp.route("/policies/<string:ref>", methods=["GET"])
@admits(*READERS)
@blp.arguments(s.PolicyShowQuery, location="query")
@blp.response(200, s.PolicyVersionOut)
def show_policy(query: dict[str, Any], ref: str) -> Any:
    return versions.show_version(ref, query["text"])


@blp.route("/policies/<string:ref>/odrl", methods=["GET"])
@admits(*READERS)
@blp.response(200, s.OdrlPolicyOut, content_type=MEDIA_TYPE,
              description="the version as an ODRL 2.2 Set in JSON-LD, in Slate's profile")
def policy_odrl(ref: str) -> Any:
    """A version (UID@VERSION) as ODRL 2.2 JSON-LD, for rights systems: each rule's uid is the
    policy's uid, #, and the rule's id; what ODRL cannot say is in the Slate profile."""
    return Response(odrl_json(versions.odrl_export(ref)), mimetype=MEDIA_TYPE)


@blp.route("/policies/<string:ref>/approve", methods=["POST"])
@admits("legal")
@blp.arguments(s.CommentIn)
@blp.response(200, s.PolicyVersionOut)
def approve_policy(body: dict[str, Any], ref: str) -> Any:
    """Approve a draft: only a legal user other than its author may; the approval is signed
    with their identity key in the same transaction."""
    return policy_signatures.approve_and_sign(current_app.config["SLATE_SETTINGS"], ref, g.principal.name,
                                              body["comment"])


@blp.route("/policies/<string:ref>/review", methods=["POST"])
@admits("legal")
@blp.arguments(s.PolicyReviewIn)
@blp.response(200, s.PolicyVersionOut)
def review_policy(body: dict[str, Any], ref: str) -> Any:
    """Reject a version, or send it back for changes, with a comment; never by its author."""
    return versions.review_version(ref, g.principal.name, body["verdict"], body["comment"])


@blp.route("/policies/<string:ref>/publish-preview", methods=["GET"])
@admits("legal")
@blp.response(200, s.PublishPreviewOut)
def preview_publish(ref: str) -> Any:
    """What publishing this version would change; ``confirm`` is what a publish may then name."""
    return publish_preview(ref).to_dict()


@blp.route("/policies/<string:ref>/publish", methods=["POST"])
@admits("legal")
@blp.arguments(s.PublishIn)
@blp.response(200, s.PolicyVersionOut)
def publish_policy(body: dict[str, Any], ref: str) -> Any:
    """Publish an approved version; with ``confirm_sha256``/``confirm_replacing`` (from the
    preview), refused (409) if the text or the published version changed since."""
    return versions.publish_version(ref, g.principal.name, **body)


@blp.route("/policies/<string:ref>/rollback", methods=["POST"])
@admits("legal")
@blp.arguments(s.PublishIn)
@blp.response(200, s.PolicyVersionOut)
def rollback_policy(body: dict[str, Any], ref: str) -> Any:
    """Re-publish the text of an earlier published version (REF) as a new version."""
    return versions.rollback_version(ref, g.principal.name, **body)


@blp.route("/policies/<string:ref>/test-cases", methods=["GET"])
@admits("legal", "auditor", "admin")
@blp.response(200, s.PolicyTestCaseOut(many=True))
def list_test_cases(ref: str) -> Any:
    """Legal's test cases kept in the database for the policy of REF."""
    return [c.to_dict() for c in cases.list_cases(versions.get_version(ref).uid)]


@blp.route("/policies/<string:ref>/test-cases", methods=["POST"])
@admits("legal")
@blp.arguments(s.PolicyTestCaseIn)
@blp.response(201, s.PolicyTestCaseOut)
def add_test_case(body: dict[str, Any], ref: str) -> Any:
    return cases.add_case(versions.get_version(ref).uid, body["name"], body["body"], g.principal.name).to_dict()


@blp.route("/policy-test-cases/<int:case_id>", methods=["PUT"])
@admits("legal")
@blp.arguments(s.PolicyTestCaseIn)
@blp.response(200, s.PolicyTestCaseOut)
def update_test_case(body: dict[str, Any], case_id: int) -> Any:
    return cases.update_case(case_id, body["name"], body["body"], g.principal.name).to_dict()


@blp.route("/policies/<string:old>/diff/<string:new>", methods=["GET"])
@admits("legal", "auditor", "admin")
@blp.response(200, s.PolicyDiffOut)
def diff(old: str, new: str) -> Any:
    return diff_policies(_loaded(old), _loaded(new)).to_dict()


@blp.route("/policies/<string:ref>/replay", methods=["POST"])
@admits("legal", "admin")
@blp.arguments(s.ReplayIn)
@blp.response(200, s.ReplayReportOut)
def replay_policy(body: dict[str, Any], ref: str) -> Any:
    """Which recorded decisions this version would flip, and whose reasons would change."""
    return replay(compile_policy(_loaded(ref)), body["limit"], recorded_outputs(body["limit"])).to_dict()


@blp.route("/policies/<string:ref>/tests", methods=["POST"])
@admits("legal", "admin")
@blp.response(200, s.PolicyTestsOut)
def test_policy(ref: str) -> Any:
    """Run legal's tests for this policy uid (``*.tests.yaml`` in the policies folder) on this version,
    with each rule's coverage: how many cases made it fire, and the rules none does."""
    row = versions.get_version(ref)
    report = cases.run_for_version(row, current_app.config["SLATE_SETTINGS"].policies_dir)
    return {"policy": f"{row.uid}@{row.version}"} | report.to_dict()


blueprints = [blp]

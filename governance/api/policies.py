"""``/api/v1/policies``: legal writes, reviews, tests, diffs, replays and publishes policies."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g

from ..credentials import policy_signatures
from ..lifecycle.output_review import recorded_outputs
from ..policy import versions
from ..policy.compiler import compile_policy
from ..policy.diff import diff_policies
from ..policy.odrl import MEDIA_TYPE, odrl_json
from ..policy.replay import replay
from ..policy.testing import run_tests_for_version
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


@blp.route("/policies/<string:ref>/publish", methods=["POST"])
@admits("legal")
@blp.response(200, s.PolicyVersionOut)
def publish_policy(ref: str) -> Any:
    return versions.publish_version(ref, g.principal.name)


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
    report = run_tests_for_version(row.uid, row.text, current_app.config["SLATE_SETTINGS"].policies_dir)
    return {"policy": f"{row.uid}@{row.version}"} | report.to_dict()


blueprints = [blp]

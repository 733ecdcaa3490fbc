"""``/api/v1/policies``: legal writes, reviews, tests, diffs, replays and publishes policies."""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..api.access import admits
from .compiler import compile_policy
from .diff import diff_policies
from .loader import load_policy
from .replay import replay
from .testing import run_tests_for_version
from . import versions

blp = Blueprint("policies", __name__, url_prefix="/api/v1", description="Policy versions, review, diff, replay")

READERS = ("legal", "auditor", "approver", "producer", "admin")


class PolicyIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=1_000_000),
                         metadata={"description": "the policy file (YAML)"})


class ReviewIn(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=4000))


class ShowQuery(Schema):
    text = fields.Boolean(load_default=False)


class ReplayIn(Schema):
    limit = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=100_000))


def _loaded(ref: str) -> Any:
    row = versions.get_version(ref)
    return load_policy(row.text.encode("utf-8"), f"{row.uid}@{row.version}")


@blp.route("/policies", methods=["GET"])
@admits(*READERS)
@blp.response(200)
def list_policies() -> Any:
    return versions.list_versions()


@blp.route("/policies", methods=["POST"])
@admits("legal")
@blp.arguments(PolicyIn)
@blp.response(201)
def add_policy(body: dict[str, Any]) -> Any:
    """Record a new draft version; the caller is its author."""
    return versions.add_version(body["text"].encode("utf-8"), g.principal.name, "the policy text")


@blp.route("/policies/<string:ref>", methods=["GET"])
@admits(*READERS)
@blp.arguments(ShowQuery, location="query")
@blp.response(200)
def show_policy(query: dict[str, Any], ref: str) -> Any:
    return versions.show_version(ref, query["text"])


@blp.route("/policies/<string:ref>/approve", methods=["POST"])
@admits("legal")
@blp.arguments(ReviewIn)
@blp.response(200)
def approve_policy(body: dict[str, Any], ref: str) -> Any:
    """Approve a draft: only a legal user other than its author may."""
    return versions.approve_version(ref, g.principal.name, body["comment"])


@blp.route("/policies/<string:ref>/publish", methods=["POST"])
@admits("legal")
@blp.response(200)
def publish_policy(ref: str) -> Any:
    return versions.publish_version(ref, g.principal.name)


@blp.route("/policies/<string:old>/diff/<string:new>", methods=["GET"])
@admits("legal", "auditor", "admin")
@blp.response(200)
def diff(old: str, new: str) -> Any:
    return diff_policies(_loaded(old), _loaded(new)).to_dict()


@blp.route("/policies/<string:ref>/replay", methods=["POST"])
@admits("legal", "admin")
@blp.arguments(ReplayIn)
@blp.response(200)
def replay_policy(body: dict[str, Any], ref: str) -> Any:
    """Which recorded decisions this version would flip, and whose reasons would change."""
    return replay(compile_policy(_loaded(ref)), body["limit"]).to_dict()


@blp.route("/policies/<string:ref>/tests", methods=["POST"])
@admits("legal", "admin")
@blp.response(200)
def test_policy(ref: str) -> Any:
    """Run legal's tests for this policy uid (``*.tests.yaml`` in the policies folder) on this version."""
    row = versions.get_version(ref)
    results = run_tests_for_version(row.uid, row.text, current_app.config["SLATE_SETTINGS"].policies_dir)
    passed = sum(1 for r in results if r["passed"])
    return {"policy": f"{row.uid}@{row.version}", "passed": passed, "failed": len(results) - passed,
            "cases": results}


blueprints = [blp]

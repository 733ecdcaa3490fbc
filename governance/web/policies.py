"""Legal's pages: policy versions, a new draft (from a file, or edited from a version), review
(approve, reject, request changes), publish and roll back after a confirmation page showing what
changes, a side-by-side diff, the policy tests' results with per-rule coverage, test cases kept
in the database, and the replay impact of a version. Auditors may read, not act."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for

from ..credentials import policy_signatures
from ..errors import Conflict, InvalidInput, PolicyError
from ..ids import is_id
from ..lifecycle.output_review import recorded_output_count, recorded_outputs
from ..lifecycle.policy_publish import publish_preview
from ..policy import cases, versions
from ..policy.diff import diff_policies
from ..policy.odrl import MEDIA_TYPE, odrl_json
from ..policy.replay import recorded_request_count, replay
from . import access
from .access import page
from .blueprint import bp

READERS = ("legal", "auditor")
#: requests (and output decisions) the replay page re-decides, newest first. Replaying every
#: recorded decision takes minutes at a studio's scale (a million outputs): the page shows the
#: newest and says how many it left to ``slate policy replay`` and ``POST /api/v1/policies/<ref>/replay``,
#: which replay them all. Bounding it, rather than caching a full replay per (policy, newest
#: decision) as the publish confirmation does, keeps the first look at a new draft fast too.
REPLAY_PAGE = 200


@dataclass(frozen=True)
class TextRow:
    """One row of a side-by-side text comparison; a side is None where the line does not exist."""

    change: str  # equal | replace | delete | insert
    old_number: int | None
    old: str | None
    new_number: int | None
    new: str | None


def side_by_side(old: str, new: str, context: int = 3) -> list[list[TextRow]]:
    """The changed stretches of two texts, each with a little context, as rows to show side by side."""
    a, b = old.splitlines(), new.splitlines()
    hunks = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        rows = []
        for tag, i1, i2, j1, j2 in group:
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                rows.append(TextRow(tag, i + 1 if i < i2 else None, a[i] if i < i2 else None,
                                    j + 1 if j < j2 else None, b[j] if j < j2 else None))
        hunks.append(rows)
    return hunks


def _ref(row: Any) -> str:
    return f"{row.uid}@{row.version}"


@bp.route("/policies", methods=["GET"])
@page(*READERS)
def policies() -> Any:
    rows = versions.list_versions()
    return render_template("web/policies.html", versions=rows)


@bp.route("/policies", methods=["POST"])
@page("legal")
def add_policy() -> Any:
    upload = request.files.get("policy")
    data = upload.read() if upload is not None else b""
    if not data:
        data = request.form.get("text", "").encode("utf-8")
    if not data.strip():
        raise InvalidInput("choose a policy file (YAML) or paste its text")
    source = (upload.filename if upload is not None and upload.filename else None) or "the policy text"
    added = versions.add_version(data, access.principal().name, source)
    flash(f"Draft {added['uid']}@{added['version']} recorded. Another legal user must review it.", "info")
    return redirect(url_for("web.policy", ref=f"{added['uid']}@{added['version']}"))


@bp.route("/policies/<string:ref>", methods=["GET"])
@page(*READERS)
def policy(ref: str) -> Any:
    shown = versions.show_version(ref, with_text=True)
    others = [v for v in versions.list_versions(shown["uid"]) if v["version"] != shown["version"]]
    coverage = cases.version_coverage(versions.get_version(ref), _policies_dir())
    return render_template("web/policy.html", policy=shown, others=others, coverage=coverage)


def _policies_dir() -> Any:
    return current_app.config["SLATE_SETTINGS"].policies_dir


@bp.route("/policies/<string:ref>/odrl", methods=["GET"])
@page(*READERS)
def policy_odrl(ref: str) -> Any:
    """The version as ODRL 2.2 JSON-LD, downloaded: what the API's ``/odrl`` answers."""
    row = versions.get_version(ref)
    name = re.sub(r"[^A-Za-z0-9._-]", "-", row.uid.rsplit(":", 1)[-1]) + f"-v{row.version}.odrl.jsonld"
    return Response(odrl_json(versions.odrl_export(ref)), mimetype=MEDIA_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/policies/<string:ref>/approve", methods=["POST"])
@page("legal")
def approve_policy(ref: str) -> Any:
    approved = policy_signatures.approve_and_sign(current_app.config["SLATE_SETTINGS"], ref, access.principal().name,
                                                  request.form.get("comment", "").strip())
    flash(f"{approved['uid']}@{approved['version']} approved. It can now be published.", "info")
    return redirect(url_for("web.policy", ref=ref))


@bp.route("/policies/<string:ref>/review", methods=["POST"])
@page("legal")
def review_policy(ref: str) -> Any:
    """Reject a version or send it back for changes, with the reviewer's comment."""
    verdict = request.form.get("verdict", "")
    reviewed = versions.review_version(ref, access.principal().name, verdict, request.form.get("comment", ""))
    said = "rejected" if verdict == "rejected" else "sent back to its author for changes"
    flash(f"{reviewed['uid']}@{reviewed['version']} {said}.", "info")
    return redirect(url_for("web.policy", ref=ref))


def _confirmation() -> dict[str, Any]:
    """What the confirmation page's form carries; a POST without it did not come from that page."""
    sha256, replacing = request.form.get("confirm_sha256", ""), request.form.get("replacing", "")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256) or not is_id(replacing) or len(replacing) > 9:
        raise InvalidInput("confirm on the publish page first: it shows what changes",
                           hint="open the version's page and choose Publish (or Roll back)")
    return {"confirm_sha256": sha256, "confirm_replacing": int(replacing)}


@bp.route("/policies/<string:ref>/publish", methods=["GET"])
@page("legal")
def confirm_publish(ref: str) -> Any:
    """What publishing would change (the diff and the replay's counts), and the confirmation."""
    return render_template("web/policy_publish.html", preview=publish_preview(ref))


@bp.route("/policies/<string:ref>/publish", methods=["POST"])
@page("legal")
def publish_policy(ref: str) -> Any:
    published = versions.publish_version(ref, access.principal().name, **_confirmation())
    flash(f"{published['uid']}@{published['version']} is published: new requests are decided under it.", "info")
    return redirect(url_for("web.policy", ref=ref))


@bp.route("/policies/<string:ref>/rollback", methods=["GET"])
@page("legal")
def confirm_rollback(ref: str) -> Any:
    """Rolling back to ``ref``: what re-publishing its text would change, and the confirmation."""
    return render_template("web/policy_publish.html", preview=publish_preview(ref, rollback=True))


@bp.route("/policies/<string:ref>/rollback", methods=["POST"])
@page("legal")
def rollback_policy(ref: str) -> Any:
    rolled = versions.rollback_version(ref, access.principal().name, **_confirmation())
    new_ref = f"{rolled['uid']}@{rolled['version']}"
    flash(f"{new_ref} is published: the text of version {rolled['rollback_of']['version']}, again.", "info")
    return redirect(url_for("web.policy", ref=new_ref))


@bp.route("/policies/<string:ref>/draft", methods=["GET"])
@page("legal")
def policy_draft(ref: str) -> Any:
    """An editor holding the text of ``ref`` with the next version number, saved as a new draft."""
    row = versions.get_version(ref)
    return render_template("web/policy_draft.html", policy=versions.version_dict(row),
                           text=versions.draft_text(ref), error=None)


@bp.route("/policies/<string:ref>/draft", methods=["POST"])
@page("legal")
def save_policy_draft(ref: str) -> Any:
    """Save the editor's text as a new draft (``versions.add_version``, as an upload is); a text
    that cannot be recorded comes back in the editor with its problems beside it."""
    row = versions.get_version(ref)
    text = request.form.get("text", "")
    try:
        if not text.strip():
            raise InvalidInput("the policy text is empty")
        added = versions.add_version(text.encode("utf-8"), access.principal().name, "the edited text")
    except (PolicyError, InvalidInput, Conflict) as exc:
        return render_template("web/policy_draft.html", policy=versions.version_dict(row), text=text,
                               error=exc), exc.status
    flash(f"Draft {added['uid']}@{added['version']} recorded. Another legal user must review it.", "info")
    return redirect(url_for("web.policy", ref=f"{added['uid']}@{added['version']}"))


@bp.route("/policies/<string:ref>/cases", methods=["GET"])
@page("legal")
def policy_cases(ref: str) -> Any:
    """The test cases legal keeps in the database for the policy of ``ref``, and a form to add one."""
    row = versions.get_version(ref)
    return render_template("web/policy_cases.html", policy=versions.version_dict(row),
                           cases=cases.list_cases(row.uid), form={}, error=None)


@bp.route("/policies/<string:ref>/cases", methods=["POST"])
@page("legal")
def add_policy_case(ref: str) -> Any:
    row = versions.get_version(ref)
    form = {"name": request.form.get("name", ""), "body": request.form.get("body", "")}
    try:
        added = cases.add_case(row.uid, form["name"], form["body"], access.principal().name)
    except (InvalidInput, Conflict) as exc:  # shown beside the form, with what was typed kept
        return render_template("web/policy_cases.html", policy=versions.version_dict(row),
                               cases=cases.list_cases(row.uid), form=form, error=exc), exc.status
    flash(f"Test case “{added.name}” saved; it runs with the policy tests from now on.", "info")
    return redirect(url_for("web.policy_cases", ref=ref))


@bp.route("/policy-cases/<int:case_id>", methods=["GET"])
@page("legal")
def policy_case(case_id: int) -> Any:
    case = cases.TestCaseView.from_row(cases.get_case(case_id))
    return render_template("web/policy_case.html", case=case, form={"name": case.name, "body": case.body},
                           error=None)


@bp.route("/policy-cases/<int:case_id>", methods=["POST"])
@page("legal")
def update_policy_case(case_id: int) -> Any:
    form = {"name": request.form.get("name", ""), "body": request.form.get("body", "")}
    try:
        changed = cases.update_case(case_id, form["name"], form["body"], access.principal().name)
    except (InvalidInput, Conflict) as exc:
        shown = cases.TestCaseView.from_row(cases.get_case(case_id))
        return render_template("web/policy_case.html", case=shown, form=form, error=exc), exc.status
    flash(f"Test case “{changed.name}” saved.", "info")
    return redirect(url_for("web.policy_case", case_id=case_id))


@bp.route("/policies/diff", methods=["GET"])
@page(*READERS)
def policy_diff() -> Any:
    old_ref, new_ref = request.args.get("old", ""), request.args.get("new", "")
    if not old_ref or not new_ref:
        raise InvalidInput("choose two versions to compare (old and new)")
    old_row, new_row = versions.get_version(old_ref), versions.get_version(new_ref)
    changes = diff_policies(versions.compiled(old_row).policy, versions.compiled(new_row).policy)
    return render_template("web/policy_diff.html", old=versions.version_dict(old_row),
                           new=versions.version_dict(new_row), diff=changes.to_dict(),
                           hunks=side_by_side(old_row.text, new_row.text))


@bp.route("/policies/<string:ref>/tests", methods=["GET"])
@page("legal")
def policy_tests(ref: str) -> Any:
    row = versions.get_version(ref)
    report = cases.run_for_version(row, _policies_dir())
    return render_template("web/policy_tests.html", policy=versions.version_dict(row), report=report.to_dict())


@bp.route("/policies/<string:ref>/replay", methods=["GET"])
@page("legal")
def policy_replay(ref: str) -> Any:
    """The newest ``REPLAY_PAGE`` requests' and output decisions' replay, and how many a full
    replay (CLI, API) would add."""
    row = versions.get_version(ref)
    report = replay(versions.compiled(row), REPLAY_PAGE, recorded_outputs(REPLAY_PAGE))
    totals = {"requests": recorded_request_count(), "outputs": recorded_output_count(), "each": REPLAY_PAGE}
    return render_template("web/policy_replay.html", policy=versions.version_dict(row), report=report.to_dict(),
                           totals=totals)

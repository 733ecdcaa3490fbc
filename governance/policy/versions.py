"""Policy versions and their review: draft -> approved -> published -> superseded.

A new version is a draft until a legal user other than its author approves it; only an
approved version can be published, and publishing supersedes the version that was
active for the same policy uid. Nothing is deleted: every decision names the version it
ran under, so history must stay readable.

A reviewer other than the author may instead end a draft (or an approved version not yet
published) as ``rejected`` or ``changes_requested``, always with a comment saying why; the
author answers changes with a new version. Publishing may name what the publisher confirmed
(the version's SHA-256 and the version it replaces), so a publish confirmed on one page is
refused if either changed meanwhile. A rollback re-publishes the text of a version that was
published before as a NEW version (``rollback_of``): byte for byte the same text and SHA-256,
so it needs no new approval (the reviews and signatures of that text stand, and are cited).

Proposing, publishing and showing a version return the static analysis's warnings with it
(``analysis.analyse``): rules that never fire, rules shadowed by others, constraints that
always hold. They inform the reviewers; they block nothing.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import peewee

from ..audit.log import record
from ..canonical import sha256_hex
from ..catalogue import Catalogue, published_catalogue
from ..catalogue import versions as catalogue_versions
from ..clock import utcnow
from ..db import HotSelect, first, transaction
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, PolicyError
from ..ids import is_id
from ..principal import Principal
from .analysis import analyse
from .compiler import CompiledPolicy, compile_bytes
from .decision import PolicyRef
from .document import Policy
from .loader import PolicyFileError, load_policy
from .odrl import to_odrl
from .tables import PolicyReview, PolicyVersion

#: a reviewer's verdicts that end a version without publishing it
END_VERDICTS = ("rejected", "changes_requested")
#: the most characters a review comment may have
MAX_COMMENT = 4000


def version_dict(v: PolicyVersion, with_text: bool = False) -> dict[str, Any]:
    """A version as the API, CLI and pages show it. A rollback's reviews are those of the
    version whose text it re-publishes (the text they approved), cited in ``rollback_of``."""
    origin = PolicyVersion.get_or_none(PolicyVersion.id == v.rollback_of) if v.rollback_of else None
    reviewed = origin if origin is not None else v
    data: dict[str, Any] = {
        "id": v.id, "uid": v.uid, "version": v.version, "title": v.title, "sha256": v.sha256,
        "status": v.status, "author": v.author, "created_at": v.created_at,
        "published_at": v.published_at, "published_by": v.published_by,
        "superseded_at": v.superseded_at,
        "rollback_of": {"id": origin.id, "version": origin.version} if origin is not None else None,
        "reviews": [{"reviewer": r.reviewer, "verdict": r.verdict, "comment": r.comment, "at": r.at}
                    for r in reviewed.reviews.order_by(PolicyReview.id)],
    }
    if with_text:
        data["text"] = v.text
    return data


def legal_user(name: str | None, what: str) -> str:
    """A legal user. Once Slate has users at all, the name must be one of them, with the legal role."""
    from ..auth.tables import User
    name = (name or "").strip()
    if not name:
        raise InvalidInput(f"name the {what} (a legal user)")
    if User.select().exists():
        user = User.get_or_none(User.name == name)
        if user is None or "legal" not in (user.roles or []):
            raise Forbidden(f"the {what} must be a user with the legal role; '{name}' is not",
                            hint="list users with: slate user list")
    return name


def add_version(data: bytes, author: str, source: str = "policy") -> dict[str, Any]:
    """Record a new policy file as a draft of its uid; its version must be the highest yet."""
    author = legal_user(author, "author")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"{source} is not UTF-8 text") from None
    policy = load_policy(data, source, published_catalogue())
    with transaction():
        latest = latest_number(policy.uid)
        if latest is not None and policy.version <= latest:
            raise Conflict(f"{policy.uid} already has version {latest}; a new file needs a higher "
                           f"version than {latest} (it says {policy.version})")
        row = PolicyVersion.create(uid=policy.uid, version=policy.version, title=policy.title,
                                   sha256=policy.sha256, text=text, author=author, status="draft",
                                   created_at=utcnow())
        record("policy.added", f"policy:{policy.uid}@{policy.version}",
               {"sha256": policy.sha256, "author": author}, actor=author)
    return version_dict(row) | {"warnings": _warnings(policy)}


def latest_number(uid: str) -> int | None:
    """The highest version number recorded for ``uid`` (None: none is)."""
    latest = PolicyVersion.select(peewee.fn.MAX(PolicyVersion.version)).where(PolicyVersion.uid == uid).scalar()
    return None if latest is None else int(latest)


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``UID@VERSION`` or ``UID`` (the latest version)."""
    uid, sep, version = ref.rpartition("@")
    if not sep:
        return ref, None
    if not is_id(version):
        raise InvalidInput(f"'{ref}' is not UID@VERSION (the version is a whole number)")
    return uid, int(version)


def get_version(ref: str) -> PolicyVersion:
    uid, version = parse_ref(ref)
    query = PolicyVersion.select().where(PolicyVersion.uid == uid)
    row = (first(query.where(PolicyVersion.version == version)) if version is not None
           else first(query.order_by(PolicyVersion.version.desc())))
    if row is None:
        raise NotFound(f"no policy version '{ref}' is recorded", hint="list them with: slate policy list")
    return row


def approve_version(ref: str, approver: str, comment: str = "") -> dict[str, Any]:
    approver = legal_user(approver, "approver")
    with transaction():
        row = get_version(ref)
        if row.status != "draft":
            raise Conflict(f"{row.uid}@{row.version} is {row.status}; only a draft can be approved")
        if approver == row.author:
            raise Forbidden(f"{approver} wrote {row.uid}@{row.version} and cannot approve it",
                            hint="another legal user must review and approve it")
        PolicyReview.create(policy_version=row, reviewer=approver, verdict="approved",
                            comment=comment, at=utcnow())
        row.status = "approved"
        row.save()
        record("policy.approved", f"policy:{row.uid}@{row.version}",
               {"sha256": row.sha256, "approver": approver}, actor=approver)
    return version_dict(row)


def review_version(ref: str, reviewer: str, verdict: str, comment: str) -> dict[str, Any]:
    """End a draft (or an approved version not yet published) as ``rejected`` or
    ``changes_requested``, with the reviewer's comment. Never by its author: the verdict is
    the second pair of eyes, as an approval is (an author who changes their mind writes a new
    version). A rejected version can never be approved or published."""
    reviewer = legal_user(reviewer, "reviewer")
    if verdict not in END_VERDICTS:
        raise InvalidInput(f"a review's verdict is one of {', '.join(END_VERDICTS)} (or approve it); not '{verdict}'")
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("say why in the comment: the author reads it to write the next version",
                           fields={"comment": ["a comment is required"]})
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"the comment is longer than {MAX_COMMENT} characters",
                           fields={"comment": [f"at most {MAX_COMMENT} characters"]})
    with transaction():
        row = get_version(ref)
        if row.status not in ("draft", "approved"):
            raise Conflict(f"{row.uid}@{row.version} is {_words(row.status)}; only a draft or an approved "
                           "version not yet published can be rejected or sent back")
        if reviewer == row.author:
            raise Forbidden(f"{reviewer} wrote {row.uid}@{row.version} and cannot review it",
                            hint="another legal user must review it; to change it, add a new version")
        PolicyReview.create(policy_version=row, reviewer=reviewer, verdict=verdict, comment=comment, at=utcnow())
        row.status = verdict
        row.save()
        record(f"policy.{verdict}", f"policy:{row.uid}@{row.version}",
               {"sha256": row.sha256, "reviewer": reviewer}, actor=reviewer)
    return version_dict(row)


def _words(status: str) -> str:
    return status.replace("_", " ")


def _check_confirmed(row: PolicyVersion, current: PolicyVersion | None, confirm_sha256: str | None,
                     confirm_replacing: int | None) -> None:
    """Refuse a publish whose confirmation no longer describes what it would do."""
    if confirm_sha256 is not None and confirm_sha256 != row.sha256:
        raise Conflict(f"{row.uid}@{row.version} is not the text that was confirmed",
                       hint="open the publish page again and confirm what it shows now")
    if confirm_replacing is not None and confirm_replacing != (current.version if current is not None else 0):
        raise Conflict(f"the published version of {row.uid} changed since the confirmation "
                       f"(it is now {'v' + str(current.version) if current is not None else 'none'})",
                       hint="open the publish page again and confirm what it shows now")


def _make_active(row: PolicyVersion, current: PolicyVersion | None, publisher: str) -> None:
    now = utcnow()
    if current is not None:
        current.status, current.superseded_at = "superseded", now
        current.save()
    row.status, row.published_at, row.published_by = "published", now, publisher
    row.save()


def publish_version(ref: str, publisher: str, *, confirm_sha256: str | None = None,
                    confirm_replacing: int | None = None) -> dict[str, Any]:
    """Make an approved version the active one for its uid; the previous one is superseded.

    ``confirm_sha256`` and ``confirm_replacing`` (the version it replaces, 0 for none) are
    what the publisher confirmed having seen; given, the publish is refused (409) when
    either no longer holds."""
    publisher = legal_user(publisher, "publisher")
    with transaction():
        row = get_version(ref)
        if row.status != "approved":
            raise Conflict(f"{row.uid}@{row.version} is {_words(row.status)}; only an approved version can be "
                           "published",
                           hint=("a legal user other than its author must approve it first: "
                                 "slate policy approve") if row.status == "draft" else None)
        current = active_row(row.uid)
        _check_confirmed(row, current, confirm_sha256, confirm_replacing)
        _make_active(row, current, publisher)
        record("policy.published", f"policy:{row.uid}@{row.version}",
               {"sha256": row.sha256, "supersedes": current.version if current else None}, actor=publisher)
    return version_dict(row) | {"warnings": _warnings(compiled(row).policy)}


def rollback_version(ref: str, roller: str, *, confirm_sha256: str | None = None,
                     confirm_replacing: int | None = None) -> dict[str, Any]:
    """Re-publish the text of ``ref``, a version that was published before, as a new version.

    The new version's text and SHA-256 are the earlier one's, byte for byte (checked against
    its stored SHA-256 first), its ``rollback_of`` names it, and its reviews are the earlier
    version's: no new approval is needed because two legal users already approved and one
    published exactly these bytes (their signatures stay valid; they sign the SHA-256). Any
    legal user may roll back, the earlier text's author too; it is audited as
    ``policy.rolled_back``. Only a superseded version can be the target: a draft, rejected
    or approved-but-never-published text has not passed review and publishing."""
    roller = legal_user(roller, "legal user rolling back")
    with transaction():
        target = get_version(ref)
        if target.status != "superseded":
            raise Conflict(f"{target.uid}@{target.version} is {_words(target.status)}; only a version that was "
                           "published and later superseded can be rolled back to",
                           hint="to publish a text that never was, add it as a draft for review")
        compiled(target)  # its stored text must still be the text that was approved
        current = active_row(target.uid)
        _check_confirmed(target, current, confirm_sha256, confirm_replacing)
        row = PolicyVersion.create(uid=target.uid, version=int(latest_number(target.uid) or 0) + 1, title=target.title,
                                   sha256=target.sha256, text=target.text, author=target.author,
                                   status="approved", created_at=utcnow(), rollback_of=target.id)
        _make_active(row, current, roller)
        record("policy.rolled_back", f"policy:{row.uid}@{row.version}",
               {"sha256": row.sha256, "rollback_of": target.version,
                "supersedes": current.version if current else None}, actor=roller)
    return version_dict(row) | {"warnings": _warnings(compiled(row).policy)}


_VERSION_LINE = re.compile(r"^version:[ \t]*\d+[ \t]*$", re.MULTILINE)


def draft_text(ref: str) -> str:
    """The text of ``ref`` to start a new draft from: its top-level ``version:`` line set to the
    next free version of its uid (left as it is where there is not exactly one such line)."""
    row = get_version(ref)
    if len(_VERSION_LINE.findall(row.text)) != 1:
        return str(row.text)
    return _VERSION_LINE.sub(f"version: {int(latest_number(row.uid) or 0) + 1}", row.text)


def active_row(uid: str) -> PolicyVersion | None:
    return first(PolicyVersion.select().where(PolicyVersion.uid == uid, PolicyVersion.status == "published"))


def published_rows() -> list[PolicyVersion]:
    """Every policy's published version (one per policy)."""
    return list(PolicyVersion.select().where(PolicyVersion.status == "published"))


def active_version(uid: str | None = None) -> PolicyVersion:
    """The published version of ``uid``; without a uid, the only policy that has one."""
    if uid is not None:
        row = active_row(uid)
        if row is None:
            raise Conflict(f"no version of {uid} is published", hint="publish one: slate policy publish UID@VERSION")
        return row
    rows = _two_published.all()
    if not rows:
        raise Conflict("no policy is published, so nothing can be decided",
                       hint="add, approve and publish one: slate policy add|approve|publish")
    if len(rows) > 1:
        raise InvalidInput("several policies are published; say which one applies (--policy UID)")
    return rows[0]


#: two published versions at most (every decision asks): enough to tell none, one and several
_two_published: HotSelect[PolicyVersion] = HotSelect(
    lambda: PolicyVersion.select().where(PolicyVersion.status == "published").limit(2))


def compiled(row: PolicyVersion) -> CompiledPolicy:
    data = row.text.encode("utf-8")
    if sha256_hex(data) != row.sha256:
        raise Conflict(f"the stored text of {row.uid}@{row.version} no longer matches its SHA-256",
                       hint="it was changed outside Slate: run slate audit verify")
    engine = compile_bytes(data, f"{row.uid}@{row.version}", published_catalogue())
    if engine.ref.version != row.version:
        # a rollback re-publishes an earlier text (which names its own number) as a new version:
        # decisions, their audit entries and credentials name the version they were decided under
        engine = copy.copy(engine)
        engine.ref = PolicyRef(row.uid, row.version, row.sha256)
    return engine


def publish_catalogue(version: int | str, by: Principal) -> dict[str, Any]:
    """Publish a catalogue version, refused (409) if a published policy reads an attribute it
    no longer declares (or no longer types the same way): decisions would stop, not change."""
    def still_valid(catalogue: Catalogue) -> None:
        broken = []
        for row in PolicyVersion.select().where(PolicyVersion.status == "published"):
            try:
                load_policy(row.text.encode("utf-8"), f"{row.uid}@{row.version}", catalogue)
            except PolicyFileError as exc:
                broken.append(f"{row.uid}@{row.version}: " + "; ".join(exc.problems[:3]))
        if broken:
            raise Conflict("a published policy would no longer be valid under this catalogue: " + " | ".join(broken),
                           hint="publish a policy version that no longer reads those attributes first")
    return catalogue_versions.publish_version(version, by, still_valid)


def odrl_export(ref: str) -> dict[str, Any]:
    """A recorded version as ODRL 2.2 JSON-LD (see ``governance.policy.odrl``), checked
    against its SHA-256 first: what the API, the pages and ``slate policy export`` serve."""
    return to_odrl(compiled(get_version(ref)).policy)


def list_versions(uid: str | None = None) -> list[dict[str, Any]]:
    query = PolicyVersion.select().order_by(PolicyVersion.uid, PolicyVersion.version)
    if uid:
        query = query.where(PolicyVersion.uid == uid)
    return [version_dict(v) for v in query]


def show_version(ref: str, with_text: bool = False) -> dict[str, Any]:
    """One version with its reviews and the static analysis's warnings."""
    row = get_version(ref)
    return version_dict(row, with_text) | {"warnings": _stored_warnings(row)}


def _warnings(policy: Policy) -> list[dict[str, Any]]:
    return [w.to_dict() for w in analyse(policy)]


def _stored_warnings(row: PolicyVersion) -> list[dict[str, Any]]:
    """The analysis of a stored version, which the version page shows on every visit: kept per
    text and catalogue (the analysis of the same text under the same catalogue never changes),
    after the text is checked against its SHA-256 as ``compiled`` does."""
    if sha256_hex(row.text.encode("utf-8")) != row.sha256:
        compiled(row)  # raises, saying the stored text was changed outside Slate
    return [dict(w) for w in _analysed(row.text, f"{row.uid}@{row.version}", published_catalogue())]


@functools.lru_cache(maxsize=64)
def _analysed(text: str, source: str, catalogue: Catalogue) -> tuple[dict[str, Any], ...]:
    return tuple(_warnings(compile_bytes(text.encode("utf-8"), source, catalogue).policy))


def resolve(ref: str) -> tuple[Policy, bytes]:
    """A policy named on the command line: a file path, or ``UID@VERSION`` from the database."""
    path = Path(ref)
    if path.is_file():
        data = path.read_bytes()
        return load_policy(data, str(path), published_catalogue()), data
    if ("@" not in ref and "/" in ref) or ref.endswith((".yaml", ".yml")):
        raise PolicyError(f"no policy file {ref}")
    row = get_version(ref)
    return compiled(row).policy, row.text.encode("utf-8")

"""What publishing (or rolling back to) a policy version would change, shown before the
publisher confirms: the rule-level diff against the published version and the replay's counts
of recorded decisions it would flip. The page's confirmation names the SHA-256 and the version
it replaces, which ``versions.publish_version`` / ``rollback_version`` check again.

Here, not in ``policy``, because the replay covers output decisions, which the lifecycle keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from peewee import fn

from ..errors import Conflict
from ..jobs.tables import OutputReview
from ..policy import versions
from ..policy.compiler import CompiledPolicy
from ..policy.diff import diff_policies
from ..policy.replay import replay
from ..policy.tables import DecisionRecord, PolicyVersion
from .output_review import recorded_outputs

#: requests (and output decisions) replayed for the preview, newest first: enough to see what
#: a change flips without making the page wait on the whole history (the replay page has all);
#: each costs a policy evaluation (~2-3 ms)
PREVIEW_REPLAY = 100


@dataclass(frozen=True)
class PublishPreview:
    """What making ``version`` the published version of its uid would change."""

    version: dict[str, Any]
    #: what it replaces (None: nothing of its uid is published)
    current: dict[str, Any] | None
    #: the rule-level diff from ``current`` (None when there is no current)
    diff: dict[str, Any] | None
    replayed: int
    flipped: int
    reasons_changed: int
    rollback: bool

    @property
    def replacing(self) -> int:
        """The number the confirmation carries: the version replaced, 0 for none."""
        return int(self.current["version"]) if self.current else 0

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "current": self.current, "diff": self.diff, "replayed": self.replayed,
                "flipped": self.flipped, "reasons_changed": self.reasons_changed, "rollback": self.rollback,
                "confirm": {"sha256": self.version["sha256"], "replacing": self.replacing}}


def publish_preview(ref: str, *, rollback: bool = False) -> PublishPreview:
    """The preview of publishing ``ref`` (or, with ``rollback``, re-publishing its text); refused
    (409) for a version that cannot be published (or rolled back to), so no one confirms what
    would then be refused."""
    row = versions.get_version(ref)
    if rollback and row.status != "superseded":
        raise Conflict(f"{row.uid}@{row.version} is {row.status.replace('_', ' ')}; only a version that was "
                       "published and later superseded can be rolled back to")
    if not rollback and row.status not in ("draft", "approved"):
        raise Conflict(f"{row.uid}@{row.version} is {row.status.replace('_', ' ')}; only a draft or an approved "
                       "version can be published")
    engine = versions.compiled(row)
    current: PolicyVersion | None = versions.active_row(row.uid)
    diff = diff_policies(versions.compiled(current).policy, engine.policy).to_dict() if current else None
    replayed, flipped, changed = _replay_counts(row.sha256, _newest(DecisionRecord), _newest(OutputReview),
                                                engine)
    return PublishPreview(versions.version_dict(row), versions.version_dict(current) if current else None, diff,
                          replayed, flipped, changed, rollback)


def _newest(table: Any) -> int:
    return int(table.select(fn.MAX(table.id)).scalar() or 0)


#: replay counts per (policy SHA-256, newest decision id, newest output review id): a new
#: decision or review changes the key, so counts are never stale; at most 32 kept
_COUNTS: dict[tuple[str, int, int], tuple[int, int, int]] = {}


def _replay_counts(sha256: str, newest_decision: int, newest_review: int,
                   engine: CompiledPolicy) -> tuple[int, int, int]:
    """The replay's counts for the policy text ``sha256``, computed once until a decision or an
    output review is recorded: the confirmation page is opened again and again."""
    key = (sha256, newest_decision, newest_review)
    if key not in _COUNTS:
        report = replay(engine, PREVIEW_REPLAY, recorded_outputs(PREVIEW_REPLAY))
        while len(_COUNTS) >= 32:
            _COUNTS.pop(next(iter(_COUNTS)))
        _COUNTS[key] = (report.replayed, len(report.flips), len(report.changed_reasons))
    return _COUNTS[key]

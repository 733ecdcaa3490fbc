"""What publishing (or rolling back to) a policy version would change, shown before the
publisher confirms: the rule-level diff against the published version and the replay's counts
of recorded decisions it would flip. The page's confirmation names the SHA-256 and the version
it replaces, which ``versions.publish_version`` / ``rollback_version`` check again.

Here, not in ``policy``, because the replay covers output decisions, which the lifecycle keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..policy import versions
from ..policy.diff import diff_policies
from ..policy.replay import replay
from ..policy.tables import PolicyVersion
from .output_review import recorded_outputs

#: requests (and output decisions) replayed for the preview, newest first: enough to see what
#: a change flips without making the page wait on the whole history (the replay page has all)
PREVIEW_REPLAY = 500


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
    """The preview of publishing ``ref`` (or, with ``rollback``, re-publishing its text)."""
    row = versions.get_version(ref)
    engine = versions.compiled(row)
    current: PolicyVersion | None = versions.active_row(row.uid)
    diff = diff_policies(versions.compiled(current).policy, engine.policy).to_dict() if current else None
    report = replay(engine, PREVIEW_REPLAY, recorded_outputs(PREVIEW_REPLAY))
    return PublishPreview(versions.version_dict(row), versions.version_dict(current) if current else None, diff,
                          report.replayed, len(report.flips), len(report.changed_reasons), rollback)

"""Reading the audit log: filtered pages of entries, one entry with its chain links and the
checkpoint covering it, the checkpoints, the actions logged, and a verdict in words.

One path for the API (``GET /api/v1/audit/entries``) and the auditor's pages. Every query
is bounded and walks an index (step 32) in ``seq`` order, so a page costs the same with
millions of entries: actor and subject match case-insensitively through indexes on
``lower(actor), seq`` and ``lower(subject), seq``; an action through ``action, seq``; a
time range becomes a ``seq`` range first (the log is appended in time order, under the head
row's lock), and the times themselves are still checked on every entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator, Mapping

import peewee
from cryptography import x509

from ..canonical import digest, json_default
from ..clock import as_utc
from ..db import first
from ..errors import InvalidInput, NotFound
from .log import AuditVerdict, checkpoint_dict, entry_body, entry_dict
from .tables import AuditCheckpoint, AuditEntry
from .trust import describe

PAGE_SIZE = 50
#: the most entries one export holds (the newest that match); narrow the time range for older ones
EXPORT_LIMIT = 100_000
#: rows read per query while an export streams
EXPORT_CHUNK = 1_000
#: the most distinct actions offered as choices
ACTIONS_LIMIT = 200
FIELD_LIMITS = {"actor": 200, "action": 80, "subject": 300}


@dataclass(frozen=True)
class EntryFilter:
    """What an auditor narrows the log to; empty fields do not filter."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    subject: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> EntryFilter:
        """From a query string (the page's form, the API's query): texts trimmed and capped at
        their column's length, times as ISO 8601 dates or date-times (a date alone is midnight
        UTC, and ``until`` a date includes that whole day)."""
        texts: dict[str, str | None] = {}
        for name, limit in FIELD_LIMITS.items():
            value = str(args.get(name) or "").strip()
            if len(value) > limit:
                raise InvalidInput(f"{name} is at most {limit} characters", fields={name: [f"at most {limit}"]})
            if any(ord(c) < 32 for c in value):
                raise InvalidInput(f"{name} may not hold control characters", fields={name: ["control character"]})
            texts[name] = value or None
        since, until = _when(args.get("since"), "since", end=False), _when(args.get("until"), "until", end=True)
        if since and until and since >= until:
            raise InvalidInput("'since' must be before 'until'", fields={"until": ["must be after since"]})
        return cls(since, until, texts["actor"], texts["action"], texts["subject"])

    def to_args(self) -> dict[str, str]:
        """The filter as query arguments (what links to the next page carry)."""
        out = {name: getattr(self, name) for name in FIELD_LIMITS if getattr(self, name)}
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None:
                out[name] = json_default(value)
        return out

    @property
    def empty(self) -> bool:
        return not any((self.since, self.until, self.actor, self.action, self.subject))


def _when(value: Any, name: str, *, end: bool) -> datetime | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime.combine(day, time(), tzinfo=timezone.utc)
            return moment + (_ONE_DAY if end else _NO_TIME)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return as_utc(parsed)
    except (ValueError, OverflowError):  # OverflowError: the first or last day, a day or a zone beyond
        raise InvalidInput(f"'{name}' is not a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)",
                           fields={name: ["not a date"]}) from None


_ONE_DAY, _NO_TIME = timedelta(days=1), timedelta(0)


@dataclass(frozen=True)
class EntryPage:
    """Up to ``PAGE_SIZE`` entries, newest first, and the cursors of the pages beside them."""

    entries: tuple[dict[str, Any], ...]
    #: pass as ``before`` for older entries; None on the last page
    older: int | None
    #: pass as ``after`` for newer entries; None on the first page
    newer: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"entries": list(self.entries), "older": self.older, "newer": self.newer}


def _seq_range(f: EntryFilter) -> tuple[int, int] | None:
    """The seq range the time range covers; None when no entry falls in it."""
    low, high = 1, None
    if f.since is not None:
        row = first(AuditEntry.select(AuditEntry.seq).where(AuditEntry.at >= f.since)
                    .order_by(AuditEntry.at, AuditEntry.seq).limit(1))
        if row is None:
            return None
        low = row.seq
    if f.until is not None:
        row = first(AuditEntry.select(AuditEntry.seq).where(AuditEntry.at < f.until)
                    .order_by(AuditEntry.at.desc(), AuditEntry.seq.desc()).limit(1))
        if row is None:
            return None
        high = row.seq
    return low, high if high is not None else 2 ** 62


def _matching(f: EntryFilter) -> peewee.Expression | None:
    """The filter's condition, or None when nothing can match."""
    condition: peewee.Expression = AuditEntry.seq > 0
    if f.since is not None or f.until is not None:
        seqs = _seq_range(f)
        if seqs is None or seqs[0] > seqs[1]:
            return None
        condition &= AuditEntry.seq.between(*seqs)
        if f.since is not None:
            condition &= AuditEntry.at >= f.since
        if f.until is not None:
            condition &= AuditEntry.at < f.until
    if f.actor:
        condition &= peewee.fn.lower(AuditEntry.actor) == peewee.fn.lower(f.actor)
    if f.subject:
        condition &= peewee.fn.lower(AuditEntry.subject) == peewee.fn.lower(f.subject)
    if f.action:
        condition &= AuditEntry.action == f.action
    return condition


def find_entries(f: EntryFilter, *, before: int | None = None, after: int | None = None,
                 limit: int = PAGE_SIZE) -> EntryPage:
    """One page of the entries matching ``f``, newest first: those older than ``before``,
    or those newer than ``after`` (keyset paging: a page costs the same anywhere in the log)."""
    if before is not None and after is not None:
        raise InvalidInput("page with 'before' or 'after', not both")
    for name, value in (("before", before), ("after", after)):
        if value is not None and not 0 <= value < 2 ** 62:
            raise InvalidInput(f"'{name}' is an entry number", fields={name: ["not an entry number"]})
    condition = _matching(f)
    if condition is None:
        return EntryPage((), None, None)
    if after is not None:
        rows = list(AuditEntry.select().where(condition & (AuditEntry.seq > after))
                    .order_by(AuditEntry.seq).limit(limit + 1))
        more_newer = len(rows) > limit
        rows = rows[:limit][::-1]
        more_older = bool(rows)  # we came from an older page
    else:
        query = AuditEntry.select().where(condition if before is None else condition & (AuditEntry.seq < before))
        rows = list(query.order_by(AuditEntry.seq.desc()).limit(limit + 1))
        more_older = len(rows) > limit
        rows = rows[:limit]
        more_newer = before is not None and bool(rows)
    entries = tuple(entry_dict(r) for r in rows)
    return EntryPage(entries, entries[-1]["seq"] if more_older and entries else None,
                     entries[0]["seq"] if more_newer and entries else None)


def export_entries(f: EntryFilter, limit: int = EXPORT_LIMIT) -> Iterator[dict[str, Any]]:
    """The newest ``limit`` entries matching ``f``, newest first, read ``EXPORT_CHUNK`` at a time
    (an export streams; memory stays flat)."""
    condition = _matching(f)
    if condition is None:
        return
    before: int | None = None
    left = limit
    while left > 0:
        query = AuditEntry.select().where(condition if before is None else condition & (AuditEntry.seq < before))
        rows = list(query.order_by(AuditEntry.seq.desc()).limit(min(EXPORT_CHUNK, left)))
        for row in rows:
            yield entry_dict(row)
        if len(rows) < min(EXPORT_CHUNK, left):
            return
        left -= len(rows)
        before = rows[-1].seq


def actions() -> list[str]:
    """The distinct actions logged, for the filter's choices: a skip scan of the
    ``action`` index (one seek per action), not a scan of the log."""
    sql = ("WITH RECURSIVE a(x) AS (SELECT MIN(action) FROM audit_entry UNION ALL "
           "SELECT (SELECT MIN(action) FROM audit_entry WHERE action > a.x) FROM a WHERE a.x IS NOT NULL) "
           f"SELECT x FROM a WHERE x IS NOT NULL LIMIT {ACTIONS_LIMIT}")
    return [row[0] for row in AuditEntry._meta.database.execute_sql(sql).fetchall()]


@dataclass(frozen=True)
class EntryDetail:
    """One entry, whether it still matches its own hash and follows the one before, its
    neighbours, and the signed checkpoint that covers it (None if none does yet)."""

    entry: dict[str, Any]
    hash_matches: bool
    follows_previous: bool
    previous_seq: int | None
    next_seq: int | None
    checkpoint: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"entry": self.entry, "hash_matches": self.hash_matches, "follows_previous": self.follows_previous,
                "previous_seq": self.previous_seq, "next_seq": self.next_seq, "checkpoint": self.checkpoint}


def entry_detail(seq: int) -> EntryDetail:
    row = AuditEntry.get_or_none(AuditEntry.seq == seq)
    if row is None:
        raise NotFound(f"the audit log has no entry {seq}")
    previous = AuditEntry.get_or_none(AuditEntry.seq == seq - 1)
    following = AuditEntry.get_or_none(AuditEntry.seq == seq + 1)
    body = entry_body(row.seq, row.at, row.actor, row.action, row.subject, row.data, row.prev_hash)
    expected_prev = previous.entry_hash if previous else "0" * 64
    covering = first(AuditCheckpoint.select().where(AuditCheckpoint.tree_size >= seq)
                     .order_by(AuditCheckpoint.tree_size).limit(1))
    return EntryDetail(entry_dict(row), digest(body) == row.entry_hash,
                       row.prev_hash == expected_prev and (previous is not None or seq == 1),
                       previous.seq if previous else None, following.seq if following else None,
                       checkpoint_summary(covering) if covering else None)


def checkpoint_summary(row: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint as an auditor reads it: the entries it covers, when, and who signed it."""
    before = first(AuditCheckpoint.select(AuditCheckpoint.tree_size)
                   .where(AuditCheckpoint.tree_size < row.tree_size)
                   .order_by(AuditCheckpoint.tree_size.desc()).limit(1))
    data = checkpoint_dict(row)
    data.pop("certificate_chain_pem")
    return {**data, "signer": signer_of(row.certificate_chain_pem),
            "first_new_seq": (before.tree_size if before else 0) + 1}


def signer_of(chain_pem: str) -> str:
    """Who a checkpoint's certificate names (its subject and fingerprint), or words saying it is unreadable."""
    try:
        return describe(x509.load_pem_x509_certificates(chain_pem.encode())[0])
    except ValueError:
        return "(the certificate chain cannot be read)"


def checkpoints(*, before: int | None = None, limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    """Checkpoints, newest first, ``limit`` at a time (``before``: a tree size, for the next page)."""
    query = AuditCheckpoint.select()
    if before is not None:
        query = query.where(AuditCheckpoint.tree_size < before)
    rows = list(query.order_by(AuditCheckpoint.tree_size.desc()).limit(limit))
    return [checkpoint_summary(r) for r in rows]


def verdict_in_words(verdict: AuditVerdict) -> list[dict[str, Any]]:
    """The verification as the checks it ran, in order, each passed (True), failed (False)
    or not reached (None), with what failed and where."""
    problem = verdict.problem or ""
    if verdict.ok:
        failed = None
    elif "malformed" in problem and "checkpoint" not in problem:
        failed = "chain"
    elif "head says" in problem:
        failed = "head"
    elif "checkpoint" in problem or "kept" in problem:
        failed = "checkpoints"
    else:
        failed = "chain"
    checks = [
        ("chain", f"Each of the {verdict.entries} entries still matches its hash and follows the one before it"),
        ("head", "The log's head names its last entry (nothing deleted or appended outside Slate)"),
        ("checkpoints", (f"The {verdict.checkpoints} signed checkpoint(s) are signed by a key the keys folder "
                         "trusts, and their roots match the entries they cover")),
    ]
    out, reached = [], True
    for key, words in checks:
        state: bool | None = (key != failed) if reached else None
        out.append({"check": key, "words": words, "passed": state,
                    "problem": problem if key == failed else None,
                    "first_bad_seq": verdict.first_bad_seq if key == failed else None})
        if key == failed:
            reached = False
    return out

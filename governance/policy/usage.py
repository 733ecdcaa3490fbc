"""Uses, caps, payables, budgets and schedules: counters a decision reads and changes.

A consent or a licence may cap how many requests rely on it (``max_uses``) and may pay per
output (``compensation``); a production may have a GPU-seconds budget and blackout windows
(picture lock). The policy judges these as facts (``consent.uses_so_far``,
``consent.max_uses``, the same for a reference's ``licence``, ``production.gpu_seconds_used``
and ``gpu_seconds_budget``, ``request.in_generation_window``); the studio's rules refuse a
request over a cap, over budget or in a blackout.

Why counters change in the decision's transaction: two requests decided at once must not
both see "one use left". ``decide_request`` reads the counters it judges with ``annotate``
(locking their rows: on SQLite the decision's IMMEDIATE transaction already holds the write
lock; on PostgreSQL ``SELECT ... FOR UPDATE``) and, for a decision that is not a denial,
takes one use of every consent and reference licence it relied on (``reserve``) before the
transaction commits. The values read are in the facts stored with the decision, so a replay
judges the same counts.

What counts as a use: a decided request (allowed or waiting for approval) that relied on the
record. A job that fails gives its uses back (``release``, audited): it made nothing. A
signed output is a use whether or not it is later published. Only reference licences are
counted: a training licence is relied on by every request of its model, and its terms are
judged when the model is trained. Payables are separate: every signed output appends one
``UseEvent`` per consent or licence (references and training) with compensation terms that
its decision relied on, in the signing transaction, unique per pair (``record_use_events``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

import peewee

from ..audit.log import record
from ..clock import as_utc, utcnow
from ..db import database, hot_get, transaction, tuples
from ..errors import Forbidden, InvalidInput, NotFound
from ..principal import Principal
from ..registry.tables import Consent, Licence, Production
from ..spreadsheet import csv_cell, csv_text  # noqa: F401  (csv_cell: the exports' one rule)
from .tables import DecisionRecord, GenerationRequest, ProductionBudget, UsageCounter, UsageReservation, UseEvent

CONSENT, LICENCE = "consent", "licence"
#: the only basis of payment Slate computes: an amount per signed output
PER_OUTPUT = "output"
#: who may set caps, compensation, budgets and blackouts: the people who negotiate them,
#: never the producers whose requests they limit
TERMS_ROLES = frozenset({"legal", "admin"})
#: who may read a production's payables besides its producers
REPORT_ROLES = frozenset({"legal", "auditor", "admin"})
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_AMOUNT = re.compile(r"^\d{1,12}(\.\d{1,4})?$")
#: the columns of ``slate report uses --format csv``, in order; never reordered, only appended to
CSV_COLUMNS = ("created_at", "production", "output_sha256", "request_id", "decision_id", "kind", "record_id",
               "record_version", "record_ref", "payee", "amount", "currency", "per")


def _sqlite() -> bool:
    return isinstance(database.obj, peewee.SqliteDatabase)


# ---------------------------------------------------------------- terms

def compensation_terms(amount: str | None, currency: str | None, per: str = PER_OUTPUT) -> dict[str, str] | None:
    """Validated compensation terms, or None when no amount is given (nothing owed)."""
    if amount is None or str(amount).strip() == "":
        if currency:
            raise InvalidInput("a currency was given without an amount", hint="give both, e.g. --amount 250.00 "
                               "--currency GBP")
        return None
    text = str(amount).strip()
    if not _AMOUNT.match(text):
        raise InvalidInput(f"'{text[:40]}' is not an amount", hint="a decimal number such as 250.00")
    code = (currency or "").strip().upper()
    if not _CURRENCY.match(code):
        raise InvalidInput(f"'{(currency or '')[:10]}' is not an ISO 4217 currency code", hint="e.g. GBP, EUR, USD")
    if per != PER_OUTPUT:
        raise InvalidInput(f"compensation 'per {per[:20]}' is not supported", hint="only per output")
    return {"amount": str(Decimal(text)), "currency": code, "per": PER_OUTPUT}


def _subject(kind: str, ref: str | int) -> Consent | Licence:
    if kind == CONSENT:
        row = Consent.get_or_none(Consent.id == int(ref)) if str(ref).isdigit() else None
        if row is None:
            raise NotFound(f"no consent #{str(ref)[:40]} exists", hint="list them with: slate consent list")
        return row
    if kind == LICENCE:
        lic = (Licence.get_or_none(Licence.ref == str(ref))
               or (Licence.get_or_none(Licence.id == int(ref)) if str(ref).isdigit() else None))
        if lic is None:
            raise NotFound(f"no licence '{str(ref)[:120]}' exists", hint="list them with: slate licence list")
        return lic
    raise InvalidInput(f"'{kind[:20]}' is neither consent nor licence")


def set_terms(kind: str, ref: str | int, *, max_uses: int | None, compensation: Mapping[str, str] | None,
              by: Principal | None = None) -> dict[str, Any]:
    """Set a consent's or licence's use cap and compensation (legal or admin; ``by=None``
    is the operator's own path). The record's version is bumped, so decisions cite the
    terms they were judged on; a cap below the uses already taken refuses further requests
    and takes nothing back."""
    if by is not None and not by.has_any(TERMS_ROLES):
        raise Forbidden("only legal sets use caps and compensation terms")
    if max_uses is not None and (not isinstance(max_uses, int) or isinstance(max_uses, bool) or max_uses < 0):
        raise InvalidInput("the use cap must be a whole number of uses, 0 or more")
    terms = compensation_terms(compensation.get("amount"), compensation.get("currency"),
                               compensation.get("per", PER_OUTPUT)) if compensation else None
    with transaction():
        row = _subject(kind, ref)
        row.max_uses, row.compensation, row.version = max_uses, terms, row.version + 1
        row.save(only=[type(row).max_uses, type(row).compensation, type(row).version])
        record(f"{kind}.terms_set", f"{kind}:{row.id}", {"max_uses": max_uses, "compensation": terms,
                                                          "version": row.version},
               actor=by.name if by else None)
    return {"kind": kind, "id": row.id, "version": row.version, "max_uses": max_uses, "compensation": terms,
            "uses_so_far": _count(kind, row.id)}


# ---------------------------------------------------------------- budgets and schedules

def _blackouts(windows: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    out = []
    for w in windows:
        try:
            start, end = date.fromisoformat(str(w["from"])), date.fromisoformat(str(w["until"]))
        except (KeyError, ValueError, TypeError):
            raise InvalidInput("a blackout window needs 'from' and 'until' dates (YYYY-MM-DD)") from None
        if end < start:
            raise InvalidInput(f"blackout {start}..{end} ends before it starts")
        out.append({"from": start.isoformat(), "until": end.isoformat(), "reason": str(w.get("reason") or "")[:200]})
    return sorted(out, key=lambda w: (w["from"], w["until"]))


def set_budget(production: str, *, gpu_seconds: float | None, blackouts: Iterable[Mapping[str, Any]] = (),
               by: Principal | None = None) -> dict[str, Any]:
    """Set a production's GPU-seconds budget (None: none) and blackout windows (legal or admin)."""
    if by is not None and not by.has_any(TERMS_ROLES):
        raise Forbidden("only legal or an admin sets a production's budget and blackouts")
    if gpu_seconds is not None and not (0 <= float(gpu_seconds) < 1e12):
        raise InvalidInput("the GPU-seconds budget must be 0 or more")
    windows = _blackouts(blackouts)
    with transaction():
        if Production.get_or_none(Production.name == production) is None:
            raise NotFound(f"no production '{production[:120]}' exists")
        now = utcnow()
        ProductionBudget.insert(production=production, gpu_seconds_budget=gpu_seconds, blackouts=windows,
                                updated_at=now).on_conflict(
            conflict_target=[ProductionBudget.production],
            update={ProductionBudget.gpu_seconds_budget: gpu_seconds, ProductionBudget.blackouts: windows,
                    ProductionBudget.updated_at: now}).execute()
        record("production.budget_set", f"production:{production}",
               {"gpu_seconds_budget": gpu_seconds, "blackouts": windows}, actor=by.name if by else None)
    return budget_of(production)


def budget_of(production: str) -> dict[str, Any]:
    row = hot_get(ProductionBudget, ProductionBudget.production, production)
    return {"production": production, "gpu_seconds_budget": row.gpu_seconds_budget if row else None,
            "gpu_seconds_used": row.gpu_seconds_used if row else 0.0, "blackouts": list(row.blackouts) if row else []}


def add_gpu_seconds(production: str, seconds: float) -> None:
    """What a worker reported an output took, added to its production (in the signing transaction)."""
    if seconds <= 0:
        return
    now = utcnow()
    ProductionBudget.insert(production=production, gpu_seconds_used=seconds, blackouts=[], updated_at=now).on_conflict(
        conflict_target=[ProductionBudget.production],
        update={ProductionBudget.gpu_seconds_used: ProductionBudget.gpu_seconds_used + seconds,
                ProductionBudget.updated_at: now}).execute()


def check_gpu_seconds(value: Any) -> float:
    """A worker's reported GPU-seconds for one output: a number from 0 to a day."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise InvalidInput("gpu_seconds must be a number of seconds") from None
    if not (0.0 <= seconds <= 86400.0):
        raise InvalidInput("gpu_seconds must be between 0 and 86400 for one output")
    return seconds


# ---------------------------------------------------------------- facts and reservations

def _count(kind: str, subject_id: int) -> int:
    row = UsageCounter.get_or_none((UsageCounter.subject_kind == kind) & (UsageCounter.subject_id == subject_id))
    return int(row.uses) if row else 0


def _counted(facts: Mapping[str, Any]) -> tuple[set[int], set[int]]:
    """Consents (every one a performer's facts carry) and reference licences the facts name."""
    consents = {int(c["id"]) for p in facts.get("performers") or [] for c in _consents_of(p)
                if str(c.get("id")).isdigit()}
    licences = {int(e["licence"]["id"]) for e in facts.get("references") or []
                if e.get("licence") and str(e["licence"].get("id")).isdigit()}
    return consents, licences


def _consents_of(performer: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [*(performer.get("consents") or []), *([performer["consent"]] if performer.get("consent") else [])]


def _read(kind: str, ids: set[int], lock: bool) -> dict[int, int]:
    if not ids:
        return {}
    if lock:
        now = utcnow()
        UsageCounter.insert_many([{"subject_kind": kind, "subject_id": i, "uses": 0, "updated_at": now}
                                  for i in sorted(ids)]).on_conflict_ignore().execute()
    query = (UsageCounter.select(UsageCounter.subject_id, UsageCounter.uses)
             .where((UsageCounter.subject_kind == kind) & UsageCounter.subject_id.in_(sorted(ids)))
             .order_by(UsageCounter.subject_id))
    if lock and not _sqlite():
        query = query.for_update()  # SQLite: the decision's IMMEDIATE transaction holds the write lock
    return {int(sid): int(uses) for sid, uses in tuples(query)}


def annotate(facts: dict[str, Any], *, lock: bool = False) -> dict[str, Any]:
    """Add the counters, budget and schedule to ``facts`` (in place; returned).

    ``lock``: in the deciding transaction, create missing counters and lock them so that no
    concurrent decision changes them before this one commits."""
    consents, licences = _counted(facts)
    consent_uses, licence_uses = _read(CONSENT, consents, lock), _read(LICENCE, licences, lock)
    for p in facts.get("performers") or []:
        for c in _consents_of(p):
            if str(c.get("id")).isdigit():
                c["uses_so_far"] = consent_uses.get(int(c["id"]), 0)
    for e in facts.get("references") or []:
        lic = e.get("licence")
        if lic and str(lic.get("id")).isdigit():
            lic["uses_so_far"] = licence_uses.get(int(lic["id"]), 0)
    production = facts.get("production") or {}
    request = facts.get("request") or {}
    budget = budget_of(str(production.get("name") or ""))
    production["gpu_seconds_budget"] = budget["gpu_seconds_budget"]
    production["gpu_seconds_used"] = budget["gpu_seconds_used"]
    day = str(request.get("date") or "")
    request["in_generation_window"] = not any(w["from"] <= day <= w["until"] for w in budget["blackouts"])
    return facts


def relied_on(facts: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    """(kind, id, uses read) of each counted record the decision relies on: each performer's
    chosen consent and each reference's licence, once each."""
    out: dict[tuple[str, int], int] = {}
    for p in facts.get("performers") or []:
        c = p.get("consent")
        if c and str(c.get("id")).isdigit():
            out[(CONSENT, int(c["id"]))] = int(c.get("uses_so_far") or 0)
    for e in facts.get("references") or []:
        lic = e.get("licence")
        if lic and str(lic.get("id")).isdigit():
            out[(LICENCE, int(lic["id"]))] = int(lic.get("uses_so_far") or 0)
    return [(k, i, n) for (k, i), n in sorted(out.items())]


def reserve(facts: Mapping[str, Any], decision_id: int, outcome: str) -> None:
    """Take one use of each record a decision that is not a denial relied on (in its
    transaction, after ``annotate(..., lock=True)``). A denial takes nothing."""
    if outcome == "deny":
        return
    now = utcnow()
    for kind, subject_id, before in relied_on(facts):
        UsageCounter.update(uses=UsageCounter.uses + 1, updated_at=now).where(
            (UsageCounter.subject_kind == kind) & (UsageCounter.subject_id == subject_id)).execute()
        UsageReservation.create(decision_id=decision_id, subject_kind=kind, subject_id=subject_id,
                                uses_before=before, created_at=now)


def release(decision_id: int, reason: str, actor: str | None) -> int:
    """Give back the uses a decision took and has not given back (a failed job made
    nothing); audited. Returns how many. In the caller's transaction."""
    now = utcnow()
    taken = list(UsageReservation.select().where((UsageReservation.decision_id == decision_id)
                                                 & UsageReservation.released_at.is_null()))
    for r in taken:
        UsageCounter.update(uses=UsageCounter.uses - 1, updated_at=now).where(
            (UsageCounter.subject_kind == r.subject_kind) & (UsageCounter.subject_id == r.subject_id)
            & (UsageCounter.uses > 0)).execute()
        UsageReservation.update(released_at=now, released_reason=reason[:500]).where(
            UsageReservation.id == r.id).execute()
    if taken:
        record("usage.released", f"decision:{decision_id}",
               {"reason": reason[:500], "records": [f"{r.subject_kind}:{r.subject_id}" for r in taken]}, actor=actor)
    return len(taken)


# ---------------------------------------------------------------- use events (payables)

def record_use_events(output_sha256: str, request: GenerationRequest, decision: DecisionRecord) -> int:
    """One use event per consent and licence with compensation terms the output's decision
    relied on (its recorded ``records``), in the signing transaction; a second call for the
    same output adds none (unique per pair). Returns how many were added."""
    records = decision.records or {}
    consent_ids = [int(r["id"]) for r in records.get("consents") or [] if str(r.get("id")).isdigit()]
    licence_ids = [int(r["id"]) for r in records.get("licences") or [] if str(r.get("id")).isdigit()]
    versions = {(kind, str(r["id"])): r.get("version") for kind, key in ((CONSENT, "consents"), (LICENCE, "licences"))
                for r in records.get(key) or []}
    now = utcnow()
    rows: list[dict[str, Any]] = []
    if consent_ids:
        for c in (Consent.select(Consent, Consent.person).where(Consent.id.in_(consent_ids)
                  & Consent.compensation.is_null(False))):
            rows.append(_event(output_sha256, request, decision, CONSENT, c.id, versions.get((CONSENT, str(c.id))),
                               f"consent #{c.id}", c.person.name, c.compensation, now))
    if licence_ids:
        for lic in Licence.select().where(Licence.id.in_(licence_ids) & Licence.compensation.is_null(False)):
            rows.append(_event(output_sha256, request, decision, LICENCE, lic.id,
                               versions.get((LICENCE, str(lic.id))), lic.ref, lic.licensor, lic.compensation, now))
    if not rows:
        return 0
    before = UseEvent.select().where(UseEvent.output_sha256 == output_sha256).count()
    UseEvent.insert_many(rows).on_conflict_ignore().execute()
    return int(UseEvent.select().where(UseEvent.output_sha256 == output_sha256).count() - before)


def _event(output_sha256: str, request: GenerationRequest, decision: DecisionRecord, kind: str, subject_id: int,
           version: Any, ref: str, payee: str, terms: Mapping[str, Any], now: Any) -> dict[str, Any]:
    try:
        amount = str(Decimal(str(terms.get("amount"))))
    except (InvalidOperation, ValueError):
        amount = "0"
    return {"output_sha256": output_sha256, "production": request.production, "request_id": request.id,
            "decision_id": decision.id, "subject_kind": kind, "subject_id": subject_id,
            "subject_version": version if isinstance(version, int) else None, "subject_ref": ref, "payee": payee,
            "terms": dict(terms), "amount": amount, "currency": str(terms.get("currency") or ""), "created_at": now}


@dataclass(frozen=True)
class UseRow:
    """One payable: a signed output's use of a consent or licence, with what is owed."""

    created_at: str
    production: str
    output_sha256: str
    request_id: int
    decision_id: int
    kind: str
    record_id: int
    record_version: int | None
    record_ref: str
    payee: str
    amount: str
    currency: str
    per: str

    def to_dict(self) -> dict[str, Any]:
        return {c: getattr(self, c) for c in CSV_COLUMNS}


def uses_report(production: str, by: Principal | None = None) -> list[UseRow]:
    """A production's use events, oldest first: its producers, legal, auditors and admins.
    Anyone else learns nothing, not even whether the production exists."""
    if by is not None and not (by.has_any(REPORT_ROLES) or (by.has_any({"producer"})
                                                           and production in by.productions)):
        raise NotFound(f"no production '{production[:120]}' you may see")
    if Production.get_or_none(Production.name == production) is None:
        raise NotFound(f"no production '{production[:120]}' you may see")
    query = UseEvent.select().where(UseEvent.production == production).order_by(UseEvent.created_at, UseEvent.id)
    return [UseRow(as_utc(e.created_at).isoformat(), e.production, e.output_sha256, e.request_id, e.decision_id,
                   e.subject_kind, e.subject_id, e.subject_version, e.subject_ref, e.payee, e.amount, e.currency,
                   str((e.terms or {}).get("per") or PER_OUTPUT)) for e in query]


def to_csv(rows: Iterable[UseRow]) -> str:
    """The rows as CSV with a header of ``CSV_COLUMNS`` (stable; RFC 4180 quoting, CRLF)."""
    return csv_text(CSV_COLUMNS, ([row.to_dict()[c] for c in CSV_COLUMNS] for row in rows))

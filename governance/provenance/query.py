"""Searching signed outputs by what made them: asset, person, licence, consent, model,
training set, production, approver, decision outcome and signing time, combined with AND,
newest first, a page at a time.

A filter becomes a *term*: the facet kinds and values an output must have one of. Most
terms are one facet; "by asset" and "by licence" also reach every model whose training set
holds that asset or licence. The most selective term drives an ordered walk of the facet
index; each other term is a point lookup per candidate. Pages are keyset pages (a cursor
names the last output seen), so page 1,000 costs what page 1 does.

Plain functions over the database; the API and CLI translate. Nothing here returns a prompt.
"""

from __future__ import annotations

import base64
import binascii
import heapq
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping, TypeVar

import peewee

from ..canonical import json_default
from ..clock import as_utc
from ..db import tuples
from ..errors import InvalidInput, NotFound
from ..ledger.tables import Output
from ..principal import Principal
from ..registry import scope as visibility
from ..registry.assets import find_asset
from ..registry.consents import find_consent
from ..registry.licences import find_licence
from ..registry.models_registry import get_model
from ..registry.people import find_person, get_production
from ..registry.tables import Model, TrainingSetMember
from ..registry.training_sets import get_training_set
from . import names
from .tables import OutputFacet

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
OUTCOMES = ("allow", "needs_approval", "deny")
FILTERS = ("asset", "person", "licence", "consent", "model", "training_set", "production", "approver", "outcome",
           "use")
#: counting stops here when choosing which term drives: past it, any term is "large"
_ESTIMATE_CAP = 2000

#: kind -> values; an output satisfies the term if it has any one of these facets
Term = Mapping[str, frozenset[str]]


@dataclass(frozen=True)
class OutputQuery:
    """What a caller asks for. Every filter is optional; given filters must all hold."""

    asset: str | None = None
    person: str | None = None
    licence: str | None = None
    consent: str | None = None
    model: str | None = None
    training_set: str | None = None
    production: str | None = None
    approver: str | None = None
    outcome: str | None = None
    use: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.limit, int) or not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidInput(f"the page size must be between 1 and {MAX_LIMIT}", fields={"limit": self.limit})
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise InvalidInput(f"the outcome must be one of {', '.join(OUTCOMES)}", fields={"outcome": self.outcome})
        if self.since and self.until and as_utc(self.since) >= as_utc(self.until):
            raise InvalidInput("'since' must be before 'until'", fields={"since": json_default(self.since)})

    @classmethod
    def from_text(cls, values: Mapping[str, Any]) -> OutputQuery:
        """From strings as a CLI or query string gives them; blank values are left out."""
        data: dict[str, Any] = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()
                                if v is not None and v != ""}
        unknown = set(data) - set(FILTERS) - {"since", "until", "limit", "cursor"}
        if unknown:
            raise InvalidInput(f"unknown filters: {', '.join(sorted(unknown))}",
                               hint=f"filters are {', '.join(FILTERS)}, since, until, limit, cursor")
        for name in ("since", "until"):
            if name in data and not isinstance(data[name], datetime):
                data[name] = parse_time(str(data[name]), name)
        if "limit" in data and not isinstance(data["limit"], int):
            try:
                data["limit"] = int(str(data["limit"]))
            except ValueError:
                raise InvalidInput("the page size (limit) must be a whole number",
                                   fields={"limit": str(data["limit"])[:40]}) from None
        return cls(**data)

    def filters(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and k not in ("limit", "cursor")}


def parse_time(text: str, name: str = "time") -> datetime:
    """ISO 8601 date or date-time; naive means UTC."""
    try:
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            value = datetime.combine(date.fromisoformat(text), datetime.min.time())
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: a zone that moves the first day before year 1
        raise InvalidInput(f"'{text[:40]}' is not a time; write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ",
                           fields={name: text[:40]}) from None


@dataclass(frozen=True)
class OutputPage:
    items: tuple[dict[str, Any], ...]
    next_cursor: str | None
    filters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"items": list(self.items), "next_cursor": self.next_cursor, "filters": self.filters}


@dataclass(frozen=True)
class Plan:
    """A query resolved to facet terms. ``empty`` when no output can match (e.g. no visible production)."""

    terms: tuple[Term, ...]
    since: datetime | None
    until: datetime | None
    after: tuple[datetime, int] | None
    limit: int
    empty: bool = False


# ---------------------------------------------------------------- resolving filters

def models_trained_on(*, asset_id: int | None = None, licence_id: int | None = None) -> set[int]:
    """Ids of models whose training set holds the asset, or an asset under the licence."""
    member = TrainingSetMember.asset == asset_id if asset_id is not None else TrainingSetMember.licence == licence_id
    sets = TrainingSetMember.select(TrainingSetMember.training_set).where(member).distinct()
    return {m.id for m in Model.select(Model.id).where(Model.training_set.in_(sets))}


def _term(**kinds: Iterable[Any]) -> Term:
    return {k: frozenset(str(v) for v in values) for k, values in kinds.items() if values}


def _approver(name: str) -> str:
    from ..auth.tables import User
    from ..jobs.tables import Approval
    if not (User.select().where(User.name == name).exists()
            or Approval.select().where(Approval.approver == name).exists()):
        raise NotFound(f"no approver '{name[:200]}' is known", hint="approvers are users: slate user list")
    return name


def resolve(query: OutputQuery, principal: Principal | None = None) -> Plan:
    """Look every named record up (NotFound names the first unknown one) and build the terms.

    A producer names only records of their own productions: any other answers as unknown.
    """
    query = named(query, principal)
    terms: list[Term] = []
    if query.asset:
        asset = find_asset(query.asset, principal)
        terms.append(_term(asset=[asset.id], model=models_trained_on(asset_id=asset.id)))
    if query.licence:
        lic = find_licence(query.licence, principal)
        terms.append(_term(licence=[lic.id], model=models_trained_on(licence_id=lic.id)))
    if query.person:
        terms.append(_term(person=[find_person(query.person, principal).id]))
    if query.consent:
        terms.append(_term(consent=[find_consent(query.consent, principal).id]))
    if query.model:
        terms.append(_term(model=[get_model(query.model).id]))
    if query.training_set:
        terms.append(_term(training_set=[get_training_set(query.training_set).id]))
    if query.approver:
        terms.append(_term(approver=[_approver(query.approver)]))
    if query.outcome:
        terms.append(_term(outcome=[query.outcome]))
    if query.use:
        terms.append(_term(use=[query.use]))
    empty = any(not t for t in terms)
    production_term, hidden = _productions(query, principal)
    if production_term is not None:
        terms.append(production_term)
    return Plan(tuple(terms), query.since, query.until, decode_cursor(query.cursor) if query.cursor else None,
                query.limit, empty or hidden)


def named(query: OutputQuery, principal: Principal | None = None) -> OutputQuery:
    """``query`` with every name typed in any letter case replaced by the record's own
    reference (``names.canonical``); a name that fits several records raises ``Ambiguous``."""
    typed: dict[str, Any] = {kind: getattr(query, kind) for kind in names.KINDS if getattr(query, kind)}
    found: dict[str, Any] = {kind: names.canonical(kind, text, principal) for kind, text in typed.items()}
    return replace(query, **found) if found != typed else query


def _productions(query: OutputQuery, principal: Principal | None) -> tuple[Term | None, bool]:
    """The production term: the one asked for, else (for a producer) the ones they may see."""
    confined = visibility.confined(principal)
    if query.production:
        if confined and not principal.may_see_production(query.production):  # type: ignore[union-attr]
            raise visibility.hidden("production", query.production)
        production = get_production(query.production)
        return _term(production=[production.name]), False
    if confined:
        visible = sorted(principal.productions)  # type: ignore[union-attr]
        return _term(production=visible), not visible
    return None, False


# ---------------------------------------------------------------- cursor

def encode_cursor(signed_at: datetime, output_id: int) -> str:
    text = f"{json_default(as_utc(signed_at))}|{output_id}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, ident = text.partition("|")
        return parse_time(at), int(ident)
    except (ValueError, UnicodeDecodeError, binascii.Error, InvalidInput):
        raise InvalidInput("the cursor is not one Slate issued; start again without it",
                           fields={"cursor": cursor[:60]}) from None


# ---------------------------------------------------------------- running a plan

#: the table a facet query selects from
T = TypeVar("T", bound=peewee.Model)


def _bounded(q: peewee.ModelSelect[T], f: Any, plan: Plan) -> peewee.ModelSelect[T]:
    if plan.since:
        q = q.where(f.signed_at >= plan.since)
    if plan.until:
        q = q.where(f.signed_at < plan.until)
    if plan.after:
        at, ident = plan.after
        q = q.where(f.signed_at <= at, (f.signed_at < at) | ((f.signed_at == at) & (f.output < ident)))
    return q


def _has(term: Term, f: Any) -> peewee.ColumnBase:
    """``f``'s output has one of the term's facets: one index probe per (kind, value)."""
    probes: list[peewee.ColumnBase] = []
    for kind, values in sorted(term.items()):
        g = OutputFacet.alias("g")
        inner = g.select(peewee.SQL("1")).where(g.kind == kind, g.value.in_(sorted(values)),
                                                g.signed_at == f.signed_at, g.output == f.output)
        probes.append(peewee.fn.EXISTS(inner))
    expression = probes[0]
    for probe in probes[1:]:
        expression = expression | probe
    return expression


def _estimate(term: Term, plan: Plan) -> int:
    total = 0
    for kind, values in term.items():
        f = OutputFacet.alias("f")
        q = _bounded(f.select(peewee.SQL("1")).where(f.kind == kind, f.value.in_(sorted(values))), f, plan)
        total += q.limit(_ESTIMATE_CAP).count()
    return total


def _scan(kind: str, value: str, others: list[Term], plan: Plan) -> list[tuple[datetime, int]]:
    f = OutputFacet.alias("f")
    q = _bounded(f.select(f.signed_at, f.output).where(f.kind == kind, f.value == value), f, plan)
    for term in others:
        q = q.where(_has(term, f))
    q = q.order_by(f.signed_at.desc(), f.output.desc()).limit(plan.limit + 1)
    return [(as_utc(at), int(ident)) for at, ident in tuples(q)]


def matching(plan: Plan) -> list[tuple[datetime, int]]:
    """(signed_at, output id) of up to ``limit + 1`` matching outputs, newest first."""
    if plan.empty:
        return []
    terms = list(plan.terms)
    if not terms:
        driver: Term = {"all": frozenset({""})}
    elif len(terms) == 1:
        driver = terms.pop()
    else:
        driver = min(terms, key=lambda t: _estimate(t, plan))
        terms.remove(driver)
    # each (kind, value) of the driver is one ordered index walk; merging their heads is exact
    walks = [_scan(kind, value, terms, plan) for kind, values in sorted(driver.items()) for value in sorted(values)]
    merged, seen = [], set()
    for at, ident in heapq.merge(*walks, reverse=True):
        if ident not in seen:
            seen.add(ident)
            merged.append((at, ident))
            if len(merged) > plan.limit:
                break
    return merged


def output_item(row: Output) -> dict[str, Any]:
    return {"sha256": row.sha256, "signed_at": as_utc(row.signed_at), "model_ref": row.model_ref,
            "request_id": row.request_id, "decision_id": row.decision_id, "job_id": row.job_id,
            "media_type": row.media_type, "in_good_standing": row.in_good_standing,
            "standing_reason": row.standing_reason}


def find_outputs(query: OutputQuery, principal: Principal | None = None) -> OutputPage:
    """One page of outputs matching every filter, newest first, with the cursor of the next."""
    plan = resolve(query, principal)
    hits = matching(plan)
    page, more = hits[:plan.limit], len(hits) > plan.limit
    rows = {r.id: r for r in Output.select().where(Output.id.in_([i for _, i in page]))} if page else {}
    items = tuple(output_item(rows[i]) for _, i in page if i in rows)
    cursor = encode_cursor(*page[-1]) if more else None
    return OutputPage(items, cursor, query.filters())


__all__ = [
    "FILTERS",
    "MAX_LIMIT",
    "OutputPage",
    "OutputQuery",
    "Plan",
    "decode_cursor",
    "encode_cursor",
    "find_outputs",
    "matching",
    "models_trained_on",
    "named",
    "parse_time",
    "resolve",
]

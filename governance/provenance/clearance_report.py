"""A production's clearance report: every AI output it made, judged now, signed by Slate.

Distributors and E&O insurers ask for a clearance package before a film ships. One
function (``clearance_report``) builds it for the CLI (``slate report clearance``), the API
(``GET /api/v1/productions/<p>/clearance``) and the page, as frozen values that own their
``to_dict`` (the shape P2's renderings read: ``slate-clearance-report/1``).

What it reads, and why that way: the ledger (outputs of the production, or of a cut's
matched clips), each output's decision record (the consents and licences it relied on,
the policy version), the registry's consents and licences as they stand *today* (live
standing: a takedown or revocation since signing shows, without a sweep having run), the
output reviews, the models with their base and attestation, and the approvers' own
signatures from the manifest store the ledger keeps (never the image files). Every table
is read in bulk per production, never per output, so a production of 100,000 outputs is
one pass (``benchmarks/report_bench.py``).

Release territories: the production's catalogue attribute ``release_territories`` when
legal recorded one, else the territories its requests were made for (what the production
said it would release in). "WW" covers every territory.

The signed form (``sign_report``) is Slate's ES256 signature (``credentials.countersign``,
the key that signs its C2PA claims and audit checkpoints) over the canonical JSON of
``{"report", "signed_at"}``, with the certificate chain, so ``verify_report`` checks it
offline against the studio's exported trust anchors (``slate keys`` / the verification kit).
"""

from __future__ import annotations

import base64
import json
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

import peewee

from ..audit.trust import TrustAnchors
from ..canonical import canonical_json, sha256_hex
from ..clock import utcnow
from ..credentials import approvals as approver_signatures
from ..credentials import tsa
from ..credentials.claim import GOVERNANCE_LABEL
from ..credentials.countersign import countersign, verify_countersignature
from ..credentials.identities import IdentityStore, identity_anchors_path
from ..credentials.jumbf import stored_assertion
from ..credentials.keys import KeyStore
from ..credentials.signers import Signer
from ..db import database, transaction, tuples
from ..errors import ConfigurationError, CredentialError, InvalidInput, NotFound
from ..ids import is_id
from ..jobs.tables import Job, OutputReview
from ..ledger.tables import ManifestStore, Output, Reproduction
from ..policy.tables import DecisionRecord, GenerationRequest, PolicyVersion
from ..principal import Principal
from ..registry import base_models
from ..registry.tables import Consent, Licence, Model, Person, Production
from ..settings import Settings
from .standing import flagged_outputs
from .tables import OutputFacet

FORMAT = "slate-clearance-report/1"
REGULATION = "EU AI Act Art. 50"
WORLDWIDE = "WW"
#: who may read a production's report besides its own producers
OVERSIGHT = frozenset({"legal", "auditor", "admin"})
_CHUNK = 500


# ------------------------------------------------------------------ the report's values


@dataclass(frozen=True)
class RightLine:
    """A consent or licence an output's decision relied on, judged against the release."""

    kind: str  # consent | licence
    data: Mapping[str, Any]
    covers_release: bool
    problems: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {**self.data, "covers_release": self.covers_release, "problems": list(self.problems)}


@dataclass(frozen=True)
class ApproverLine:
    name: str
    role: str
    signature: str  # valid | invalid | absent

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "signature": self.signature}


@dataclass(frozen=True)
class OutputLine:
    sha256: str
    request_id: str
    created_at: str
    verdict: str
    standing: str
    standing_reasons: tuple[str, ...]
    model: Mapping[str, Any]
    training_set_root: str
    policy: Mapping[str, Any]
    decision: str
    consents: tuple[RightLine, ...]
    licences: tuple[RightLine, ...]
    approvers: tuple[ApproverLine, ...]
    review: Mapping[str, Any] | None
    people: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "request_id": self.request_id, "created_at": self.created_at,
                "verdict": self.verdict, "standing": self.standing, "standing_reasons": list(self.standing_reasons),
                "model": dict(self.model), "training_set_root": self.training_set_root, "policy": dict(self.policy),
                "decision": self.decision, "consents": [c.to_dict() for c in self.consents],
                "licences": [lic.to_dict() for lic in self.licences],
                "approvers": [a.to_dict() for a in self.approvers],
                "review": dict(self.review) if self.review is not None else None,
                "synthetic": True, "depicts_real_people": bool(self.people), "people": list(self.people)}


@dataclass(frozen=True)
class CreditLine:
    line: str
    kind: str  # performer | licensor | other
    outputs: int

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "kind": self.kind, "outputs": self.outputs}


@dataclass(frozen=True)
class Issue:
    output: str
    problem: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        return {"output": self.output, "problem": self.problem, "action": self.action}


@dataclass(frozen=True)
class ClearanceReport:
    production: Mapping[str, Any]
    generated_at: str
    scope: Mapping[str, Any] | None
    outputs: tuple[OutputLine, ...]
    credits: tuple[CreditLine, ...]
    issues: tuple[Issue, ...]
    totals: Mapping[str, int] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        """No issue: what ``--fail-on-issues`` gates a delivery on."""
        return not self.issues

    def disclosure(self) -> dict[str, Any]:
        real = [o.sha256 for o in self.outputs if o.people]
        statement = (f"All {len(self.outputs)} outputs listed were generated or altered by AI and must be disclosed "
                     f"as synthetic; {len(real)} of them {'depicts' if len(real) == 1 else 'depict'} real people "
                     f"and must be labelled as such where shown.")
        return {"regulation": REGULATION, "synthetic_outputs": len(self.outputs), "depicting_real_people": real,
                "statement": statement}

    def to_dict(self) -> dict[str, Any]:
        kind = "timeline" if self.scope is not None else "production"
        return {"format": FORMAT, "production": dict(self.production), "generated_at": self.generated_at,
                "scope": {"kind": kind, "timeline": dict(self.scope) if self.scope is not None else None},
                "outputs": [o.to_dict() for o in self.outputs], "credits": [c.to_dict() for c in self.credits],
                "issues": [i.to_dict() for i in self.issues], "disclosure": self.disclosure(),
                "totals": dict(self.totals)}

    def render(self) -> str:
        """The report as a person reads it in a terminal."""
        t = self.totals
        lines = [(f"clearance report: {self.production['name']} ({self.production['title']}), release in "
                  f"{', '.join(self.production['release_territories']) or 'no territory'}"),
                 f"{t['outputs']} outputs, {t['in_good_standing']} in good standing, {t['issues']} issue(s)"]
        lines += [f"credit ({c.kind}): {c.line}  [{c.outputs} output(s)]" for c in self.credits]
        lines += [f"ISSUE {i.output[:16]}: {i.problem}\n  do: {i.action}" for i in self.issues]
        return "\n".join(lines)


# ------------------------------------------------------------------ building it


def may_read(by: Principal | None, production: str) -> bool:
    """Producers of the production, legal, auditors and admins (``by=None``: the operator)."""
    return by is None or bool(by.roles & OVERSIGHT) or ("producer" in by.roles and production in by.productions)


def clearance_report(production: str, *, by: Principal | None, timeline: Any = None,
                     today: date | None = None, approver_trust: ApproverTrust | None = None,
                     window: tuple[int, int] | None = None) -> ClearanceReport:
    """The report of ``production`` (or of the outputs ``timeline``, a ``TimelineScope`` of
    P2's ``timelines.match_clips``, matched) as ``by`` may read it; anyone else is told the
    production does not exist, so a report request never confirms a production's name.

    ``window`` (offset, count) judges only those outputs, oldest first, reading only their
    records: the page shows a production of 50,000 outputs a window at a time (its lines,
    issues, credits and totals are the window's), while the signed report (CLI, API, the
    page's downloads) judges every output."""
    row = Production.get_or_none(Production.name == production)
    if row is None or not may_read(by, production):
        raise NotFound(f"no production '{production}' (or not one you may read the clearance report of)",
                       hint="producers read their own productions' reports; legal and auditors read all")
    now = utcnow()
    today = today or now.date()
    trust = approver_trust or ApproverTrust()
    with transaction():  # one consistent reading of ledger and registry
        only = None if timeline is None else set(_matched(timeline))
        outputs = [o for o in _outputs(production, window) if only is None or o[0] in only]
        shown = None if window is None else outputs
        requests = _requests(production, None if shown is None else [o[1] for o in shown])
        release = _release_territories(row, requests.values() if shown is None else _territories(production))
        decisions = _decisions(production, None if shown is None else [o[2] for o in shown])
        policies = {pid: (uid, version, sha) for pid, uid, version, sha in
                    tuples(PolicyVersion.select(PolicyVersion.id, PolicyVersion.uid, PolicyVersion.version,
                                                PolicyVersion.sha256))}
        consent_ids = {i for d in decisions.values() for i in d.consents}
        licence_ids = {i for d in decisions.values() for i in d.licences}
        consents = {c.id: c for c in _chunked(Consent, consent_ids, Person)}
        licences = {lic.id: lic for lic in _chunked(Licence, licence_ids)}
        # each right judged once against the release, however many outputs relied on it
        consent_lines = {i: _consent_line(c, release, today) for i, c in consents.items()}
        licence_lines = {i: _licence_line(lic, release, today) for i, lic in licences.items()}
        models = _models()
        reviews = _reviews(production)
        reproductions = _reproductions(production, None if shown is None else [o[0] for o in shown])
        flagged = _flagged_workers(production, None if shown is None else [o[3] for o in shown])
        approvals = _approvals(production, None if shown is None else [o[9] for o in shown])
        lines: list[OutputLine] = []
        issues: list[Issue] = []
        credit_counts: dict[tuple[str, str], int] = {}
        no_decision = _Decision("unknown", 0, (), ())
        for sha, request_id, decision_id, job_id, signed_at, claim_json, claim_sha, good, reason, label in outputs:
            governance = _governance_record(claim_json)
            request = requests.get(request_id)
            decision = decisions.get(decision_id, no_decision)
            c_lines = tuple(consent_lines[i] for i in decision.consents if i in consent_lines)
            l_lines = tuple(licence_lines[i] for i in decision.licences if i in licence_lines)
            reasons = _standing_reasons(bool(good), reason, c_lines, l_lines, reproductions.get(sha),
                                        flagged.get(job_id))
            approvers = _approvers(governance, label, approvals.get(label), trust)
            verdict = _verdict(claim_json, claim_sha, reasons, approvers)
            policy_row = policies.get(decision.policy_version)
            line = OutputLine(
                sha256=sha, request_id=request_id, created_at=_when(signed_at), verdict=verdict,
                standing="good" if not reasons else "not_in_good_standing", standing_reasons=tuple(reasons),
                model=_model_view(models, governance.get("model") or {}), training_set_root=str(
                    (governance.get("training_set") or {}).get("merkle_root") or ""),
                policy={"uid": policy_row[0], "version": policy_row[1], "sha256": policy_row[2]} if policy_row
                else dict(governance.get("policy") or {}),
                decision=decision.outcome, consents=c_lines, licences=l_lines,
                approvers=approvers, review=reviews.get(job_id),
                people=tuple(request[1]) if request else ())
            lines.append(line)
            issues += _issues(line)
            _count_credits(credit_counts, [consents[i] for i in decision.consents if i in consents],
                           [licences[i] for i in decision.licences if i in licences])
    owed = tuple(CreditLine(text, kind, n) for (kind, text), n in
                    sorted(credit_counts.items(), key=lambda item: (_KIND_ORDER[item[0][0]], item[0][1])))
    good_count = sum(1 for line in lines if line.standing == "good")
    people = {p for line in lines for p in line.people}
    totals = {"outputs": len(lines), "in_good_standing": good_count, "issues": len(issues), "people": len(people),
              "licences": len({lic.data["ref"] for line in lines for lic in line.licences}),
              "models": len({line.model["ref"] for line in lines})}
    header = {"name": row.name, "title": row.title or row.name, "release_territories": release}
    scope = timeline.to_dict() if timeline is not None else None
    return ClearanceReport(header, _stamp(now), scope, tuple(lines), owed, tuple(issues), totals)


_KIND_ORDER = {"performer": 0, "licensor": 1, "other": 2}


def _matched(timeline: Any) -> Iterable[str]:
    """The output SHA-256s a ``TimelineScope`` (``timelines.match_clips``) matched."""
    return [str(s) for s in timeline.outputs]


def _iso(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return value.isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _stamp(value: datetime) -> str:
    return str(_iso(value))


def _ids(records: Mapping[str, Any] | None, kind: str) -> list[int]:
    return [int(r["id"]) for r in (records or {}).get(kind, []) if isinstance(r, Mapping) and is_id(r.get("id"))]


def _chunks(values: Iterable[Any]) -> Iterator[list[Any]]:
    items = sorted(values)
    for start in range(0, len(items), _CHUNK):
        yield items[start:start + _CHUNK]


def _chunked(table: Any, ids: Iterable[int], *joined: Any) -> Iterator[Any]:
    for part in _chunks(ids):
        query = table.select(table, *joined)
        for other in joined:
            query = query.join(other)
        yield from query.where(table.id.in_(part))


def _raw(query: peewee.SelectBase) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as the driver returns them, without peewee's per-value conversion
    (JSON and times are converted by the caller, once, where used): at 100,000 outputs the
    conversion costs more than the reading."""
    return list(database.execute(query).fetchall())


def _when(value: Any) -> str:
    """A UTC time column as ISO 8601 with Z (SQLite hands text, PostgreSQL a datetime)."""
    if isinstance(value, datetime):
        return _stamp(value)
    return str(value).replace(" ", "T") + "Z"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _production_requests(production: str) -> peewee.SelectQuery:
    """The production's request ids as the ledger writes them (text)."""
    return GenerationRequest.select(peewee.Cast(GenerationRequest.id, "TEXT")).where(
        GenerationRequest.production == production)


def _requests(production: str, among: Sequence[Any] | None = None) -> dict[str, tuple[str, list[str]]]:
    query = (GenerationRequest.select(GenerationRequest.id, GenerationRequest.territory, GenerationRequest.people)
             .where(GenerationRequest.production == production))
    if among is not None:
        query = query.where(GenerationRequest.id.in_(sorted({int(i) for i in among if str(i).isdigit()})))
    rows = _raw(query)
    return {str(rid): (territory, sorted(_json(people) or [])) for rid, territory, people in rows}


#: per open database (weakly: a database closed and another opened starts afresh), production ->
#: (the newest request id read, the territories its requests asked for): a request's territory
#: never changes once recorded, so only requests newer than those read are asked again
_TERRITORIES: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, frozenset[str]]]] = weakref.WeakKeyDictionary()


def _territories(production: str) -> list[tuple[str, list[str]]]:
    """The territories the production's requests asked for (what its release is judged against
    when none is recorded), reading only the requests made since the last look (a whole
    production's are 50,000 rows: a tenth of a second on each page). Only the windowed page
    uses it; the signed report reads every request."""
    seen = _TERRITORIES.setdefault(database.obj, {})
    newest, known = seen.get(production, (0, frozenset()))
    rows = _raw(GenerationRequest.select(peewee.fn.MAX(GenerationRequest.id), GenerationRequest.territory)
                .where(GenerationRequest.production == production, GenerationRequest.id > newest)
                .group_by(GenerationRequest.territory))
    if rows:
        newest = max(newest, *(int(top) for top, _ in rows))
        known = known | {str(territory) for _, territory in rows}
        seen[production] = (newest, known)
    return [(territory, []) for territory in sorted(known)]


def _release_territories(row: Production, requests: Iterable[tuple[str, list[str]]]) -> list[str]:
    recorded = (row.attributes or {}).get("release_territories")
    if isinstance(recorded, list) and recorded:
        return sorted({str(t) for t in recorded})
    return sorted({territory for territory, _ in requests})


_OUTPUT_COLUMNS = (Output.sha256, Output.request_id, Output.decision_id, Output.job_id, Output.signed_at,
                   Output.claim_json, Output.claim_sha256, Output.in_good_standing, Output.standing_reason,
                   Output.manifest_label)


def _outputs(production: str, window: tuple[int, int] | None = None) -> list[tuple[Any, ...]]:
    if window is None:
        return _raw(Output.select(*_OUTPUT_COLUMNS).where(Output.request_id.in_(_production_requests(production)))
                    .order_by(Output.signed_at, Output.id))
    # the window found by walking the production's facet index in signing order, not by sorting
    # every output of the production
    ids = [i for i, in _raw(OutputFacet.select(OutputFacet.output).where(_production_facets(production))
                             .order_by(OutputFacet.signed_at, OutputFacet.output)
                             .offset(window[0]).limit(window[1]))]
    return _raw(Output.select(*_OUTPUT_COLUMNS).where(Output.id.in_(ids)).order_by(Output.signed_at, Output.id))


def _production_facets(production: str) -> peewee.Expression:
    return (OutputFacet.kind == "production") & (OutputFacet.value == production)


def output_count(production: str) -> int:
    """How many signed outputs the production has (its facet index): what a windowed page pages through."""
    return int(OutputFacet.select().where(_production_facets(production)).count())


@dataclass(frozen=True)
class _Decision:
    outcome: str
    policy_version: int
    consents: tuple[int, ...]
    licences: tuple[int, ...]


def _decisions(production: str, among: Sequence[Any] | None = None) -> dict[str, _Decision]:
    """The production's decisions by id (as the ledger writes it), with the ids of the
    consents and licences each relied on (its records); only those ``among`` when given."""
    query = (DecisionRecord.select(DecisionRecord.id, DecisionRecord.outcome, DecisionRecord.policy_version,
                                   DecisionRecord.records)
             .join(GenerationRequest).where(GenerationRequest.production == production))
    if among is not None:
        query = query.where(DecisionRecord.id.in_(sorted({int(i) for i in among if str(i).isdigit()})))
    rows = _raw(query)
    found = {}
    for did, outcome, policy, records in rows:
        data = _json(records) or {}
        found[str(did)] = _Decision(outcome, policy, tuple(_ids(data, "consents")), tuple(_ids(data, "licences")))
    return found


def _models() -> dict[str, dict[str, Any]]:
    found = {}
    for model in Model.select():
        base = base_models.base_facts(base_models.base_of(model), model.base_model)
        found[f"{model.name}:{model.version}"] = {"ref": f"{model.name}:{model.version}",
                                                  "weights_hash": model.weights_hash,
                                                  "attested": bool(model.attested), "base": base}
    return found


def _model_view(models: Mapping[str, dict[str, Any]], claimed: Mapping[str, Any]) -> dict[str, Any]:
    ref = f"{claimed.get('name')}:{claimed.get('version')}"
    known = models.get(ref)
    if known is not None:
        return dict(known)
    return {"ref": ref, "weights_hash": claimed.get("weights_sha256"), "attested": False, "base": {}}


def _reviews(production: str) -> dict[str, dict[str, Any]]:
    rows = tuples(OutputReview.select(OutputReview.job_id, OutputReview.outcome, OutputReview.facts,
                                      OutputReview.reviewer)
                  .join(GenerationRequest, on=(OutputReview.request_id == GenerationRequest.id))
                  .where(GenerationRequest.production == production))
    found = {}
    for job_id, outcome, facts, reviewer in rows:
        facts = facts or {}
        found[job_id] = {"outcome": outcome, "nearest_distance": facts.get("nearest_distance"),
                         "faces": facts.get("faces"), "style_distance": facts.get("style_distance"),
                         "reviewer": reviewer}
    return found


def _reproductions(production: str, among: Sequence[str] | None = None) -> dict[str, Any]:
    """The latest reproduction audit of each of the production's outputs (those ``among``) that found other pixels."""
    shas: Any = (Output.select(Output.sha256).where(Output.request_id.in_(_production_requests(production)))
                 if among is None else list(among))
    latest: dict[str, Any] = {}
    for row in (Reproduction.select().where(Reproduction.output_sha256.in_(shas))
                .order_by(Reproduction.at, Reproduction.id)):
        latest[row.output_sha256] = row
    return {sha: row for sha, row in latest.items() if row.verdict == "differs"}


def _flagged_workers(production: str, among: Sequence[Any] | None = None) -> dict[str, str]:
    """Job id -> why the worker that made it is in doubt (``standing.worker_not_flagged``), per worker once."""
    query = (Job.select(Job.id, Job.worker, Job.output_sha256).join(GenerationRequest)
             .where(GenerationRequest.production == production, Job.worker.is_null(False)))
    if among is not None:
        query = query.where(Job.id.in_(list(among)))
    jobs = tuples(query)
    by_worker: dict[str, list[tuple[str, str | None]]] = {}
    for job_id, worker, sha in jobs:
        by_worker.setdefault(worker, []).append((job_id, sha))
    found = {}
    for worker, made in by_worker.items():
        flagged = flagged_outputs(worker)
        for job_id, sha in made:
            others = [r for r in flagged if r.output_sha256 != sha]
            if others:
                found[job_id] = (f"the worker that made it, {worker}, is flagged: worker {others[0].reproduced_by} "
                                 f"could not make its output {others[0].output_sha256[:16]}… again")
    return found


def _approvals(production: str, among: Sequence[str] | None = None) -> dict[str, Any]:
    """Manifest label -> the approvals assertion of the manifest store the ledger keeps, for
    the outputs (those ``among``) whose decision needed approvers (only those stores are read,
    by structure: ``credentials.jumbf``)."""
    needed = ~(Output.claim_json.contains('"signoffs":[]') & Output.claim_json.contains('"approver":null'))
    labels = (Output.select(Output.manifest_label).where(needed, Output.manifest_label.in_(list(among)))
              if among is not None else
              Output.select(Output.manifest_label)
              .where(Output.request_id.in_(_production_requests(production)), needed))
    found = {}
    for label, data in tuples(ManifestStore.select(ManifestStore.manifest_label, ManifestStore.data)
                              .where(ManifestStore.manifest_label.in_(labels))):
        block = stored_assertion(bytes(data), label, approver_signatures.APPROVALS_LABEL)
        if isinstance(block, Mapping):
            found[label] = block
    return found


_APPROVER_VERDICT = {approver_signatures.VALID: "valid", approver_signatures.MISSING: "absent"}


@dataclass(frozen=True)
class ApproverTrust:
    """The studio identity CA approvers' certificates must chain to, and its revocations
    (``IdentityStore``); the default trusts no approver, so every signature reads invalid."""

    anchors_pem: str = ""
    revocations: Mapping[str, tuple[datetime, str]] = field(default_factory=dict)


def _approvers(governance: Mapping[str, Any], label: str, block: Mapping[str, Any] | None,
               trust: ApproverTrust) -> tuple[ApproverLine, ...]:
    """Each person whose sign-off the decision needed, and whether their own signature verifies:
    ``verify_approvals`` over the kept store's approvals assertion and the ledger's governance
    record (what the claim signed; ``record_altered`` catches a changed one); none kept: absent."""
    needed = approver_signatures.required_approvers(governance)
    if not needed:
        return ()
    roles: dict[Any, Any] = {}
    statuses: dict[str, str] = {}
    if block is not None:
        roles = {e.get("approver"): e.get("role") for e in block.get("approvals") or () if isinstance(e, Mapping)}
        manifest = {"label": label, "assertions": [{"label": GOVERNANCE_LABEL, "data": governance},
                                                   {"label": approver_signatures.APPROVALS_LABEL, "data": block}]}
        report = approver_signatures.verify_approvals(manifest, trust.anchors_pem, trust.revocations)
        statuses = {line.approver: line.status for line in report.lines}
    return tuple(ApproverLine(name, str(roles.get(name) or "approver"),
                              _APPROVER_VERDICT.get(statuses.get(name, approver_signatures.MISSING), "invalid"))
                 for name in needed)


def _covers(territories: Sequence[str], release: Sequence[str]) -> list[str]:
    """The release territories ``territories`` do not cover."""
    held = set(territories or ())
    return [] if WORLDWIDE in held else [t for t in release if t not in held]


def _consent_line(c: Consent, release: Sequence[str], today: date) -> RightLine:
    problems = []
    if c.revoked_at is not None:
        problems.append(f"consent #{c.id} of {c.person.name} was revoked on {c.revoked_at:%Y-%m-%d}: "
                        f"{c.revoked_reason}")
    if c.valid_until is not None and c.valid_until < today:
        problems.append(f"consent #{c.id} of {c.person.name} expired on {c.valid_until:%Y-%m-%d}")
    missing = _covers(c.territories, release)
    if missing:
        problems.append(f"consent #{c.id} of {c.person.name} does not cover release territory {', '.join(missing)}")
    data = {"id": c.id, "person": c.person.name, "uses": list(c.uses or ()), "territories": list(c.territories or ()),
            "valid_from": _iso(c.valid_from), "valid_until": _iso(c.valid_until)}
    return RightLine("consent", data, not problems, tuple(problems))


def _licence_line(lic: Licence, release: Sequence[str], today: date) -> RightLine:
    problems = []
    if lic.takedown:
        problems.append(f"licence {lic.ref} was taken down: {lic.takedown_reason}")
    if lic.ends_on is not None and lic.ends_on < today:
        problems.append(f"licence {lic.ref} ended on {lic.ends_on:%Y-%m-%d}")
    missing = _covers(lic.territories, release)
    if missing:
        problems.append(f"licence {lic.ref} does not cover release territory {', '.join(missing)}")
    data = {"ref": lic.ref, "licensor": lic.licensor, "territories": list(lic.territories or ()),
            "starts_on": _iso(lic.starts_on), "ends_on": _iso(lic.ends_on), "takedown": bool(lic.takedown)}
    return RightLine("licence", data, not problems, tuple(problems))


def _standing_reasons(good: bool, reason: str | None, consents: Sequence[RightLine], licences: Sequence[RightLine],
                      reproduction: Any, flagged: str | None) -> list[str]:
    """Live standing as ``provenance.standing`` judges it: the ledger's mark, then revoked or
    taken-down rights, a reproduction audit that found other pixels, a flagged worker."""
    reasons = [] if good else [reason or "the ledger marks this output as no longer in good standing"]
    for line in (*consents, *licences):
        reasons += [p for p in line.problems if ("revoked" in p or "taken down" in p) and p not in reasons]
    if reproduction is not None:
        reasons.append(f"its reproduction audit of {reproduction.at:%Y-%m-%d %H:%M}Z found that job "
                       f"{reproduction.job_id} does not make the ledger's pixels: {reproduction.reason}")
    if flagged:
        reasons.append(flagged)
    return reasons


def _verdict(claim_json: str, claim_sha256: str, reasons: Sequence[str], approvers: Sequence[ApproverLine]) -> str:
    """verified | record_altered (the ledger's governance record no longer hashes to what was
    signed) | not_in_good_standing | approval_failed."""
    if sha256_hex(claim_json.encode("utf-8")) != claim_sha256:
        return "record_altered"
    if reasons:
        return "not_in_good_standing"
    if any(a.signature != "valid" for a in approvers):
        return "approval_failed"
    return "verified"


def _issues(line: OutputLine) -> list[Issue]:
    """What is wrong with one output and what to do about it."""
    found = []
    if line.verdict == "record_altered":
        found.append(Issue(line.sha256, "the ledger's governance record of this output was altered after signing",
                           "do not deliver it; ask an auditor to run `slate audit verify` and restore the ledger"))
    for reason in line.standing_reasons:
        found.append(Issue(line.sha256, reason, "remove the output from the cut or replace it with one made under "
                                                "rights that hold; legal may record new rights and regenerate"))
    for right in (*line.consents, *line.licences):
        for problem in right.problems:
            if problem in line.standing_reasons:
                continue
            what = "consent" if right.kind == "consent" else "licence"
            found.append(Issue(line.sha256, problem, f"legal extends the {what} to the release territories and "
                                                     f"term, or the output is left out of the release"))
    for approver in line.approvers:
        if approver.signature != "valid":
            found.append(Issue(line.sha256, f"the signature of approver {approver.name} is {approver.signature}",
                               "have the request approved again and the output signed again"))
    return found


def _count_credits(counts: dict[tuple[str, str], int], consents: Sequence[Consent],
                   licences: Sequence[Licence]) -> None:
    seen = set()
    for c in consents:
        if c.attribution_required and c.credit_text:
            seen.add(("performer", c.credit_text))
    for lic in licences:
        if lic.attribution_required and lic.credit_text:
            seen.add(("licensor", lic.credit_text))
    for key in seen:
        counts[key] = counts.get(key, 0) + 1


# ------------------------------------------------------------------ signing and verifying


@dataclass(frozen=True)
class SignedReport:
    """The signed form as data (what the renderings read) and as its canonical JSON (what
    ``verify_report`` checks, what the CLI writes and the API answers)."""

    data: dict[str, Any]
    canonical: bytes


def sign_report(report: Mapping[str, Any], signer: Signer,
                timestamper: Callable[[bytes], str | None] | None = None) -> SignedReport:
    """Slate's signature over canonical JSON of the report and the signing time. ``timestamper``
    (an RFC 3161 client) stamps the signature's bytes; without a TSA configured the timestamp
    is null and ``signed_at`` is Slate's clock.

    The report is encoded once: canonical JSON sorts keys and adds no whitespace, so both the
    signed body and the signed form are that encoding spliced between their other members."""
    signed_at = _stamp(utcnow())
    encoded = canonical_json(dict(report))
    body = b'{"report":' + encoded + b',"signed_at":' + canonical_json(signed_at) + b"}"
    signature = countersign(body, signer)
    stamp = timestamper(bytes.fromhex(signature["signature"])) if timestamper is not None else None
    signature = {**signature, "signed_at": signed_at, "timestamp": stamp}
    whole = b'{"report":' + encoded + b',"signature":' + canonical_json(signature) + b"}"
    return SignedReport({"report": dict(report), "signature": signature}, whole)


@dataclass(frozen=True)
class ReportVerdict:
    ok: bool
    problem: str | None
    key: str | None
    report_sha256: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "problem": self.problem, "key": self.key, "report_sha256": self.report_sha256}

    def render(self) -> str:
        if self.ok:
            return f"OK: the clearance report (SHA-256 {self.report_sha256}) is signed by Slate key {self.key}"
        return f"NOT VERIFIED: {self.problem}"


def verify_report(signed: Any, anchors: TrustAnchors) -> ReportVerdict:
    """Check a signed report offline: the signature over exactly these bytes, and a signer that
    chains to ``anchors`` at its signing time. Reads no database."""
    if not isinstance(signed, Mapping) or not isinstance(signed.get("report"), Mapping) \
            or not isinstance(signed.get("signature"), Mapping):
        raise InvalidInput("not a signed Slate clearance report",
                           hint="pass the JSON `slate report clearance --format json` wrote")
    report, signature = signed["report"], signed["signature"]
    body = canonical_json({"report": dict(report), "signed_at": signature.get("signed_at")})
    report_sha256 = sha256_hex(canonical_json(dict(report)))
    key = str(signature.get("key") or "") or None
    try:
        verify_countersignature(body, signature)
    except CredentialError as exc:
        return ReportVerdict(False, str(exc).replace("the attestation", "the report"), key, report_sha256)
    at = _time(signature.get("signed_at"))
    if at is None:
        return ReportVerdict(False, "the signature carries no readable signing time", key, report_sha256)
    stamp = signature.get("timestamp")
    if stamp is not None:
        # the stamp must name this signature; it never moves the time the signer's chain is
        # judged at (that stays the signed ``signed_at``): a token is outside the signed body,
        # so one made up to name an earlier time cannot rescue an expired or revoked key
        try:
            raw = bytes.fromhex(str(signature.get("signature") or ""))
            tsa.token_time(base64.b64decode(str(stamp), validate=True), raw)
        except (ValueError, CredentialError) as exc:
            message = str(exc) if isinstance(exc, CredentialError) else "the report's timestamp is not base64"
            return ReportVerdict(False, message, key, report_sha256)
    problem = anchors.signer_problem(str(signature.get("certificate_chain") or ""), at)
    if problem is not None:
        return ReportVerdict(False, f"the report's signature cannot be trusted: {problem}", key, report_sha256)
    return ReportVerdict(True, None, key, report_sha256)


def signed_clearance_report(settings: Settings, production: str, *, by: Principal | None,
                            timeline: Any = None) -> SignedReport:
    """The one path the CLI, the API and the page share: the report as ``by`` may read it,
    judged against the studio's identity CA, signed with Slate's active key."""
    identities = IdentityStore(settings)
    anchors = identity_anchors_path(settings.keys_dir)
    # read, never created: an absent identity CA trusts no approver's signature
    trust = ApproverTrust(anchors.read_text() if anchors.is_file() else "", identities.revocations())
    report = clearance_report(production, by=by, timeline=timeline, approver_trust=trust)
    keys = KeyStore(settings)
    keys.ensure()
    return sign_report(report.to_dict(), keys.file_signer(keys.active_key()), report_timestamper(settings, keys))


def report_timestamper(settings: Settings, keys: KeyStore) -> Callable[[bytes], str | None] | None:
    """An RFC 3161 stamp of the report's signature from the TSA Slate signs credentials with
    (``SLATE_TSA_URL``): ``embedded`` answers in-process, a URL is asked over HTTP, ``none``
    stamps nothing. The token (base64 DER) shows the report existed at its time, whatever
    Slate's clock said."""
    choice = settings.tsa_url
    if choice == "none":
        return None

    def stamp(data: bytes) -> str | None:
        request = tsa.timestamp_request(data)
        if choice == "embedded":
            issued, chain = keys.tsa_credentials()
            answer = tsa.TimeStampAuthority(issued.certificate, issued.private_key, chain).respond(request)
        else:
            answer = _ask_tsa(choice, request)
        return base64.b64encode(tsa.token_from_response(answer, data)).decode("ascii")

    return stamp


def _ask_tsa(url: str, request: bytes) -> bytes:
    import urllib.request
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"SLATE_TSA_URL must be 'embedded', 'none' or an http(s) URL, got '{url[:80]}'")
    call = urllib.request.Request(url, data=request, headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(call, timeout=10) as answer:
            body: bytes = answer.read(1_000_000)
            return body
    except OSError as exc:
        raise CredentialError(f"the time-stamping authority could not be reached ({type(exc).__name__})",
                              hint="check SLATE_TSA_URL, or set it to none to sign reports without a timestamp") \
            from None


def _governance_record(claim_json: Any) -> dict[str, Any]:
    """The ledger's governance record as an object; ``{}`` when it no longer parses as one
    (edited in the database): ``_verdict`` then finds its hash wrong and the output is
    reported ``record_altered``, rather than the whole report failing."""
    try:
        value = json.loads(claim_json)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _time(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


__all__ = ["FORMAT", "ApproverTrust", "ClearanceReport", "ReportVerdict", "SignedReport", "clearance_report",
           "may_read", "sign_report", "signed_clearance_report", "verify_report"]

"""Every page of the web blueprint at studio scale: server time per page with 1,000,000 outputs.

Seeds a studio in SQLite the way ``provenance_bench`` does (1,000,000 signed outputs with
their requests, decisions, jobs, approvals and search facets; 10,000 assets; 1,000 people;
500 licences; 100 models), adds the audit log those outputs would have written (a decision
per request, an approval for the 30% that needed one, a signature per output) and the demo
studio on top (users, the studio policy, the plate), then keeps the folder under ``--cache``
so a rerun reuses it (the seed is the slow part). A small studio (``--small`` outputs) is
seeded the same way and measured in the same run, as the baseline.

The app runs in this process behind Flask's test client (server time, no network). One user
per role signs in through the sign-in form; every GET endpoint of the ``web`` blueprint is
discovered from the app's url_map, its identifiers filled from the seed, and requested
``--trials`` times as a user whose roles open it.

    .venv/bin/python benchmarks/pages_bench.py [--outputs N] [--small N] [--trials N] [--cache DIR]

Before measuring, each seed is topped up once with what a page needs to answer for real (see
``top_up``): a person the producer may see, a stored policy test case, and a few outputs whose
signed file is stored (so the image, thumbnail and download answer 200, not 404).

Streamed exports (the audit log's CSV and JSONL, the provenance CSV, the credits CSV) are
downloads, not pages: each is measured for its time to first byte and its total, and reported
under ``downloads``, apart from the pages.

Prints p95 per page at both sizes (a page that answers slower than 2 s is asked once; one
still answering after 20 s is stopped and shown as status 0, "stop") and ends with one JSON
line: ``pages``, ``worst_page``, ``worst_p95_ms``, ``p95_ms`` (per page), ``outputs``,
``ratio`` (the worst page's p95 at N over the same page's at the small size), ``statuses``
(pages that did not answer 200), ``slow`` (pages at or over 200 ms), ``downloads`` (per
export: ``status``, ``first_byte_p95_ms``, ``total_p95_ms``, ``bytes``).
Target: every page under 200 ms p95.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import provenance_bench as seed_flow

from governance import demo
from governance.auth.users import add_user, issue_token
from governance.db import close_database, database, open_database
from governance.migrations import migrate
from governance.settings import Settings

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "policies" / "studio-default.yaml"
SEEDED = "seeded.json"  # written last: a folder without it is an unfinished seed
#: the bulk flow's requester; signs in as the producer, member of every bulk production
PRODUCER = "producer"
ROLE_USERS = {"producer": PRODUCER, "legal": "lee-legal", "approver": "ada-approver", "auditor": "aud-auditor"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# ---------------------------------------------------------------- seeding

def seed(folder: Path, outputs: int) -> dict[str, Any]:
    """Seed ``folder`` (or reuse it when a finished seed of the same size is there)."""
    marker = folder / SEEDED
    if marker.is_file():
        facts = json.loads(marker.read_text())
        if facts.get("outputs") == outputs:
            return dict(facts)
    if folder.exists():
        raise SystemExit(f"{folder} holds an unfinished or different seed: remove it and run again")
    folder.mkdir(parents=True)
    settings = Settings.for_folder(folder)
    open_database(settings.database_url)
    migrate()
    started = time.perf_counter()
    rng = random.Random(21)
    built = seed_flow.build(outputs, rng)
    audit_entries = _load_audit(outputs, rng)
    demo.seed(POLICY, settings, with_tokens=False)
    add_user(PRODUCER, ["producer"], [f"prod-{i:02d}" for i in range(seed_flow.PRODUCTIONS)])
    database.obj.connection().execute("ANALYZE")
    facts = {"outputs": outputs, "audit_entries": audit_entries, "seed_s": round(time.perf_counter() - started),
             **built}
    close_database()
    marker.write_text(json.dumps(facts))
    return facts


def _load_audit(n: int, rng: random.Random) -> int:
    """The entries the bulk flow would have appended, in time order: a decision per request,
    an approval where one was needed, a signature per output. Hashes are stand-ins: the chain
    is not verified here (the verify page is a POST, outside what this measures)."""
    load = seed_flow.Loader()
    c = load.conn
    c.execute("BEGIN")
    indexes = load.without_indexes(["audit_entry"])
    seq = 0

    def entries() -> Any:
        nonlocal seq
        for i in range(n):
            when = seed_flow.at(i)
            needs = rng.random() < 0.3
            rows = [(PRODUCER, "request.decided", f"request:{i + 1}",
                     {"decision": i + 1, "outcome": "needs_approval" if needs else "allow"})]
            if needs:
                rows.append((f"approver-{rng.randrange(seed_flow.APPROVERS):02d}", "request.approved",
                             f"request:{i + 1}", {"approval": i + 1}))
            rows.append(("gpu-worker", "output.signed", f"output:{seed_flow.sha('out', i)}", {"job": f"job_{i}"}))
            for actor, action, subject, data in rows:
                seq += 1
                yield (seq, when, actor, action, subject, json.dumps(data, separators=(",", ":")),
                       seed_flow.sha("entry", seq - 1) if seq > 1 else "0" * 64, seed_flow.sha("entry", seq))

    load.rows("audit_entry", ["seq", "at", "actor", "action", "subject", "data", "prev_hash", "entry_hash"],
              entries())
    c.execute('INSERT INTO "audit_head" (id, seq, head_hash) VALUES (1, ?, ?)', (seq, seed_flow.sha("entry", seq)))
    c.execute("COMMIT")
    for sql in indexes:
        c.execute(sql)
    return seq


#: the bulk person the producer is linked to (the bulk seed links no one to a production)
VISIBLE_PERSON = "Person 0001"
VISIBLE_PRODUCTION = "prod-01"
#: the stored policy test case the case page shows: the studio's own tests document
BENCH_CASE = "studio tests (pages bench)"
#: outputs around the middle one (the one the pages ask for) whose signed file is stored
STORED_OUTPUTS = 3


def realign(folder: Path) -> None:
    """Forget the steps a cache records under numbers that now mean other steps (a cache
    migrated by a branch before its steps were renumbered: its "32" was today's 31, so today's
    29 and 30 never ran and pages failed on a missing column). Every recorded step from the
    first whose description differs is forgotten and ``migrate`` applies today's steps again;
    they check what is there before adding it."""
    from governance.migrations import STEPS, SchemaVersion
    known = {step.version: step.description for step in STEPS}
    recorded = list(SchemaVersion.select().order_by(SchemaVersion.version))
    wrong = [row.version for row in recorded if known.get(row.version) != row.description]
    if wrong:
        print(f"{folder}: schema steps {wrong} were recorded by other step numbering: applying today's again",
              file=sys.stderr, flush=True)
        SchemaVersion.delete().where(SchemaVersion.version >= wrong[0]).execute()


def top_up(folder: Path) -> None:
    """Add, once, what a page needs to answer for real and the first seeds lacked: the producer
    sees ``VISIBLE_PERSON`` (through ``VISIBLE_PRODUCTION``), the studio policy has a stored test
    case, and a few outputs have a stored file (a small PNG). Idempotent: a topped-up seed is
    left as it is, so several runs may share the cache."""
    from PIL import Image

    from governance.ledger.tables import Output
    from governance.policy import cases
    from governance.policy.tables import PolicyTestCase
    from governance.registry.tables import Person, PersonProduction, Production
    person = Person.get(Person.name == VISIBLE_PERSON)
    production = Production.get(Production.name == VISIBLE_PRODUCTION)
    with database.atomic():
        PersonProduction.get_or_create(person=person, production=production)
    policy = _studio_policy()
    if not PolicyTestCase.select().where(PolicyTestCase.uid == policy.uid, PolicyTestCase.name == BENCH_CASE).exists():
        cases.add_case(policy.uid, BENCH_CASE, (POLICY.parent / "studio-default.tests.yaml").read_text(),
                       ROLE_USERS["legal"])
    # the bulk decisions' policy row holds a placeholder text; pages that compile a decision's
    # policy (the approval page) need a real one: the studio policy's text, hashed as stored
    from governance.canonical import sha256_hex
    from governance.policy.tables import PolicyVersion
    PolicyVersion.update(text=policy.text, sha256=sha256_hex(policy.text.encode("utf-8"))) \
        .where(PolicyVersion.uid == "urn:bench", PolicyVersion.sha256 != policy.sha256).execute()
    files = folder / "bench-outputs"
    files.mkdir(exist_ok=True)
    count = Output.select().count()
    for row in Output.select().order_by(Output.id).offset(max(count // 2 - 1, 0)).limit(STORED_OUTPUTS):
        if row.file_path and Path(row.file_path).is_file():
            continue
        path = files / f"{row.sha256}.png"
        Image.new("RGB", (128, 128), (row.id % 256, 90, 160)).save(path, format="PNG")
        Output.update(file_path=str(path)).where(Output.id == row.id).execute()


def _studio_policy() -> Any:
    from governance.policy.tables import PolicyVersion
    return (PolicyVersion.select().where(PolicyVersion.status == "published", PolicyVersion.uid != "urn:bench")
            .order_by(PolicyVersion.id.desc()).get())


# ---------------------------------------------------------------- measuring

@dataclass(frozen=True)
class Target:
    """One thing to request: a page (an endpoint with its identifiers) as one role."""

    endpoint: str
    path: str
    role: str

    @property
    def label(self) -> str:
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        return f"{self.endpoint}{'?' + query if query else ''} as {self.role}"


def identifiers() -> dict[tuple[str, str], str]:
    """(first path segment, argument) -> a value from the seed: records in the middle of the
    bulk (as old as most), and the demo's where only the demo has one (a stored document)."""
    from governance.audit.tables import AuditEntry
    from governance.jobs.tables import OutputReview
    from governance.ledger.tables import Output
    from governance.policy.tables import AwaitingApproval, GenerationRequest, PolicyTestCase, PolicyVersion
    from governance.registry.tables import Asset, Consent

    def middle(model: Any, column: Any) -> Any:
        count = model.select().count()
        return model.select(column).order_by(model.id).offset(count // 2).limit(1).scalar()
    output = middle(Output, Output.sha256)
    review = OutputReview.select(OutputReview.id).limit(1).scalar() or "or_" + "0" * 32
    policy = _studio_policy()
    older = (PolicyVersion.select().where(PolicyVersion.uid == policy.uid, PolicyVersion.id < policy.id)
             .order_by(PolicyVersion.id.desc()).first()) or policy
    case = PolicyTestCase.get(PolicyTestCase.name == BENCH_CASE)
    seq = AuditEntry.select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1).scalar()
    return {
        ("audit", "seq"): str(seq // 2), ("models", "ref"): "model-050:1",
        ("output-reviews", "review_id"): review, ("output-reviews", "sha256"): output,
        ("outputs", "sha256"): output, ("provenance", "sha256"): output,
        ("policies", "ref"): f"{policy.uid}@{policy.version}", ("productions", "production"): "prod-07",
        ("registry", "consent_id"): str(Consent.select(Consent.id).order_by(Consent.id.desc()).limit(1).scalar()),
        ("requests", "request_id"): str(middle(GenerationRequest, GenerationRequest.id)),
        # the approval page of the request that has waited longest (else one in the middle)
        ("approvals", "request_id"): str(AwaitingApproval.select(AwaitingApproval.request_id)
                                         .order_by(AwaitingApproval.since).limit(1).scalar()
                                         or middle(GenerationRequest, GenerationRequest.id)),
        ("assets", "sha256"): middle(Asset, Asset.sha256),
        ("policy-cases", "case_id"): str(case.id),
        # a page whose query string is required: measured with it, not as its refusal
        ("query", "web.policy_diff"): f"old={older.uid}@{older.version}&new={policy.uid}@{policy.version}",
    }


#: query strings worth measuring beside the bare page: what people type into its filters
VARIANTS = {
    "web.audit": ["actor=PRODUCER", "subject=request:500", "action=request.approved",
                  "since=2025-03-01&until=2025-03-02", "actor=ada-approver&action=request.decided", "before=1000"],
    "web.audit_export_csv": ["actor=aud-auditor"],
    "web.audit_export_jsonl": ["subject=request:500"],
    "web.provenance": ["person=Person%200001", "production=prod-03", "licence=LIC-001"],
    "web.provenance_impact": ["licence=LIC-001"],
    "web.requests": ["status=awaiting_approval"],
}
#: streamed exports: downloads, measured for their first byte and their total, apart from the pages
DOWNLOADS = frozenset({"web.audit_export_csv", "web.audit_export_jsonl", "web.provenance_export",
                       "web.credits_owed_csv"})
#: roles in the order a page is tried as; every role a page admits is measured
ROLES = ("producer", "legal", "approver", "auditor")
#: a first answer slower than this is not asked for again: it is the figure (and reported, of course)
SLOW_S = 2.0
#: a page still answering after this long is stopped and reported as a timeout (status 0)
PAGE_LIMIT_S = 20.0


class PageTimeout(BaseException):
    """Raised in the page by the alarm; a BaseException so no error page catches it."""


def targets(app: Any) -> tuple[list[Target], list[str]]:
    """Every GET page of the web blueprint, as each role it admits; and those left out, with why."""
    ids = identifiers()
    found, skipped = [], []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.endpoint.startswith("web.") or "GET" not in rule.methods or rule.endpoint == "web.static":
            continue
        roles = getattr(app.view_functions[rule.endpoint], "slate_roles", frozenset())
        place = rule.rule.strip("/").split("/")[0]
        values = {}
        for name in rule.arguments:
            value = ids.get((place, name))
            if value is None:
                skipped.append(f"{rule.endpoint}: no seeded value for <{name}> under /{place}")
                break
            values[name] = value
        else:
            with app.test_request_context():
                from flask import url_for
                path = url_for(rule.endpoint, **values)
            if ("query", rule.endpoint) in ids:
                path = f"{path}?{ids[('query', rule.endpoint)]}"
            # a public page (the start page) shows each role its own dashboard: measure every role
            who = list(ROLES) if "public" in roles else [r for r in ROLES if r in roles]
            for role in who:
                found.append(Target(rule.endpoint, path, role))
                for query in VARIANTS.get(rule.endpoint, []):
                    found.append(Target(rule.endpoint, f"{path}?{query}", role))
    return found, skipped


def signed_in(app: Any) -> dict[str, Any]:
    """A test client per role, signed in through the sign-in form with a fresh token."""
    clients = {}
    for role, user in ROLE_USERS.items():
        token = issue_token(user, label="pages-bench")["token"]
        client = app.test_client()
        form = client.get("/sign-in").get_data(as_text=True)
        match = CSRF.search(form)
        assert match, "the sign-in page has no CSRF field"
        answer = client.post("/sign-in", data={"token": token, "csrf_token": match.group(1)})
        assert answer.status_code == 302, f"{user} could not sign in: {answer.status_code}"
        clients[role] = client
    return clients


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[94]


@dataclass
class Measured:
    status: int
    p95_ms: float
    p50_ms: float
    trials: int
    size: int


def _stop(_signum: int, _frame: Any) -> None:
    raise PageTimeout()


def measure(client: Any, path: str, trials: int) -> Measured:
    def once() -> tuple[float, int, int]:
        started = time.perf_counter()
        signal.signal(signal.SIGALRM, _stop)
        signal.setitimer(signal.ITIMER_REAL, PAGE_LIMIT_S)
        try:
            response = client.get(path)
            size = len(response.get_data())  # a streamed download is read to its end
            status = response.status_code
        except PageTimeout:
            size, status = 0, 0
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return (time.perf_counter() - started) * 1000, status, size
    first_ms, status, size = once()
    runs = 0 if first_ms > SLOW_S * 1000 else trials
    times = [once()[0] for _ in range(runs)] or [first_ms]
    return Measured(status, p95(times), statistics.median(times), runs, size)


@dataclass
class Downloaded:
    status: int
    first_byte_p95_ms: float
    total_p95_ms: float
    trials: int
    size: int

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "first_byte_p95_ms": round(self.first_byte_p95_ms, 1),
                "total_p95_ms": round(self.total_p95_ms, 1), "bytes": self.size}


def measure_download(client: Any, path: str, trials: int) -> Downloaded:
    """A streamed export: the time until its first chunk reaches the client (what a person
    waits before the download starts) and until its last."""
    def once() -> tuple[float, float, int, int]:
        started = time.perf_counter()
        first = total = 0.0
        signal.signal(signal.SIGALRM, _stop)
        signal.setitimer(signal.ITIMER_REAL, PAGE_LIMIT_S)
        try:
            response = client.get(path, buffered=False)
            status, size = response.status_code, 0
            try:
                for chunk in response.iter_encoded():
                    if not size and chunk:
                        first = time.perf_counter() - started
                    size += len(chunk)
            finally:
                response.close()
            total = time.perf_counter() - started
        except PageTimeout:
            status, size, total = 0, 0, time.perf_counter() - started
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return first * 1000, total * 1000, status, size
    first_ms, total_ms, status, size = once()
    runs = [once() for _ in range(0 if total_ms > SLOW_S * 1000 else trials)] or [(first_ms, total_ms, status, size)]
    return Downloaded(status, p95([r[0] for r in runs]), p95([r[1] for r in runs]), len(runs), size)


def run_size(folder: Path, trials: int, only: str = "") -> tuple[dict[str, Measured], dict[str, Downloaded], list[str]]:
    from governance.app import create_app
    settings = Settings.for_folder(folder)
    open_database(settings.database_url)
    realign(folder)
    migrate()  # a cache seeded by older code gets the steps added since
    top_up(folder)
    close_database()
    app = create_app(settings, testing=True)
    clients = signed_in(app)
    found, skipped = targets(app)
    results, downloads = {}, {}
    for target in (t for t in found if only in t.label):
        if target.endpoint in DOWNLOADS:
            done = downloads[target.label] = measure_download(clients[target.role], target.path, trials)
            print(f"  {folder.name}: {target.label}: {done.status} first byte p95 {done.first_byte_p95_ms:.1f} ms, "
                  f"all p95 {done.total_p95_ms:.1f} ms", file=sys.stderr, flush=True)
            continue
        results[target.label] = measure(clients[target.role], target.path, trials)
        got = results[target.label]
        print(f"  {folder.name}: {target.label}: {got.status} p95 {got.p95_ms:.1f} ms", file=sys.stderr, flush=True)
    close_database()
    return results, downloads, skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/slate-pages-bench"))
    parser.add_argument("--seed-only", action="store_true", help="seed (or check) the cache and stop")
    parser.add_argument("--only", default="", help="measure only pages whose label contains this")
    args = parser.parse_args()
    for n in (args.small, args.outputs):
        facts = seed(args.cache / str(n), n)
        print(f"seeded {n:,} outputs: {facts}", flush=True)
    if args.seed_only:
        return
    small, small_downloads, _ = run_size(args.cache / str(args.small), args.trials, args.only)
    big, downloads, skipped = run_size(args.cache / str(args.outputs), args.trials, args.only)
    labels = list(big)
    print(f"{'page':<78} {'status':>6} {'small p95':>10} {f'{args.outputs:,} p95':>12} {'p50':>8} {'bytes':>9}")
    for label in labels:
        b, s = big[label], small.get(label)
        print(f"{label:<78} {b.status or 'stop':>6} {s.p95_ms if s else float('nan'):>8.1f}ms {b.p95_ms:>10.1f}ms "
              f"{b.p50_ms:>6.1f}ms {b.size:>9}" + ("  SLOW" if b.p95_ms >= 200 else ""))
    if downloads:
        print(f"{'download':<78} {'status':>6} {'first byte':>11} {'all':>10} {'small all':>10} {'bytes':>11}")
    for label, d in downloads.items():
        s = small_downloads.get(label)
        print(f"{label:<78} {d.status or 'stop':>6} {d.first_byte_p95_ms:>9.1f}ms {d.total_p95_ms:>8.1f}ms "
              f"{s.total_p95_ms if s else float('nan'):>8.1f}ms {d.size:>11}")
    for why in skipped:
        print(f"not measured: {why}")
    if not labels:
        print(json.dumps({"benchmark": "pages", "outputs": args.outputs, "pages": 0,
                          "downloads": {label: d.to_dict() for label, d in downloads.items()},
                          "not_measured": skipped}))
        return
    worst = max(labels, key=lambda label: big[label].p95_ms)
    base = small.get(worst)
    summary = {"benchmark": "pages", "outputs": args.outputs, "small_outputs": args.small, "trials": args.trials,
               "pages": len(labels), "worst_page": worst, "worst_p95_ms": round(big[worst].p95_ms, 1),
               "ratio": round(big[worst].p95_ms / base.p95_ms, 1) if base else None,
               "p95_ms": {label: round(big[label].p95_ms, 1) for label in labels},
               "small_p95_ms": {label: round(small[label].p95_ms, 1) for label in labels if label in small},
               "statuses": {label: big[label].status for label in labels if big[label].status != 200},
               "slow": sorted(label for label in labels if big[label].p95_ms >= 200),
               "downloads": {label: d.to_dict() for label, d in downloads.items()},
               "not_measured": skipped}
    summary["target_met"] = not summary["slow"]
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

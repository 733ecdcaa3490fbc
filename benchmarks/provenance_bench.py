"""Provenance search and revocation impact at studio scale, in SQLite.

Builds a synthetic registry in a temporary folder (1,000,000 signed outputs with their
requests, decisions, jobs and approvals; 10,000 assets; 1,000 people; 500 licences;
100 training sets and models), bulk-loaded with ``executemany`` and indexes built after
the load. Then, for each query kind, times ``governance.provenance.query.find_outputs``
(first page of 50, random values) next to hand-written SQL that answers the same question
over the same index, and times the revocation-impact dry run for a licence and a consent.

    .venv/bin/python benchmarks/provenance_bench.py [--outputs N] [--trials N]

Ends with one JSON line: ``<query>_p95_ms`` per query kind, ``revocation_impact_s``.
Targets: every query p95 under 50 ms; revocation impact under 1 s.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from governance.db import close_database, database, open_database
from governance.migrations import migrate
from governance.provenance import impact
from governance.provenance.query import OutputQuery, find_outputs
from governance.settings import Settings

PRODUCTIONS, PEOPLE, LICENCES, ASSETS, MODELS, SET_SIZE, APPROVERS = 20, 1_000, 500, 10_000, 100, 100, 20
START = datetime(2025, 1, 1)  # noqa: DTZ001 - written as the ledger's text column holds UTC: no offset
STEP_S = 30
PENDING = 200  # queued jobs and requests awaiting approval, each
CHUNK = 100_000


def sha(*parts: Any) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def at(i: int) -> str:
    return str(START + timedelta(seconds=i * STEP_S, microseconds=(i * 7919) % 1_000_000))


class Loader:
    def __init__(self) -> None:
        self.conn = database.obj.connection()

    def rows(self, table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> None:
        names = ", ".join(chr(34) + c + chr(34) for c in columns)
        sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= CHUNK:
                self.conn.executemany(sql, batch)
                batch = []
        if batch:
            self.conn.executemany(sql, batch)

    def without_indexes(self, tables: list[str]) -> list[str]:
        placeholders = ",".join("?" * len(tables))
        found = self.conn.execute(f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
                                  f"AND tbl_name IN ({placeholders})", tables).fetchall()
        for name, _ in found:
            self.conn.execute(f'DROP INDEX "{name}"')
        return [sql for _, sql in found]


def build(n: int, rng: random.Random) -> dict[str, Any]:
    load = Loader()
    c = load.conn
    c.execute("PRAGMA foreign_keys=OFF")
    c.execute("PRAGMA synchronous=OFF")
    c.execute("PRAGMA cache_size=-400000")
    now = str(START)
    c.execute("BEGIN")
    indexes = load.without_indexes(["output", "output_facet", "generation_request", "decision", "job", "approval"])
    load.rows("production", ["name", "title", "created_at"], ((f"prod-{i:02d}", "", now) for i in range(PRODUCTIONS)))
    load.rows("person", ["name", "kind", "is_minor", "created_at"],
              ((f"Person {i:04d}", "performer", 0, now) for i in range(PEOPLE)))
    load.rows("consent", ["person_id", "uses", "productions", "territories", "valid_from", "valid_until",
                          "guardian_signed", "document_sha256", "granted_at", "version", "document_stored", "status"],
              ((i + 1, '["likeness"]', '["*"]', '["WW"]', "2025-01-01", "2027-12-31", 0, sha("doc", i), now, 1, 0,
                "active")
               for i in range(PEOPLE)))
    load.rows("licence", ["ref", "licensor", "grants", "territories", "starts_on", "attribution_required",
                          "takedown", "created_at", "version"],
              ((f"LIC-{i:03d}", f"Licensor {i}", '["ai_training","previs"]', '["WW"]', "2020-01-01", 0, 0, now, 1)
               for i in range(LICENCES)))
    asset_licence = [i % LICENCES + 1 for i in range(ASSETS)]
    asset_person = {i + 1: rng.randrange(PEOPLE) + 1 for i in range(ASSETS) if rng.random() < 0.3}
    load.rows("asset", ["sha256", "media_type", "title", "source", "size_bytes", "licence_id", "created_at", "library"],
              ((sha("asset", i), "image/png", f"asset {i}", "", 1000, asset_licence[i], now, 1) for i in range(ASSETS)))
    load.rows("asset_person", ["asset_id", "person_id"], sorted(asset_person.items()))
    load.rows("training_set", ["name", "merkle_root", "size", "description", "created_at"],
              ((f"set-{i:03d}", sha("root", i), SET_SIZE, "", now) for i in range(MODELS)))
    members = {m: rng.sample(range(1, ASSETS + 1), SET_SIZE) for m in range(1, MODELS + 1)}
    load.rows("training_set_member", ["training_set_id", "asset_id", "licence_id", "leaf_key"],
              ((m, a, asset_licence[a - 1], sha(a)) for m, assets in members.items() for a in assets))
    load.rows("model", ["name", "version", "weights_hash", "training_set_id", "status", "created_at",
                        "status_changed_at", "needs_retirement_review"],
              ((f"model-{i:03d}", "1", sha("w", i), i, "approved", now, now, 0) for i in range(1, MODELS + 1)))
    load.rows("policy_version", ["uid", "version", "title", "sha256", "text", "author", "status", "created_at"],
              [("urn:bench", 1, "bench", sha("policy"), "", "legal", "published", now)])
    load.rows("user", ["name", "roles", "created_at"], ((f"approver-{i:02d}", '["approver"]', now)
                                                        for i in range(APPROVERS)))
    c.execute("COMMIT")
    plan = [_output_plan(i, rng, asset_person) for i in range(n + 2 * PENDING)]
    started = time.perf_counter()
    c.execute("BEGIN")
    _load_flow(load, plan, n)
    c.execute("COMMIT")
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    for sql in indexes:
        c.execute(sql)
    c.execute("ANALYZE")
    return {"load_s": round(loaded, 1), "index_s": round(time.perf_counter() - started, 1)}


def _output_plan(i: int, rng: random.Random, asset_person: dict[int, int]) -> dict[str, Any]:
    model = rng.randrange(MODELS) + 1
    needs = rng.random() < 0.3
    reference = rng.randrange(ASSETS) + 1 if rng.random() < 0.4 else None
    depicted = rng.randrange(PEOPLE) + 1 if rng.random() < 0.2 else None
    people = {p for p in (depicted, asset_person.get(reference or 0)) if p}
    return {"model": model, "production": f"prod-{rng.randrange(PRODUCTIONS):02d}", "needs": needs,
            "approver": f"approver-{rng.randrange(APPROVERS):02d}" if needs else None, "reference": reference,
            "licence": (reference - 1) % LICENCES + 1 if reference else None, "depicted": depicted, "people": people}


def _load_flow(load: Loader, plan: list[dict[str, Any]], n: int) -> None:
    """Requests, decisions, approvals, jobs, outputs and facets; the last 2*PENDING are pending."""
    def requests() -> Iterator[tuple[Any, ...]]:
        for i, p in enumerate(plan):
            refs = json.dumps([sha("asset", p["reference"] - 1)] if p["reference"] else [])
            people = json.dumps([f"Person {p['depicted'] - 1:04d}"] if p["depicted"] else [])
            yield (i + 1, "producer", p["production"], "previs", "GB", "2025-01-01", p["model"], refs, people,
                   "(prompt)", sha("prompt", i), at(i))

    def decisions() -> Iterator[tuple[Any, ...]]:
        for i, p in enumerate(plan):
            records = {"consents": [{"id": str(p["depicted"]), "version": 1}] if p["depicted"] else [],
                       "licences": [{"id": str(p["licence"]), "version": 1}] if p["licence"] else [],
                       "models": [{"id": str(p["model"]), "version": "1"}]}
            yield (i + 1, i + 1, 1, "needs_approval" if p["needs"] else "allow", "[]", "[]", "[]", sha("in", i),
                   json.dumps(records, separators=(",", ":")), "{}", at(i))

    load.rows("generation_request", ["id", "requester", "production", "use", "territory", "request_date",
                                     "model_id", "references", "people", "prompt", "prompt_sha256", "created_at"],
              requests())
    load.rows("decision", ["id", "request_id", "policy_version_id", "outcome", "violations", "approvals", "duties",
                           "inputs_digest", "records", "facts", "created_at"], decisions())
    # the last PENDING requests that need approval have none yet; everything before is decided
    awaiting = set(range(n, n + 2 * PENDING))
    load.rows("approval", ["id", "request_id", "decision_id", "approver", "verdict", "comment", "at"],
              ((i + 1, i + 1, i + 1, p["approver"], "approved", "", at(i)) for i, p in enumerate(plan)
               if p["needs"] and i not in awaiting))

    def jobs() -> Iterator[tuple[Any, ...]]:
        for i, p in enumerate(plan):
            if i in awaiting and p["needs"]:
                continue
            status = "succeeded" if i < n else "queued"
            yield (f"job_{i}", i + 1, i + 1, (i + 1) if p["needs"] else None, status, "{}", 1,
                   sha("out", i) if i < n else None, "gpu", at(i), at(i))

    load.rows("job", ["id", "request_id", "decision_id", "approval_id", "status", "params", "attempts",
                      "output_sha256", "worker", "created_at", "updated_at"], jobs())
    load.rows("output", ["id", "sha256", "manifest_label", "cert_fingerprint", "media_type", "job_id", "decision_id",
                         "request_id", "model_ref", "signed_at", "timestamped", "claim_json", "claim_sha256",
                         "in_good_standing"],
              ((i + 1, sha("out", i), f"urn:c2pa:{i}", "f" * 64, "image/png", f"job_{i}", str(i + 1), str(i + 1),
                f"model-{plan[i]['model']:03d}@1", at(i), 1, "{}", sha("claim", i), 1) for i in range(n)))

    def facets() -> Iterator[tuple[Any, ...]]:
        for i in range(n):
            p, when, out = plan[i], at(i), i + 1
            yield ("all", "", when, out)
            yield ("model", str(p["model"]), when, out)
            yield ("training_set", str(p["model"]), when, out)
            yield ("production", p["production"], when, out)
            yield ("outcome", "needs_approval" if p["needs"] else "allow", when, out)
            if p["approver"]:
                yield ("approver", p["approver"], when, out)
            if p["reference"]:
                yield ("asset", str(p["reference"]), when, out)
                yield ("licence", str(p["licence"]), when, out)
            if p["depicted"]:
                yield ("consent", str(p["depicted"]), when, out)
            for person in p["people"]:
                yield ("person", str(person), when, out)

    load.rows("output_facet", ["kind", "value", "signed_at", "output_id"], facets())


# ---------------------------------------------------------------- measuring

def timed(fn: Callable[[], Any], trials: int) -> list[float]:
    fn()  # warm the page cache for this shape
    out = []
    for _ in range(trials):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


HAND_PAGE = ("SELECT o.id, o.sha256, o.signed_at, o.model_ref, o.request_id, o.decision_id, o.job_id, "
             "o.in_good_standing FROM output o JOIN ({inner}) f ON o.id = f.output_id "
             "ORDER BY f.signed_at DESC, f.output_id DESC")
HAND_ONE = ("SELECT output_id, signed_at FROM output_facet WHERE kind = ? AND value = ? {extra} "
            "ORDER BY signed_at DESC, output_id DESC LIMIT 50")
HAND_TRAINED = ("SELECT output_id, signed_at FROM output_facet WHERE (kind = ? AND value = ?) OR "
                "(kind = 'model' AND value IN (SELECT CAST(m.id AS TEXT) FROM model m JOIN training_set_member t "
                "ON t.training_set_id = m.training_set_id WHERE t.{column} = ?)) "
                "ORDER BY signed_at DESC, output_id DESC LIMIT 50")
HAS = ("EXISTS (SELECT 1 FROM output_facet g WHERE g.kind = ? AND g.value = ? AND g.signed_at = output_facet.signed_at "
       "AND g.output_id = output_facet.output_id)")


def kinds(n: int, rng: random.Random) -> dict[str, tuple[Callable[[], dict[str, Any]],
                                                         Callable[[dict[str, Any]], tuple[str, list[Any]]]]]:
    """query kind -> (random filters for find_outputs, hand-written SQL for the same filters)."""
    def window() -> tuple[str, str]:
        start = rng.randrange(n - 30_000)
        return at(start), at(start + 7 * 24 * 3600 // STEP_S)

    def one(kind: str, value: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], tuple[str, list[Any]]]:
        return lambda f: (HAND_PAGE.format(inner=HAND_ONE.format(extra="")), [kind, value(f)])

    def time_range(f: dict[str, Any]) -> tuple[str, list[Any]]:
        return (HAND_PAGE.format(inner=HAND_ONE.format(extra="AND signed_at >= ? AND signed_at < ?")),
                ["all", "", str(f["since"].replace(tzinfo=None)), str(f["until"].replace(tzinfo=None))])

    def combined(f: dict[str, Any]) -> tuple[str, list[Any]]:
        inner = HAND_ONE.format(extra="AND signed_at >= ? AND signed_at < ? AND " + HAS)
        model = int(f["model"].split("-")[1].split(":")[0])
        return (HAND_PAGE.format(inner=inner), ["model", str(model), str(f["since"].replace(tzinfo=None)),
                                                str(f["until"].replace(tzinfo=None)), "outcome", f["outcome"]])

    def person_production(f: dict[str, Any]) -> tuple[str, list[Any]]:
        inner = HAND_ONE.format(extra="AND " + HAS)
        return HAND_PAGE.format(inner=inner), ["person", f["person"], "production", f["production"]]

    def dt(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)

    def window_filters() -> dict[str, Any]:
        since, until = window()
        return {"since": dt(since), "until": dt(until)}

    def combined_filters() -> dict[str, Any]:
        since, until = window()
        return {"model": f"model-{rng.randrange(MODELS) + 1:03d}:1", "outcome": "needs_approval",
                "since": dt(since), "until": dt(until)}

    return {
        "asset": (lambda: {"asset": str(rng.randrange(ASSETS) + 1)},
                  lambda f: (HAND_PAGE.format(inner=HAND_TRAINED.format(column="asset_id")),
                             ["asset", f["asset"], int(f["asset"])])),
        "person": (lambda: {"person": str(rng.randrange(PEOPLE) + 1)}, one("person", lambda f: f["person"])),
        "licence": (lambda: {"licence": f"LIC-{rng.randrange(LICENCES):03d}"},
                    lambda f: (HAND_PAGE.format(inner=HAND_TRAINED.format(column="licence_id")),
                               ["licence", str(int(f["licence"][4:]) + 1), int(f["licence"][4:]) + 1])),
        "model": (lambda: {"model": f"model-{rng.randrange(MODELS) + 1:03d}:1"},
                  one("model", lambda f: str(int(f["model"].split("-")[1].split(":")[0])))),
        "training_set": (lambda: {"training_set": f"set-{rng.randrange(MODELS):03d}"},
                         one("training_set", lambda f: str(int(f["training_set"][4:]) + 1))),
        "production": (lambda: {"production": f"prod-{rng.randrange(PRODUCTIONS):02d}"},
                       one("production", lambda f: f["production"])),
        "approver": (lambda: {"approver": f"approver-{rng.randrange(APPROVERS):02d}"},
                     one("approver", lambda f: f["approver"])),
        "outcome": (lambda: {"outcome": rng.choice(["allow", "needs_approval"])},
                    one("outcome", lambda f: f["outcome"])),
        "time_range": (window_filters, time_range),
        "combined": (combined_filters, combined),
        "person_in_production": (lambda: {"person": str(rng.randrange(PEOPLE) + 1),
                                          "production": f"prod-{rng.randrange(PRODUCTIONS):02d}"}, person_production),
    }


def measure(n: int, trials: int, rng: random.Random) -> dict[str, Any]:
    conn = database.obj.connection()
    results: dict[str, Any] = {}
    print(f"{'query':<22} {'slate p50':>10} {'slate p95':>10} {'hand SQL p50':>13} {'hand SQL p95':>13}")
    for name, (filters, hand) in kinds(n, rng).items():
        cases = [filters() for _ in range(trials)]
        slate_ms, hand_ms = [], []
        for case in cases:
            slate_ms += timed(lambda: find_outputs(OutputQuery(**case)), 1)
            sql, params = hand(case)
            hand_ms += timed(lambda: conn.execute(sql, params).fetchall(), 1)
        results[name] = (p(slate_ms, 50), p(slate_ms, 95), p(hand_ms, 50), p(hand_ms, 95))
        print(f"{name:<22} {results[name][0]:>8.2f}ms {results[name][1]:>8.2f}ms "
              f"{results[name][2]:>11.2f}ms {results[name][3]:>11.2f}ms")
    page2 = []
    for _ in range(trials):
        production = f"prod-{rng.randrange(PRODUCTIONS):02d}"
        first = find_outputs(OutputQuery(production=production))
        page2 += timed(lambda: find_outputs(OutputQuery(production=production, cursor=first.next_cursor)), 1)
    results["next_page"] = (p(page2, 50), p(page2, 95), 0.0, 0.0)
    print(f"{'next_page (cursor)':<22} {results['next_page'][0]:>8.2f}ms {results['next_page'][1]:>8.2f}ms")
    return results


def measure_impact(rng: random.Random) -> dict[str, float]:
    conn = database.obj.connection()
    out = {}
    for kind, ref, run in (("licence", lambda: f"LIC-{rng.randrange(LICENCES):03d}", impact.licence_impact),
                           ("consent", lambda: str(rng.randrange(PEOPLE) + 1), impact.consent_impact)):
        times, counts = [], []
        for _ in range(3):
            value = ref()
            t = time.perf_counter()
            result = run(value)
            times.append(time.perf_counter() - t)
            counts.append((result.outputs, len(result.models), len(result.pending_requests)))
        out[kind] = max(times)
        print(f"revocation impact ({kind}, dry run): max {max(times):.3f}s over 3 "
              f"(outputs, models, pending requests: {counts})")
    lic = rng.randrange(LICENCES) + 1
    t = time.perf_counter()
    conn.execute("SELECT COUNT(DISTINCT output_id) FROM output_facet WHERE (kind='licence' AND value=?) OR "
                 "(kind='model' AND value IN (SELECT CAST(m.id AS TEXT) FROM model m JOIN training_set_member t "
                 "ON t.training_set_id = m.training_set_id WHERE t.licence_id = ?))", (str(lic), lic)).fetchall()
    out["hand_outputs_count"] = time.perf_counter() - t
    print(f"hand SQL: count the outputs a licence reaches: {out['hand_outputs_count']:.3f}s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outputs", type=int, default=1_000_000)
    parser.add_argument("--trials", type=int, default=60)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="slate-provenance-bench-") as folder:
        settings = Settings.for_folder(Path(folder))
        open_database(settings.database_url)
        migrate()
        started = time.perf_counter()
        built = build(args.outputs, rng)
        facets = database.obj.connection().execute("SELECT COUNT(*) FROM output_facet").fetchone()[0]
        size = sum(f.stat().st_size for f in Path(folder).rglob("*") if f.is_file())
        print(f"built {args.outputs:,} outputs ({facets:,} facets, {size / 1e9:.2f} GB) in "
              f"{time.perf_counter() - started:.0f}s (load {built['load_s']}s, indexes {built['index_s']}s)")
        results = measure(args.outputs, args.trials, rng)
        impacts = measure_impact(rng)
        close_database()
    summary: dict[str, Any] = {"benchmark": "provenance", "outputs": args.outputs, "facets": facets,
                               "trials": args.trials}
    for name, (p50, p95, _h50, h95) in results.items():
        summary[f"{name}_p50_ms"] = round(p50, 2)
        summary[f"{name}_p95_ms"] = round(p95, 2)
        summary[f"{name}_hand_sql_p95_ms"] = round(h95, 2)
    summary["revocation_impact_s"] = round(max(impacts["licence"], impacts["consent"]), 3)
    summary["revocation_impact_licence_s"] = round(impacts["licence"], 3)
    summary["revocation_impact_consent_s"] = round(impacts["consent"], 3)
    summary["targets_met"] = (all(v[1] < 50 for v in results.values()) and summary["revocation_impact_s"] < 1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()

"""The clearance report of a production with 100,000 outputs, in SQLite, next to the bare SQL it needs.

Builds a studio in a temporary folder, bulk-loaded with ``executemany`` the way
``provenance_bench`` does: one production with N signed outputs (and another with N/10,
which the report must leave out), each with its request, decision (records naming the
consents and licences it relied on), job, ledger row (a real governance record and its
SHA-256) and, for the 30% that needed an approver, the approver's real COSE signature by
their identity certificate in a kept manifest store (a minimal JUMBF store carrying the
approvals assertion; real stores are 20 KB and read the same way) and an output review.

Then times ``clearance_report.signed_clearance_report`` (build, judge every approver's
signature, sign) plus its canonical JSON, next to the same run's bare SQL reads of the
rows it needs (outputs, decisions, consents, licences, stores, reviews, jobs) into Python.

    .venv/bin/python benchmarks/report_bench.py [--outputs N]

Ends with one JSON line: ``outputs``, ``report_s`` (wall), ``report_cpu_s`` (this process's CPU:
what the report costs when the machine is shared), ``sql_s``, ``ratio`` (report / SQL, wall).
Target: report_s under 30 s for 100,000 outputs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import struct
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cbor2

from governance.auth.users import add_user
from governance.canonical import canonical_json, sha256_hex
from governance.credentials import approvals
from governance.credentials.identities import IdentityStore
from governance.db import close_database, database, open_database
from governance.migrations import migrate
from governance.provenance.clearance_report import signed_clearance_report
from governance.settings import Settings

PRODUCTION, OTHER = "bench-prod", "other-prod"
PEOPLE, LICENCES, MODELS, APPROVERS = 500, 200, 10, 5
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
CHUNK = 50_000


def sha(*parts: Any) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def at(i: int) -> str:
    return str((START + timedelta(seconds=i * 7)).replace(tzinfo=None))


def rows(conn: sqlite3.Connection, table: str, columns: list[str], values: Iterable[tuple[Any, ...]]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})'
    batch: list[tuple[Any, ...]] = []
    for row in values:
        batch.append(row)
        if len(batch) >= CHUNK:
            conn.executemany(sql, batch)
            batch = []
    if batch:
        conn.executemany(sql, batch)


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def superbox(label: str, *children: bytes) -> bytes:
    description = box(b"jumd", b"\x00" * 16 + b"\x03" + label.encode() + b"\x00")
    return box(b"jumb", description + b"".join(children))


def store(label: str, approvals_block: dict[str, Any]) -> bytes:
    """A manifest store with the approvals assertion where c2pa writes it."""
    assertion = superbox(approvals.APPROVALS_LABEL, box(b"cbor", cbor2.dumps(approvals_block)))
    return superbox("c2pa", superbox(label, superbox("c2pa.assertions", assertion)))


def governance(i: int, model: int, approver: str | None) -> dict[str, Any]:
    return {"schema": approvals.SIGNED_FROM_SCHEMA, "model": {"name": f"model-{model}", "version": "1",
                                                             "weights_sha256": sha("w", model)},
            "training_set": {"merkle_root": sha("root", model)},
            "policy": {"uid": "urn:bench", "version": "1", "sha256": sha("policy")},
            "decision": {"id": str(i + 1), "duties": []}, "approver": approver,
            "signoffs": [{"approver": approver, "rules": ["likeness"], "at": at(i)}] if approver else [],
            "request_id": str(i + 1), "job_id": f"job_{i}", "prompt_sha256": sha("prompt", i),
            "training_mining": "notAllowed", "references": [], "receipt_sha256": sha("receipt", i),
            "evaluation": None}


def build(settings: Settings, n: int, rng: random.Random) -> dict[str, Any]:
    identities = IdentityStore(settings)
    identities.ensure_ca()
    names = [f"approver-{k}" for k in range(APPROVERS)]
    for name in names:
        add_user(name, ["approver"])
    signers = {name: identities.signer_for(name)[1] for name in names}
    conn = database.obj.connection()
    conn.execute("PRAGMA synchronous=OFF")
    now = at(0)
    conn.execute("BEGIN")
    rows(conn, "production", ["name", "title", "created_at", "attributes"],
         [(PRODUCTION, "Bench feature", now, '{"release_territories":["GB","US"]}'), (OTHER, "", now, "{}")])
    rows(conn, "person", ["name", "kind", "is_minor", "created_at"],
         ((f"Person {p:03d}", "performer", 0, now) for p in range(PEOPLE)))
    rows(conn, "consent", ["person_id", "uses", "productions", "territories", "valid_from", "valid_until",
                           "guardian_signed", "document_sha256", "granted_at", "version", "document_stored", "status",
                           "attribution_required", "credit_text"],
         ((p + 1, '["likeness"]', f'["{PRODUCTION}"]', '["WW"]', "2026-01-01", "2030-12-31", 0, sha("doc", p), now,
           1, 0, "active", int(p % 5 == 0), f"Likeness of Person {p:03d}" if p % 5 == 0 else None)
          for p in range(PEOPLE)))
    rows(conn, "licence", ["ref", "licensor", "grants", "territories", "starts_on", "attribution_required",
                           "credit_text", "takedown", "created_at", "version"],
         ((f"LIC-{k:03d}", f"Licensor {k}", '["previs"]', '["WW"]' if k % 10 else '["GB"]', "2020-01-01",
           int(k % 4 == 0), f"Courtesy of Licensor {k}" if k % 4 == 0 else None, int(k == 7), now, 1)
          for k in range(LICENCES)))
    rows(conn, "training_set", ["name", "merkle_root", "size", "description", "created_at"],
         ((f"set-{m}", sha("root", m), 10, "", now) for m in range(1, MODELS + 1)))
    rows(conn, "model", ["name", "version", "weights_hash", "training_set_id", "status", "created_at",
                         "status_changed_at", "needs_retirement_review"],
         ((f"model-{m}", "1", sha("w", m), m, "approved", now, now, 0) for m in range(1, MODELS + 1)))
    rows(conn, "policy_version", ["uid", "version", "title", "sha256", "text", "author", "status", "created_at"],
         [("urn:bench", 1, "bench", sha("policy"), "", "legal", "published", now)])
    conn.execute("COMMIT")
    total = n + n // 10
    plan = []
    for i in range(total):
        needs = rng.random() < 0.3
        plan.append({"production": PRODUCTION if i < n else OTHER, "model": rng.randrange(MODELS) + 1,
                     "approver": rng.choice(names) if needs else None,
                     "consent": rng.randrange(PEOPLE) + 1 if rng.random() < 0.2 else None,
                     "licences": sorted(rng.sample(range(1, LICENCES + 1), rng.randrange(1, 3)))})
    started = time.perf_counter()
    conn.execute("BEGIN")
    _flow(conn, plan, signers)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    return {"load_s": round(time.perf_counter() - started, 1)}


def _flow(conn: sqlite3.Connection, plan: list[dict[str, Any]], signers: dict[str, Any]) -> None:
    rows(conn, "generation_request", ["id", "requester", "production", "use", "territory", "request_date",
                                      "model_id", "references", "people", "prompt", "prompt_sha256", "created_at"],
         ((i + 1, "producer", p["production"], "previs", "GB", "2026-01-01", p["model"], "[]",
           json.dumps([f"Person {p['consent'] - 1:03d}"] if p["consent"] else []), "(prompt)", sha("prompt", i),
           at(i)) for i, p in enumerate(plan)))

    def decisions() -> Iterator[tuple[Any, ...]]:
        for i, p in enumerate(plan):
            records = {"consents": [{"id": str(p["consent"]), "version": 1}] if p["consent"] else [],
                       "licences": [{"id": str(k), "version": 1} for k in p["licences"]]}
            yield (i + 1, i + 1, 1, "needs_approval" if p["approver"] else "allow", "[]", "[]", "[]", sha("in", i),
                   json.dumps(records, separators=(",", ":")), "{}", at(i))
    rows(conn, "decision", ["id", "request_id", "policy_version_id", "outcome", "violations", "approvals", "duties",
                            "inputs_digest", "records", "facts", "created_at"], decisions())
    rows(conn, "job", ["id", "request_id", "decision_id", "status", "params", "attempts", "output_sha256", "worker",
                       "created_at", "updated_at"],
         ((f"job_{i}", i + 1, i + 1, "succeeded", "{}", 1, sha("out", i), "gpu-1", at(i), at(i))
          for i in range(len(plan))))
    outputs, stores, reviews = [], [], []
    signed_at = datetime.now(timezone.utc)
    for i, p in enumerate(plan):
        claim = governance(i, p["model"], p["approver"])
        claim_json = canonical_json(claim).decode()
        label = f"urn:c2pa:bench-{i}"
        outputs.append((i + 1, sha("out", i), label, "f" * 64, "image/png", f"job_{i}", str(i + 1), str(i + 1),
                        f"model-{p['model']}:1", at(i), 1, claim_json, sha256_hex(claim_json.encode()), 1))
        if p["approver"]:
            body = approvals.payload(approver=p["approver"], role="approver", manifest_label=label, governance=claim,
                                     image_sha256=sha("pixels", i), signed_at=signed_at)
            block = {"schema": approvals.APPROVALS_SCHEMA,
                     "approvals": [approvals.sign(body, signers[p["approver"]])]}
            stores.append((label, sha("out", i), store(label, block), at(i)))
            reviews.append((f"rev_{i}", f"job_{i}", i + 1, sha("pixels", i), "signed", "allow", "urn:bench", 1,
                            sha("policy"), "[]", "[]", json.dumps({"nearest_distance": 0.4, "faces": 1,
                                                                    "style_distance": 0.2}),
                            sha("in", i), "gpu-1", sha("w", p["model"]), "{}", "{}", "[]", p["approver"], at(i)))
    rows(conn, "output", ["id", "sha256", "manifest_label", "cert_fingerprint", "media_type", "job_id", "decision_id",
                          "request_id", "model_ref", "signed_at", "timestamped", "claim_json", "claim_sha256",
                          "in_good_standing"], outputs)
    rows(conn, "manifest_store", ["manifest_label", "output_sha256", "data", "created_at"], stores)
    rows(conn, "output_review", ["id", "job_id", "request_id", "image_sha256", "status", "outcome", "policy_uid",
                                 "policy_version", "policy_sha256", "violations", "approvals", "facts",
                                 "inputs_digest", "worker", "model_identity", "receipt", "environment", "signoffs",
                                 "reviewer", "created_at"], reviews)


def bare_sql(conn: sqlite3.Connection) -> float:
    """The rows the report reads, fetched with hand-written SQL into Python: the floor."""
    started = time.perf_counter()
    ids = "SELECT CAST(id AS TEXT) FROM generation_request WHERE production = ?"
    out = conn.execute(f"SELECT sha256, request_id, decision_id, job_id, signed_at, claim_json, claim_sha256, "
                       f"in_good_standing, standing_reason, manifest_label FROM output WHERE request_id IN ({ids}) "
                       f"ORDER BY signed_at, id", (PRODUCTION,)).fetchall()
    conn.execute("SELECT id, territory, people FROM generation_request WHERE production = ?", (PRODUCTION,)).fetchall()
    decisions = conn.execute("SELECT d.id, d.outcome, d.policy_version_id, d.records FROM decision d JOIN "
                             "generation_request r ON d.request_id = r.id WHERE r.production = ?",
                             (PRODUCTION,)).fetchall()
    for _, _, _, records in decisions:
        json.loads(records)
    for row in out:
        json.loads(row[5])
    conn.execute("SELECT * FROM consent").fetchall()
    conn.execute("SELECT * FROM licence").fetchall()
    conn.execute("SELECT manifest_label, data FROM manifest_store WHERE manifest_label IN (SELECT manifest_label "
                 f"FROM output WHERE request_id IN ({ids}))", (PRODUCTION,)).fetchall()
    conn.execute("SELECT o.job_id, o.outcome, o.facts, o.reviewer FROM output_review o JOIN generation_request r "
                 "ON o.request_id = r.id WHERE r.production = ?", (PRODUCTION,)).fetchall()
    conn.execute("SELECT j.id, j.worker, j.output_sha256 FROM job j JOIN generation_request r ON j.request_id = r.id "
                 "WHERE r.production = ?", (PRODUCTION,)).fetchall()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outputs", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings.for_folder(Path(folder))
        open_database(settings.database_url)
        migrate()
        built = build(settings, args.outputs, random.Random(20))
        print(f"loaded {args.outputs} outputs of {PRODUCTION} (+{args.outputs // 10} of {OTHER}) in "
              f"{built['load_s']} s", flush=True)
        sql_s = bare_sql(database.obj.connection())
        started, cpu = time.perf_counter(), time.process_time()
        signed_report = signed_clearance_report(settings, PRODUCTION, by=None)
        data, signed = signed_report.canonical, signed_report.data
        report_s, report_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        totals = signed["report"]["totals"]
        valid = sum(1 for o in signed["report"]["outputs"] for a in o["approvers"] if a["signature"] == "valid")
        close_database()
    assert totals["outputs"] == args.outputs, totals
    print(f"bare SQL reads: {sql_s:.2f} s")
    print(f"clearance report (JSON, signed, {len(data) / 1e6:.0f} MB): {report_s:.2f} s "
          f"({report_cpu_s:.2f} s of this process's CPU); totals {totals}")
    print(json.dumps({"outputs": args.outputs, "report_s": round(report_s, 2),
                      "report_cpu_s": round(report_cpu_s, 2), "sql_s": round(sql_s, 2),
                      "ratio": round(report_s / sql_s, 2), "issues": totals["issues"],
                      "approver_signatures_valid": valid}))


if __name__ == "__main__":
    main()

"""The load run's check of the record: the database after the run against what the clients
were told. Kept apart from load.py, the locustfile, so that it can be imported (and tested)
without locust, whose gevent patches the importing process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: What the clients were told, one JSON line each, in the run's home: ``request`` (key,
#: request and job ids), ``signed`` (job, output SHA-256) and ``failure`` (status, call, error).
ACKNOWLEDGED = "acknowledged.jsonl"


def count_record(database_url: str) -> dict[str, int]:
    """What the record holds now: requests, ledger entries, ``output.signed`` audit entries."""
    from governance.audit.tables import AuditEntry
    from governance.db import close_database, open_database
    from governance.ledger.tables import Output
    from governance.policy.tables import GenerationRequest
    open_database(database_url)
    try:
        return {"requests": GenerationRequest.select().count(), "ledger_entries": Output.select().count(),
                "signed_entries": AuditEntry.select().where(AuditEntry.action == "output.signed").count()}
    finally:
        close_database()


def check_record(settings: Any, before: dict[str, int], home: Path) -> dict[str, Any]:
    """The database after the run against what the clients were told (``ACKNOWLEDGED``):
    ``lost``, a signed output or a request a client received that the database lacks;
    ``duplicated``, a job with two ledger entries or a request key with two requests. Rows
    made by a call still in flight when the clients stopped are counted (``unacknowledged``),
    not faulted. The audit log must verify, with one ``output.signed`` entry per ledger entry."""
    from collections import Counter

    from governance.audit.log import verify_database
    from governance.audit.trust import TrustAnchors
    from governance.db import close_database, open_database, tuples
    from governance.ledger.tables import Output
    from governance.policy.tables import GenerationRequest
    path = home / ACKNOWLEDGED
    seen = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    signed = {s["sha256"]: s["job"] for s in seen if s["kind"] == "signed"}
    requests = [s for s in seen if s["kind"] == "request"]
    failed = [s for s in seen if s["kind"] == "failure"]
    after = count_record(settings.database_url)
    open_database(settings.database_url)
    try:
        ledger = dict(tuples(Output.select(Output.sha256, Output.job_id)))
        per_job = Counter(ledger.values())
        stored = {r for (r,) in tuples(GenerationRequest.select(GenerationRequest.id))}
        audit = verify_database(TrustAnchors.in_keys_folder(settings.keys_dir))
    finally:
        close_database()
    lost = [f"output {sha[:12]} (job {job}) was signed for a client and is not in the ledger"
            for sha, job in signed.items() if ledger.get(sha) != job]
    lost += [f"request {r['request']} ({r['key']}) was answered 201 and is not in the database"
             for r in requests if r["request"] not in stored]
    per_key = Counter(r["key"] for r in requests)
    duplicated = [f"job {job} has {n} ledger entries" for job, n in per_job.items() if n > 1]
    duplicated += [f"key {key} made {n} requests" for key, n in per_key.items() if n > 1]
    entries = after["ledger_entries"] - before["ledger_entries"]
    violations = lost + duplicated
    if after["signed_entries"] - before["signed_entries"] != entries:
        violations.append(f"{after['signed_entries'] - before['signed_entries']} output.signed audit entries "
                          f"for {entries} new ledger entries")
    if not audit.ok:
        violations.append(f"the audit log does not verify: {audit.problem}")
    return {"failed_calls": [f"{f['call']} answered {f['status']}: {f['error']}" for f in failed],
            "server_errors": sum(1 for f in failed if f["status"].startswith("5")),
            "ledger_entries": entries, "signed_for_clients": len(signed), "lost": len(lost),
            "duplicated": len(duplicated), "unacknowledged": {
                "outputs": entries - len(signed),
                "requests": after["requests"] - before["requests"] - len(requests)},
            "audit_entries": audit.entries, "audit_verified": audit.ok, "record_violations": violations}

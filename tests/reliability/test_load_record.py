"""The load run's check of the record (reliability/load_record.py): what a client
was answered and the database lacks is lost, whatever locust's own summary counted."""

from __future__ import annotations

import json
import sys

from tests.e2e.harness import REPO

sys.path.insert(0, str(REPO / "reliability"))

import load_record


def test_answers_the_database_lacks_are_lost_and_an_untouched_record_verifies(db, tmp_path):
    before = load_record.count_record(db.database_url)
    assert load_record.check_record(db, before, tmp_path)["record_violations"] == []  # nothing answered, nothing owed

    answered = [{"kind": "signed", "job": "job_gone", "sha256": "ab" * 32},
                {"kind": "request", "key": "load-1", "request": 10_000, "job": "job_gone"},
                {"kind": "failure", "status": "503", "call": "/api/v1/sign", "error": "busy"}]
    (tmp_path / load_record.ACKNOWLEDGED).write_text("".join(json.dumps(a) + "\n" for a in answered))
    record = load_record.check_record(db, before, tmp_path)

    assert (record["lost"], record["duplicated"], record["server_errors"]) == (2, 0, 1)
    assert record["failed_calls"] == ["/api/v1/sign answered 503: busy"]
    assert any("not in the ledger" in v for v in record["record_violations"])

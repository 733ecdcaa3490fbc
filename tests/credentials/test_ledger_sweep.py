"""Signed files the ledger does not hold: found, left alone while young, moved aside with an audit entry."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from typing import Any, Callable

import pytest

from governance.audit.tables import AuditEntry
from governance.clock import utcnow
from governance.credentials import Issuer
from governance.ledger.sweep import find_orphans, quarantine
from governance.settings import Settings

from .conftest import make_image


def _age(path: Any, minutes: int) -> None:
    then = time.time() - minutes * 60
    os.utime(path, (then, then))


def _crash_leftovers(issuer: Issuer, claim: dict[str, Any], settings: Settings) -> tuple[Any, Any, Any]:
    """A recorded output, an unrecorded signed file (killed before commit), a cut-short write."""
    recorded = issuer.sign(make_image(seed=1), claim, store=True)
    unrecorded = issuer.sign(make_image(seed=2), dict(claim, job_id="JOB-0002"))  # signed, row below removed
    path = settings.outputs_dir / unrecorded.sha256[:2] / f"{unrecorded.sha256}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(unrecorded.data)
    from governance.ledger.tables import Output
    Output.delete().where(Output.id == unrecorded.ledger_id).execute()
    partial = path.parent / ".signing-abc123"
    partial.write_bytes(unrecorded.data[:100])
    for p in (recorded.path, path, partial):
        _age(p, 30)
    return recorded, path, partial


def test_orphans_are_found_and_recorded_outputs_are_not(issuer: Issuer, claim: dict[str, Any],
                                                         offline: Settings) -> None:
    _recorded, unrecorded, partial = _crash_leftovers(issuer, claim, offline)
    found = {o.path: o.kind for o in find_orphans(offline.outputs_dir, utcnow())}
    assert found == {unrecorded: "unrecorded", partial: "partial"}


def test_young_files_are_left_alone_in_case_their_signing_is_still_committing(
        issuer: Issuer, claim: dict[str, Any], offline: Settings) -> None:
    _, unrecorded, partial = _crash_leftovers(issuer, claim, offline)
    _age(unrecorded, 2)
    assert [o.path for o in find_orphans(offline.outputs_dir, utcnow(), timedelta(minutes=10))] == [partial]


def test_quarantine_moves_them_aside_and_says_so_in_the_audit_log(issuer: Issuer, claim: dict[str, Any],
                                                                  offline: Settings) -> None:
    recorded, unrecorded, partial = _crash_leftovers(issuer, claim, offline)
    moved = quarantine(offline.outputs_dir, find_orphans(offline.outputs_dir, utcnow()))
    assert sorted(p.name for p in moved) == sorted([unrecorded.name, partial.name])
    assert not unrecorded.exists() and not partial.exists()
    assert (offline.outputs_dir / "orphaned" / unrecorded.name).read_bytes().startswith(b"\x89PNG")
    assert os.path.exists(recorded.path)
    entry = AuditEntry.select().order_by(AuditEntry.seq.desc()).get()
    assert entry.action == "ledger.orphans_quarantined" and len(entry.data["files"]) == 2
    assert find_orphans(offline.outputs_dir, utcnow()) == []  # the quarantine folder is not swept again


def test_the_sweep_command_lists_by_default_and_moves_with_apply(issuer: Issuer, claim: dict[str, Any],
                                                                 offline: Settings,
                                                                 slate_cli: Callable[..., Any]) -> None:
    _, unrecorded, _ = _crash_leftovers(issuer, claim, offline)
    listed = slate_cli("ledger", "sweep")
    assert listed.exit_code == 0 and "run with --apply" in listed.output and unrecorded.exists()
    applied = json.loads(slate_cli("ledger", "sweep", "--apply", "--json").output)
    assert len(applied["orphans"]) == 2 and applied["moved_to"].endswith("orphaned")
    assert not unrecorded.exists()
    assert slate_cli("ledger", "sweep").output.strip() == "no orphan files"



def test_a_database_with_an_empty_ledger_moves_nothing(issuer: Issuer, claim: dict[str, Any],
                                                       offline: Settings) -> None:
    # e.g. slate pointed at the wrong database: every output would look unrecorded
    from governance.errors import Conflict
    from governance.ledger.tables import Output
    recorded, unrecorded, _ = _crash_leftovers(issuer, claim, offline)
    Output.delete().execute()
    orphans = find_orphans(offline.outputs_dir, utcnow())
    with pytest.raises(Conflict, match="holds no outputs at all"):
        quarantine(offline.outputs_dir, orphans)
    assert os.path.exists(recorded.path) and unrecorded.exists()


def test_files_recorded_or_gone_since_they_were_found_are_left_out(issuer: Issuer, claim: dict[str, Any],
                                                                   offline: Settings) -> None:
    _, unrecorded, partial = _crash_leftovers(issuer, claim, offline)
    orphans = find_orphans(offline.outputs_dir, utcnow())
    # meanwhile: the signing that wrote the unrecorded file commits; the partial file goes
    from governance.ledger.records import record_output
    record_output(sha256=unrecorded.stem, manifest_label="urn:c2pa:late", cert_fingerprint="f" * 64,
                  media_type="image/png", job_id="JOB-LATE", decision_id="D", request_id="R", model_ref="m:1",
                  signed_at=utcnow(), timestamped=False, file_path=str(unrecorded), assertion={})
    partial.unlink()
    assert quarantine(offline.outputs_dir, orphans) == []
    assert unrecorded.exists()
    assert not AuditEntry.select().where(AuditEntry.action == "ledger.orphans_quarantined").exists()

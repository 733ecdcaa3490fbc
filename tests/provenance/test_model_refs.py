"""An output's model ref is the registry's NAME:VERSION, so it can be fed back as a filter;
ledgers written before migration 8 (NAME@VERSION) are rewritten, with an audit entry."""

from __future__ import annotations

from governance.audit.tables import AuditEntry
from governance.db import transaction
from governance.ledger.tables import Output
from governance.migrations import STEPS
from governance.provenance.query import OutputQuery, find_outputs


def test_a_model_ref_read_off_an_output_finds_its_outputs(signed):
    output = Output.get(Output.sha256 == signed.outputs["plate"])
    assert output.model_ref == "slate-studio:1"
    found = {i["sha256"] for i in find_outputs(OutputQuery(model=output.model_ref)).items}
    assert signed.outputs["plate"] in found


def test_migration_8_rewrites_old_refs_from_the_recorded_assertion_and_says_so(signed):
    with transaction():  # what signing wrote before: NAME@VERSION
        rows = Output.update(model_ref="slate-studio@1").where(Output.model_ref == "slate-studio:1").execute()
    assert rows > 0
    entries = AuditEntry.select().count()

    step = next(s for s in STEPS if s.version == 8)
    with transaction():
        step.apply()

    assert Output.select().where(Output.model_ref.contains("@")).count() == 0
    assert Output.select().where(Output.model_ref == "slate-studio:1").count() == rows
    entry = AuditEntry.select().order_by(AuditEntry.seq.desc()).get()
    assert AuditEntry.select().count() == entries + 1
    assert entry.action == "ledger.model_refs_normalised"
    assert entry.data["rows"] == rows and entry.data["to"] == "NAME:VERSION"


def test_migration_8_on_a_current_ledger_changes_nothing_and_logs_nothing(signed):
    refs = {o.id: o.model_ref for o in Output.select()}
    entries = AuditEntry.select().count()
    with transaction():
        next(s for s in STEPS if s.version == 8).apply()
    assert {o.id: o.model_ref for o in Output.select()} == refs
    assert AuditEntry.select().count() == entries

"""Names typed in any letter case (with a choice when several records fit), and the credits a
production owes, counted as outputs are signed."""

from __future__ import annotations

import pytest

from governance.errors import Ambiguous, NotFound
from governance.ledger.tables import Output
from governance.principal import Principal
from governance.provenance import credit_lines, names
from governance.provenance.clearance_report import clearance_report
from governance.provenance.index import write_facets
from governance.provenance.query import OutputQuery, find_outputs
from governance.provenance.tables import CreditTally, OutputFacet
from governance.registry import assets
from governance.registry.tables import Licence
from tests.provenance.conftest import png

OUTSIDER = Principal(0, "nora-producer", frozenset({"producer"}), frozenset({"northern-line"}))
PRODUCER = Principal(0, "pat-producer", frozenset({"producer"}), frozenset({"harbour-lights"}))


def shas(**filters) -> set[str]:
    return {i["sha256"] for i in find_outputs(OutputQuery(**filters)).items}


def test_a_person_typed_in_lower_case_finds_the_same_outputs_as_their_exact_name(signed):
    assert shas(person="mara quinn") == shas(person="Mara Quinn") == {signed.outputs["mara"]}
    assert shas(person="  MARA   quinn ") == {signed.outputs["mara"]}


def test_an_asset_is_found_by_its_title_in_any_letter_case(signed):
    assert shas(asset="harbour plate, DUSK") == {signed.outputs["plate"]}


def test_a_licence_a_model_and_a_production_are_found_in_any_letter_case(signed):
    assert shas(licence="lic-northlight-plates") == {signed.outputs["plate"]}
    assert shas(model="SLATE-STUDIO") == shas(model="slate-studio:1")
    assert shas(production="Harbour-Lights") == shas(production="harbour-lights") != set()


def test_a_title_several_assets_share_answers_a_choice_of_them_not_a_miss(signed):
    first, _ = assets.register_asset(png(901), media_type="image/png", title="Quay plate")
    second, _ = assets.register_asset(png(902), media_type="image/png", title="quay plate")
    with pytest.raises(Ambiguous) as raised:
        find_outputs(OutputQuery(asset="QUAY PLATE"))
    assert {value for value, _ in raised.value.choices} == {first["sha256"], second["sha256"]}
    assert raised.value.status == 422 and raised.value.fields["choices"][0]["label"].lower().startswith("quay plate")
    # the exact spelling is still one record, not a choice
    assert shas(asset="Quay plate") == set()


def test_an_unknown_name_is_still_not_found(signed):
    with pytest.raises(NotFound):
        find_outputs(OutputQuery(person="nobody at all"))


def test_a_producer_is_never_offered_nor_matched_records_of_another_production(signed):
    assert "Mara Quinn" not in {c.value for c in names.suggestions("person", OUTSIDER)}
    assert "Mara Quinn" in {c.value for c in names.suggestions("person", PRODUCER)}
    assert names.matches("person", "mara quinn", OUTSIDER) == ()
    with pytest.raises(NotFound) as raised:
        find_outputs(OutputQuery(person="mara quinn"), OUTSIDER)
    assert "in your productions" in raised.value.message
    assert [c.value for c in names.suggestions("production", OUTSIDER)] == ["northern-line"]


def test_the_credits_owed_are_the_clearance_reports_credit_lines_with_their_counts(signed):
    signed.make("plate-again", 6, use="final_frame", references=[signed.plate])
    owed = credit_lines.credits_owed("harbour-lights", PRODUCER)
    report = clearance_report("harbour-lights", by=None)
    assert [(c.line, c.outputs) for c in owed] == [(c.line, c.outputs) for c in report.credits]
    assert [(c.kind, c.line, c.outputs, c.search) for c in owed] == [
        ("licensor", "Background plates courtesy of Northlight Archive", 2, ("licence", "LIC-NORTHLIGHT-PLATES"))]
    linked = shas(production="harbour-lights", licence="LIC-NORTHLIGHT-PLATES")
    assert linked == {signed.outputs["plate"], signed.outputs["plate-again"]}


def test_another_productions_producer_is_told_the_production_does_not_exist(signed):
    with pytest.raises(NotFound) as raised:
        credit_lines.credits_owed("harbour-lights", OUTSIDER)
    with pytest.raises(NotFound) as missing:
        credit_lines.credits_owed("no-such-production", OUTSIDER)
    assert raised.value.message.replace("harbour-lights", "X") == missing.value.message.replace(
        "no-such-production", "X")


def test_indexing_an_output_twice_counts_its_credits_once(signed):
    row = Output.get(Output.sha256 == signed.outputs["plate"])
    before = list(CreditTally.select().dicts())
    assert write_facets(row.id, row.signed_at, [("all", ""), ("production", "harbour-lights"), ("licence", "1")]) == 0
    assert list(CreditTally.select().dicts()) == before


def test_step_31_fills_the_tally_from_the_facets_already_recorded(signed):
    from governance.db import database
    from governance.migrations import v30_credits_and_resubmissions as step

    def tallies():
        return sorted((t.production, t.subject_kind, t.subject_id, t.outputs) for t in CreditTally.select())
    kept = tallies()
    plates = Licence.get(Licence.ref == "LIC-NORTHLIGHT-PLATES").id
    assert ("harbour-lights", "licence", plates, 1) in kept
    uses = sorted((f.value, f.output_id) for f in OutputFacet.select().where(OutputFacet.kind == "use"))
    assert len(uses) == len(signed.outputs)
    database.execute_sql("DROP TABLE credit_tally")
    OutputFacet.delete().where(OutputFacet.kind == "use").execute()
    step.apply()
    assert tallies() == kept != []
    assert sorted((f.value, f.output_id) for f in OutputFacet.select().where(OutputFacet.kind == "use")) == uses


def test_outputs_are_found_by_the_use_they_were_made_for(signed):
    assert shas(use="final_frame") == {signed.outputs["plate"]}
    assert shas(use="previs") == {signed.outputs[k] for k in ("plain", "mara", "other")}
    assert shas(use="marketing") == set()

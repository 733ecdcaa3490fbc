"""Base models in the registry: legal registers them by weights identity, licence and the
maker's training-data statement and sets their standing; a model links its base; the policy
refuses a model on an unregistered, retired or (for release uses) restricted base, with evidence."""

from __future__ import annotations

import json
from datetime import date

import pytest
from click.testing import CliRunner, Result

from governance.audit.tables import AuditEntry
from governance.cli import cli
from governance.errors import Conflict, Forbidden, InvalidInput, NotFound
from governance.policy.registry_facts import model_facts
from governance.principal import Principal
from governance.registry import assets, base_models, licences, models_registry, training_sets
from governance.registry.models_registry import get_model
from governance.registry.tables import BaseModelRecord
from tests.training import attest_model

SD = "5d" * 32
STATEMENT = "LAION-5B subset, filtered; the maker's model card lists its sources"


def register(name: str = "sd-base", status: str = "restricted", **kw):
    return base_models.register_base(name, SD, licence="CreativeML OpenRAIL-M", training_data=STATEMENT,
                                     status=status, **kw)


def test_a_base_registers_restricted_by_default_with_its_licence_and_statement_in_the_audit_log(db):
    base = register(licence_url="https://example.org/openrail")
    assert (base["status"], base["licence"], base["training_data"]) == ("restricted", "CreativeML OpenRAIL-M",
                                                                       STATEMENT)
    entry = AuditEntry.select().where(AuditEntry.action == "base_model.registered").get()
    assert entry.subject == "base_model:sd-base" and entry.data["weights_hash"] == SD
    assert [b["name"] for b in base_models.list_bases()] == ["sd-base"]


def test_a_base_needs_a_sha256_identity_a_licence_and_a_training_data_statement(db):
    with pytest.raises(InvalidInput, match="SHA-256"):
        base_models.register_base("b", "xyz", licence="L", training_data=STATEMENT)
    with pytest.raises(InvalidInput, match="licence"):
        base_models.register_base("b", SD, licence=" ", training_data=STATEMENT)
    with pytest.raises(InvalidInput, match="training-data statement"):
        base_models.register_base("b", SD, licence="L", training_data="")
    with pytest.raises(InvalidInput, match="status"):
        register(status="retired")
    with pytest.raises(InvalidInput, match="http"):
        register(licence_url="javascript:alert(1)")
    assert BaseModelRecord.select().count() == 0


def test_only_legal_registers_or_changes_a_base(db):
    producer = Principal(0, "pat", frozenset({"producer"}), frozenset({"harbour-lights"}))
    legal = Principal(0, "lee", frozenset({"legal"}))
    with pytest.raises(Forbidden, match="only legal"):
        register(by=producer)
    register(by=legal)
    with pytest.raises(Forbidden, match="only legal"):
        base_models.set_base_status("sd-base", "approved", by=producer)
    assert base_models.show_base("sd-base")["status"] == "restricted"
    assert base_models.show_base("sd-base")["registered_by"] == "lee"


def test_retired_is_final_and_a_name_is_registered_once(db):
    register()
    assert base_models.set_base_status("sd-base", "approved")["status"] == "approved"
    assert base_models.set_base_status("sd-base", "restricted", "licence under review")["status_reason"] == \
        "licence under review"
    base_models.set_base_status("sd-base", "retired", "maker withdrew it")
    with pytest.raises(Conflict, match="retired; it cannot become approved"):
        base_models.set_base_status("sd-base", "approved")
    with pytest.raises(Conflict, match="already registered"):
        register()
    with pytest.raises(NotFound, match="no base model 'nope'"):
        base_models.get_base("nope")


def test_a_model_links_its_registered_base_and_its_facts_carry_the_base(db):
    register(status="approved")
    model = models_registry.register_model("studio", "1", "ab" * 32, base="sd-base")
    assert (model["base"], model["base_model"]) == ("sd-base", "sd-base")
    facts = model_facts(get_model("studio:1"))
    assert (facts["base"], facts["base_status"], facts["base_weights_hash"], facts["base_licence"]) == (
        "sd-base", "approved", SD, "CreativeML OpenRAIL-M")
    with pytest.raises(NotFound, match="no base model 'ghost'"):
        models_registry.register_model("studio", "2", "ab" * 32, base="ghost")


def test_free_text_naming_no_registered_base_is_unregistered_and_no_base_is_none_only_when_attested(db):
    models_registry.register_model("scraped", "1", "ab" * 32, base_model="web-scraped-v1")
    licences.add_licence("LIC-BASE-TEST", "The studio", grants=["ai_training"], territories=["WW"],
                         starts_on=date(2024, 1, 1))
    ts = training_sets.create_training_set("scratch-set", [(assets.register_asset(
        b"a frame", media_type="image/png", title="frame", licence="LIC-BASE-TEST")[0]["sha256"], None)])
    models_registry.register_model("scratch", "1", "cd" * 32, training_set=ts["name"])
    assert model_facts(get_model("scraped:1"))["base_status"] == "unregistered"
    # registered by hash naming no base: nothing shows it was trained from scratch
    assert model_facts(get_model("scratch:1"))["base_status"] == "undeclared"
    attest_model("scratch:1", db)  # an accepted attestation with no base: trained from scratch
    assert model_facts(get_model("scratch:1"))["base_status"] == "none"
    # registered later under the name the free text gives: the model is judged on it from then
    register("web-scraped-v1")
    assert model_facts(get_model("scraped:1"))["base_status"] == "restricted"


def test_the_cli_registers_restricts_and_retires_a_base(tmp_path, monkeypatch):
    monkeypatch.setenv("SLATE_HOME", str(tmp_path))
    for var in ("SLATE_DATABASE_URL", "SLATE_DATA_DIR", "SLATE_KEYS_DIR"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()

    def slate(*args: str) -> Result:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    assert slate("init").exit_code == 0
    made = slate("base", "register", "sd-cli", "--weights-hash", SD, "--licence", "OpenRAIL",
                 "--training-data", STATEMENT, "--status", "approved", "--json")
    assert made.exit_code == 0 and json.loads(made.output)["status"] == "approved", made.output
    restricted = slate("base", "restrict", "sd-cli", "--reason", "review", "--json")
    assert restricted.exit_code == 0 and json.loads(restricted.output)["status_reason"] == "review"
    assert slate("base", "retire", "sd-cli", "--reason", "withdrawn").exit_code == 0
    again = slate("base", "approve", "sd-cli")
    assert again.exit_code != 0 and "cannot become approved" in again.output
    shown = slate("base", "show", "sd-cli", "--json")
    assert json.loads(shown.output)["status"] == "retired"
    linked = slate("model", "register", "on-sd", "1", "--weights-hash", "ab" * 32, "--base", "sd-cli", "--json")
    assert json.loads(linked.output)["base"] == "sd-cli"

"""The inputs digest names exactly the facts judged, costs each decision only its own parts,
and decisions recorded under the earlier scheme still verify."""

from __future__ import annotations

import copy
import json
import random
from datetime import date, datetime, timezone
from typing import Any, Callable

import pytest

from governance.canonical import canonical_json, digest, json_default
from governance.errors import PolicyError
from governance.policy import requests
from governance.policy.compiler import CompiledPolicy
from governance.policy.inputs import DIGEST_SCHEME, LEGACY_SCHEME, Hashed, inputs_digest
from governance.policy.registry_facts import RequestSpec, build_facts
from governance.policy.tables import DecisionRecord

from .conftest import consent, credit_licence, performer

Facts = Callable[..., dict[str, Any]]


def _value(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON-ish value: unicode (accents, CJK, emoji, escapes), floats, nested lists and
    dicts, dates and datetimes, sets and bytes (what ``json_default`` encodes)."""
    scalars: list[Callable[[], Any]] = [
        lambda: rng.choice(["Zoë", "東京", "naïve café", "🎬 take 2", 'quote " and \\ slash', "\n\t\u2028", ""]),
        lambda: rng.uniform(-1e9, 1e9), lambda: rng.choice([0.1, 1e-7, 1e21, -0.0, 3.0]),
        lambda: rng.randint(-2**40, 2**40), lambda: rng.choice([True, False, None]),
        lambda: date(2025, rng.randint(1, 12), rng.randint(1, 28)),
        lambda: datetime(2025, 6, 1, rng.randint(0, 23), tzinfo=timezone.utc),
        lambda: {rng.choice("abc"), rng.choice("xyz")}, lambda: bytes([rng.randint(0, 255)] * 3),
    ]
    if depth > 3 or rng.random() < 0.4:
        return rng.choice(scalars)()
    if rng.random() < 0.5:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["b", "a", "é", "Z", "a1", "日"]) + str(rng.randint(0, 9)): _value(rng, depth + 1)
            for _ in range(rng.randint(0, 5))}


def test_canonical_bytes_are_those_json_dumps_gives_with_the_canonical_options() -> None:
    rng = random.Random(15)
    for _ in range(2000):
        value = {"request": _value(rng), "training_assets": [_value(rng) for _ in range(3)]}
        expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              default=json_default, allow_nan=False).encode("utf-8")
        assert canonical_json(value) == expected


def test_a_hashed_part_has_the_digest_and_json_of_the_list_it_holds() -> None:
    entries = [{"subject": "asset:1", "licence": {"id": "1", "grants": ["ai_training"]}}, {"z": "Zoë"}]
    part = Hashed(entries)
    assert part.sha256 == digest(entries) and canonical_json(part) == canonical_json(entries)
    assert list(part) == entries


def test_scheme_2_composes_the_parts_digests_and_scheme_1_is_the_whole_facts_hash(facts: Facts) -> None:
    made = facts()
    parts = {name: digest(value) for name, value in made.items()}
    assert inputs_digest(made) == digest({"parts": parts, "scheme": 2})
    assert inputs_digest(made, LEGACY_SCHEME) == digest(made)
    # a part hashed once by the facts builder gives the same digest as hashing it now
    assert inputs_digest(made | {"training_assets": Hashed(made["training_assets"])}) == inputs_digest(made)
    with pytest.raises(PolicyError, match="unknown inputs digest scheme"):
        inputs_digest(made, 3)


def test_a_decision_records_its_digest_and_scheme(engine: CompiledPolicy, facts: Facts) -> None:
    inputs = engine.evaluate(facts()).inputs
    assert (inputs.digest, inputs.scheme) == (inputs_digest(facts()), DIGEST_SCHEME)
    assert inputs.to_dict()["digest_scheme"] == DIGEST_SCHEME


def _training_licence(f: dict[str, Any], **changes: Any) -> None:
    f["training_assets"][1]["licence"] |= changes


def _first_consent(f: dict[str, Any], **changes: Any) -> None:
    f["performers"][0]["consent"] |= changes


@pytest.mark.parametrize("change", [
    lambda f: _training_licence(f, version=3),
    lambda f: _training_licence(f, takedown=True),
    lambda f: f["references"][0]["licence"].update(version=2),
    lambda f: _first_consent(f, version=2),
    lambda f: _first_consent(f, revoked=True),
    lambda f: f["requester"].update(productions=["other-film"]),
    lambda f: f["requester"].update(roles=["producer", "legal"]),
    lambda f: f["request"].update(prompt_terms=["dawn"]),
    lambda f: f["model"].update(status="retired"),
    lambda f: f["training_assets"].pop(),
], ids=["training licence version", "training takedown", "reference licence version", "consent version",
        "consent revoked", "requester productions", "requester roles", "prompt words", "model status",
        "training member dropped"])
def test_the_digest_changes_when_any_judged_fact_changes(engine: CompiledPolicy, facts: Facts,
                                                         change: Callable[[dict[str, Any]], None]) -> None:
    before = facts(performers=[performer("Maya Okafor", consent())])
    after = copy.deepcopy(before)
    change(after)
    assert engine.evaluate(after).inputs.digest != engine.evaluate(before).inputs.digest
    # and the part hashed once changes with it: a stale hash of the training entries never stands
    hashed = {**after, "training_assets": Hashed(after["training_assets"])}
    assert inputs_digest(hashed) == inputs_digest(after)


def test_the_digest_does_not_change_when_no_fact_does(engine: CompiledPolicy, facts: Facts) -> None:
    made = facts(performers=[performer("Maya Okafor", consent())],
                 training_assets=[{"asset": {"id": "4", "sha256": "04" * 32, "title": "Plate",
                                             "media_type": "image/png"}, "licence": credit_licence()}])
    reordered = {k: dict(reversed(list(v.items()))) if isinstance(v, dict) else v for k, v in reversed(made.items())}
    digests = {engine.evaluate(made).inputs.digest, engine.evaluate(copy.deepcopy(made)).inputs.digest,
               engine.evaluate(reordered).inputs.digest,
               engine.evaluate({**made, "training_assets": Hashed(made["training_assets"])}).inputs.digest}
    assert len(digests) == 1


# --- through the registry ------------------------------------------------------------------

def _spec(registry: dict[str, Any], prompt: str = "a boat at dawn") -> RequestSpec:
    return RequestSpec(requester="sam", production="harbour-lights", use="concept", territory="GB",
                       model=registry["model"], prompt=prompt, references=[registry["reference"]],
                       people=[], date=date(2025, 6, 1))


def _facts(registry: dict[str, Any]) -> dict[str, Any]:
    return build_facts(_spec(registry), "1", date(2025, 6, 1))


def test_the_training_entries_are_hashed_once_per_set_while_nothing_changes(registry: dict[str, Any]) -> None:
    first, second = _facts(registry), _facts(registry)
    assert isinstance(first["training_assets"], Hashed)
    assert second["training_assets"] is first["training_assets"]
    assert first["training_assets"].sha256 == digest(list(first["training_assets"]))


def test_a_takedown_of_a_training_licence_changes_the_cached_entries_and_the_digest(
        registry: dict[str, Any], engine: CompiledPolicy) -> None:
    from governance.revocation import take_down
    before = _facts(registry)
    take_down("LIC-1", "the licensor withdrew it", "alice")
    after = _facts(registry)
    assert after["training_assets"] is not before["training_assets"]
    [entry] = after["training_assets"]
    assert entry["licence"]["takedown"] is True and entry["licence"]["version"] == 2
    assert after["training_assets"].sha256 == digest(list(after["training_assets"]))
    assert after["training_assets"].sha256 != before["training_assets"].sha256
    assert engine.evaluate(after).inputs.digest != engine.evaluate(before).inputs.digest


def test_a_requester_joining_a_production_changes_the_digest(registry: dict[str, Any],
                                                             engine: CompiledPolicy) -> None:
    from governance.auth.users import add_membership
    from governance.registry import people
    before = _facts(registry)
    people.add_production("north-sea")
    add_membership("sam", "north-sea")
    after = _facts(registry)
    assert after["training_assets"] is before["training_assets"]  # the shared part did not change
    assert engine.evaluate(after).inputs.digest != engine.evaluate(before).inputs.digest


def _recorded(registry: dict[str, Any], prompt: str = "a boat at dawn") -> DecisionRecord:
    out = requests.decide_request(_spec(registry, prompt)).to_dict()
    return DecisionRecord.get_by_id(out["decision"]["id"])


def test_a_decision_stored_now_verifies_against_its_stored_facts(registry: dict[str, Any]) -> None:
    from governance.policy.stored_facts import inputs_verified
    row = _recorded(registry)
    assert row.records["digest_scheme"] == DIGEST_SCHEME
    assert requests.DecisionView.from_row(row).inputs.scheme == DIGEST_SCHEME
    assert inputs_verified(row)
    row.facts = {**row.facts, "request": {**row.facts["request"], "use": "marketing"}}
    assert not inputs_verified(row)


def test_a_decision_stored_before_scheme_2_still_verifies_and_replays(registry: dict[str, Any]) -> None:
    from governance.policy.compiler import compile_bytes
    from governance.policy.replay import replay
    from governance.policy.stored_facts import decision_facts, inputs_verified

    from .conftest import policy_text
    row = _recorded(registry)
    # as a decision was stored before: the whole facts' hash, and no scheme with the records
    records = {k: v for k, v in row.records.items() if k != "digest_scheme"}
    DecisionRecord.update(inputs_digest=digest(decision_facts(row)), records=records).where(
        DecisionRecord.id == row.id).execute()
    old = DecisionRecord.get_by_id(row.id)
    assert requests.DecisionView.from_row(old).inputs.scheme == LEGACY_SCHEME
    assert inputs_verified(old)
    DecisionRecord.update(facts={**old.facts, "request": {**old.facts["request"], "use": "marketing"}}).where(
        DecisionRecord.id == row.id).execute()
    assert not inputs_verified(DecisionRecord.get_by_id(row.id))
    assert replay(compile_bytes(policy_text(99))).replayed == 1

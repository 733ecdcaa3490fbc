"""Finding registered people named in a prompt reads only those whose first name word is in
the prompt (``Person.name_first``, migration step 35), and finds exactly the names matching
every candidate finds: a name missed here would be a likeness used without its consent."""

from __future__ import annotations

import random
from datetime import date

import pytest

from governance.db import tuples
from governance.policy import registry_facts
from governance.policy.facts import names_in_prompt
from governance.registry import people
from governance.registry.tables import Consent, Person, PersonProduction, Production
from tests import rights

FIRST = ["Mara", "Kit", "Zoë", "Jean-Luc", "O'Neill", "Straße", "Ana", "Tom", "Li", "Ørjan", "Ngozi", "Dev"]
LAST = ["Quinn", "Young", "Reyes", "Okafor", "Ito", "de la Cruz", "Smith-Jones", "Mbeki", "van Dijk", "Ng"]
FILLER = ["harbour", "at", "dusk", "the", "quay", "walking", "wide", "shot", "35mm", "rain", "de", "la", "van"]


def _oracle(prompt: str, production: str | None) -> list[str]:
    """What deciding found before step 35: every candidate's name matched against the prompt."""
    vouched = Person.select(Person.name).where(Person.id.in_(Consent.select(Consent.person)))
    names = {name for (name,) in tuples(vouched)}
    if production is not None:
        own = Person.select(Person.name).join(PersonProduction).join(Production).where(Production.name == production)
        names |= {name for (name,) in tuples(own)}
    return names_in_prompt(prompt, names)


def _registry(db, rng: random.Random) -> list[str]:  # type: ignore[no-untyped-def]
    people.add_production("harbour-lights")
    people.add_production("northern-line")
    drawn = {f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(60)}
    names = sorted(drawn | {"Maya", "Dev", "Zoë Quinn Jr", "Straße Young"})
    for i, name in enumerate(names):
        people.add_person(name, productions=[("harbour-lights", "northern-line", None)[i % 3]] if i % 3 < 2 else [])
        if i % 4 == 0:
            rights.grant_consent(db, name, uses=["likeness"], productions=["*"], territories=["WW"],
                                 valid_from=date(2026, 1, 1), valid_until=date(2027, 1, 1))
    return names


def _prompt(rng: random.Random, names: list[str]) -> str:
    words = [rng.choice(FILLER) for _ in range(rng.randint(0, 8))]
    for _ in range(rng.randint(0, 3)):
        name = rng.choice(names)
        spelled = rng.choice([name, name.upper(), name.casefold(), name.replace(" ", "  ") + ","])
        words.insert(rng.randint(0, len(words)), spelled)
    return " ".join(words)


def test_the_names_found_are_those_matching_every_candidate_finds(any_db):
    rng = random.Random(35)
    names = _registry(any_db, rng)
    prompts = [_prompt(rng, names) for _ in range(150)] + ["STRASSE Young at dusk", "zoë quinn jr, wide shot", ""]
    found_any = 0
    for prompt in prompts:
        for production in ("harbour-lights", "northern-line", None):
            found = registry_facts.named_in_prompt(prompt, production)
            assert found == _oracle(prompt, production), (prompt, production)
            found_any += bool(found)
    assert found_any > 100  # the prompts do name people: the comparison is not of empty lists


def test_only_people_sharing_a_first_word_with_the_prompt_are_matched(db, monkeypatch):
    people.add_production("harbour-lights")
    for i in range(300):
        people.add_person(f"Extra{i} Crowd", productions=["harbour-lights"])
    people.add_person("Mara Quinn", productions=["harbour-lights"])
    people.add_person("Mara Young", productions=["harbour-lights"])
    matched: list[list[str]] = []
    real = registry_facts.F.names_in_prompt
    monkeypatch.setattr(registry_facts.F, "names_in_prompt",
                        lambda prompt, registered: matched.append(sorted(registered)) or real(prompt, registered))
    assert registry_facts.named_in_prompt("mara quinn on the quay", "harbour-lights") == ["Mara Quinn"]
    assert matched == [["Mara Quinn", "Mara Young"]]


def test_a_name_is_found_in_a_prompt_of_more_words_than_one_lookup_takes(db):
    people.add_production("harbour-lights")
    people.add_person("Zz Top", productions=["harbour-lights"])
    prompt = " ".join(f"w{i}" for i in range(1_200)) + " ZZ top"  # its first word sorts into the third batch
    assert registry_facts.named_in_prompt(prompt, "harbour-lights") == ["Zz Top"]


@pytest.mark.parametrize("name, first", [("Mara Quinn", "mara"), ("STRAßE Young", "strasse"),
                                         ("O'Neill Ray", "o'neill"), ("  -Jean-Luc Picard", "jean-luc"), ("___", "")])
def test_a_person_is_saved_with_the_first_word_of_their_name_as_prompts_are_read(db, name, first):
    assert Person.create(name=name, kind="performer", created_at=date(2026, 1, 1)).name_first == first
    assert Person.get(Person.name == name).name_first == first


def test_a_name_casefolding_lengthens_is_registered_and_found(any_db):
    people.add_production("harbour-lights")
    name = "ß" * 150 + " Young"  # 157 characters; its key, casefolded, 300
    people.add_person(name, productions=["harbour-lights"])
    assert registry_facts.named_in_prompt("SS" * 150 + " young at dusk", "harbour-lights") == [name]


def test_a_person_written_without_the_key_is_still_found(db):
    """As code older than step 35, still running during an upgrade, would write them."""
    people.add_production("harbour-lights")
    Person.insert(name="Kit Young", kind="performer", is_minor=False, created_at=date(2026, 1, 1),
                  attributes={}).execute()
    kit = Person.get(Person.name == "Kit Young")
    assert kit.name_first == ""
    PersonProduction.insert(person=kit, production=Production.get(Production.name == "harbour-lights")).execute()
    assert registry_facts.named_in_prompt("kit young on the quay", "harbour-lights") == ["Kit Young"]


def test_saving_other_fields_of_a_partly_read_person_keeps_their_key(db):
    people.add_person("Mara Quinn")
    partial = Person.select(Person.id, Person.kind).where(Person.name == "Mara Quinn").get()
    partial.kind = "crew"
    partial.save(only=[Person.kind])
    again = Person.get(Person.name == "Mara Quinn")
    assert (again.kind, again.name_first) == ("crew", "mara")


def test_the_lookup_is_written_once_per_shape_and_then_only_bound(any_db, monkeypatch):
    from governance.db import database
    people.add_production("harbour-lights")
    people.add_person("Mara Quinn", productions=["harbour-lights"])
    people.add_person("Zz Top", productions=["harbour-lights"])
    short = "mara quinn at dusk"
    mid = " ".join(f"w{i}" for i in range(20)) + " mara quinn"  # a batch of 32
    long = " ".join(f"w{i}" for i in range(600)) + " zz top"  # "zz" in the second batch of 512 and 128
    expected = {short: ["Mara Quinn"], mid: ["Mara Quinn"], long: ["Zz Top"]}
    for prompt, names in expected.items():  # first use of each shape: written by peewee
        assert registry_facts.named_in_prompt(prompt, "harbour-lights") == names
    assert registry_facts.named_in_prompt(short, None) == []  # no consent: not a candidate
    for size, in_production in ((8, True), (32, True), (512, True), (128, True), (8, False)):
        assert registry_facts._named_lookup(size, in_production)._plans[database.obj] is not None
    written: list[str] = []
    real = registry_facts.Person.select
    monkeypatch.setattr(registry_facts.Person, "select", lambda *a: written.append("select") or real(*a))
    for prompt, names in expected.items():  # again: the written SQL, only bound
        assert registry_facts.named_in_prompt(prompt.upper(), "harbour-lights") == names
    assert written == []

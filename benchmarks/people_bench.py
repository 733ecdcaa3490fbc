"""People benchmark: deciding a request in a production with a crowd of registered people,
next to the same request in a production with a handful, in the same run.

A studio registers everyone whose likeness it may use: the cast, and for crowd and
background work thousands more, each linked to their production. Every decision looks for
registered names in the prompt (``policy.registry_facts.named_in_prompt``): everyone with a
consent and everyone in the request's production is a candidate. Since migration step 35
only the candidates whose first name word is in the prompt are read (``person.name_first``,
indexed), so a decision should cost the same whatever the registry holds: ``ratio`` is the
decision in the crowd production over the decision in the small one (1.0: the crowd costs
nothing).

Also printed, measured in the same run on the same database: the name lookup alone, as it is
(``named_in_prompt``), and as it was before step 35 (every candidate's name read and matched
against the prompt).

The demo studio is seeded; ``--people`` people are bulk-inserted with peewee ``insert_many``
(with their ``name_first``, as ``Person.save`` makes it) and linked to the crowd production;
the prompt names one of them, who has no consent, so each decision is a denial that names
them (the request is judged in full either way). SQLite, in a temporary folder.

    .venv/bin/python benchmarks/people_bench.py [--people 10000] [--rounds 30]

Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance import demo  # noqa: E402
from governance.auth import users  # noqa: E402
from governance.clock import utcnow  # noqa: E402
from governance.db import close_database, open_database, transaction, tuples  # noqa: E402
from governance.migrations import migrate  # noqa: E402
from governance.policy.facts import names_in_prompt  # noqa: E402
from governance.policy.registry_facts import RequestSpec, named_in_prompt  # noqa: E402
from governance.policy.requests import decide_request  # noqa: E402
from governance.registry import assets, licences, models_registry, people, training_sets  # noqa: E402
from governance.registry.tables import Consent, Person, PersonProduction, Production  # noqa: E402
from governance.settings import Settings  # noqa: E402
from governance.words import first_word  # noqa: E402

SMALL, CROWD = "small-unit", "crowd-unit"
MODEL = "people-bench:1"
SURNAMES = ("Quinn", "Reyes", "Okafor", "Ito", "Young", "Mbeki", "Novak", "Larsen")


def crowd(production: str, count: int, prefix: str) -> list[str]:
    """``count`` people linked to ``production``, written in bulk."""
    now = utcnow()
    names = [f"{prefix}{i:05d} {SURNAMES[i % len(SURNAMES)]}" for i in range(count)]
    with transaction():
        for start in range(0, count, 500):
            Person.insert_many([{"name": n, "kind": "performer", "is_minor": False, "created_at": now,
                                 "attributes": {}, "name_first": first_word(n)}
                                for n in names[start:start + 500]]).execute()
        place = Production.get(Production.name == production)
        ids = [i for (i,) in tuples(Person.select(Person.id).where(Person.name.startswith(prefix)))]
        for start in range(0, len(ids), 500):
            PersonProduction.insert_many([{"person": i, "production": place.id}
                                          for i in ids[start:start + 500]]).execute()
    return names


def model() -> None:
    """A small approved model trained on one licensed image: the request's model."""
    licences.add_licence("LIC-PEOPLE", "Bench Studio", grants=["ai_training", "previs"], territories=["WW"],
                         starts_on=date(2020, 1, 1))
    image = io.BytesIO()
    Image.effect_mandelbrot((64, 64), (-2.0, -1.5, 1.0, 1.5), 64).convert("RGB").save(image, "PNG")
    sha = assets.register_asset(image.getvalue(), media_type="image/png", title="bench", licence="LIC-PEOPLE")[0]
    training_sets.create_training_set("people-bench", [(sha["sha256"], None)])
    models_registry.register_model("people-bench", "1", "e" * 64, training_set="people-bench")
    models_registry.set_status(MODEL, "approved")


def decide(production: str, prompt: str) -> None:
    out = decide_request(RequestSpec(requester="pat-producer", production=production, use="previs",
                                     territory="GB", model=MODEL, prompt=prompt))
    rules = [v.rule for v in out.decision.violations]
    assert out.decision.outcome == "deny" and "prompt-names-person-without-likeness-consent" in rules, rules


def every_candidate(production: str, prompt: str) -> list[str]:
    """Before step 35: every candidate's name read, then matched against the prompt."""
    names = {n for (n,) in tuples(Person.select(Person.name).where(Person.id.in_(Consent.select(Consent.person))))}
    own = Person.select(Person.name).join(PersonProduction).join(Production).where(Production.name == production)
    names |= {n for (n,) in tuples(own)}
    return names_in_prompt(prompt, names)


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="slate-people-bench-") as folder:
        settings = Settings.for_folder(Path(folder), tsa_url="none")
        open_database(settings.database_url)
        try:
            migrate()
            demo.seed(REPO / "policies" / "studio-default.yaml", settings, with_tokens=False)
            model()
            for production, count, prefix in ((SMALL, 10, "Few"), (CROWD, args.people, "Extra")):
                people.add_production(production)
                users.add_membership("pat-producer", production)
                crowd(production, count, prefix)
            prompts = {SMALL: "Few00003 Ito walking on the quay at dusk, wide shot",
                       CROWD: f"Extra{args.people // 2:05d} {SURNAMES[(args.people // 2) % len(SURNAMES)]} "
                              "walking on the quay at dusk, wide shot"}
            for production, prompt in prompts.items():
                decide(production, prompt)  # warm: the policy compiled, the plans written
            assert named_in_prompt(prompts[CROWD], CROWD) == every_candidate(CROWD, prompts[CROWD])
            samples: dict[str, list[float]] = {SMALL: [], CROWD: [], "old": [], "new": []}
            for _ in range(args.rounds):  # alternating, so a busy machine slows each alike
                for production in (SMALL, CROWD):
                    samples[production].append(timed(lambda: decide(production, prompts[production])))
                samples["old"].append(timed(lambda: every_candidate(CROWD, prompts[CROWD])))
                samples["new"].append(timed(lambda: named_in_prompt(prompts[CROWD], CROWD)))
        finally:
            close_database()
    small, large, old, new = (statistics.median(samples[k]) * 1000 for k in (SMALL, CROWD, "old", "new"))
    print(f"decision, production of 10 people:             {small:7.2f} ms (baseline)")
    print(f"decision, production of {args.people:,} people:        {large:7.2f} ms ({large / small:.2f}x)")
    print(f"the name lookup alone, {args.people:,} people: {new:7.2f} ms; before step 35 (every candidate read and "
          f"matched): {old:7.2f} ms")
    print(json.dumps({"benchmark": "people", "people": args.people, "rounds": args.rounds,
                      "decide_small_median_ms": round(small, 2), "decide_crowd_median_ms": round(large, 2),
                      "lookup_ms": round(new, 3), "every_candidate_matched_ms": round(old, 2),
                      "ratio": round(large / small, 3)}))


if __name__ == "__main__":
    main()

"""Deciding a request for a model trained on many images, next to a model trained on few.

A studio's model is trained on thousands to a hundred thousand licensed images, and every
generation request judges the licence of each one. This times
``policy.requests.decide_request`` (look up everything, build the facts, evaluate the
studio policy, store request + decision + audit entry in one transaction) for models whose
training sets have N images under two licences. Each set is judged by class
(``policy.clearance``: the partition of its members is computed once and kept), so a
decision should cost the same whatever N is: ``ratio`` is the decision for the largest
model over the decision for the smallest (same run), target <= 2. Also printed, as the
floor any implementation that reads every member would stand on: one hand-written SQL
query over the same database that reads every member with its asset and licence columns;
and what one decision adds to the database. The first decision on each model (which
computes its partition) is timed separately.

    .venv/bin/python benchmarks/request_bench.py [--members 20 100000] [--rounds 15]

Ends with one JSON line; ``ratio`` is the decision for the largest over the smallest model.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance import demo  # noqa: E402
from governance.clock import utcnow  # noqa: E402
from governance.db import close_database, database, open_database, transaction  # noqa: E402
from governance.migrations import migrate  # noqa: E402
from governance.policy.registry_facts import RequestSpec  # noqa: E402
from governance.policy.requests import decide_request  # noqa: E402
from governance.registry import licences, models_registry, training_sets  # noqa: E402
from governance.registry.tables import Asset  # noqa: E402
from governance.settings import Settings  # noqa: E402

BARE_SQL = """
SELECT a.id, a.sha256, a.title, a.media_type, l.id, l.ref, l.grants, l.territories, l.starts_on, l.ends_on,
       l.attribution_required, l.credit_text, l.takedown
FROM training_set_member m JOIN asset a ON a.id = m.asset_id JOIN licence l ON l.id = m.licence_id
WHERE m.training_set_id = (SELECT training_set_id FROM model WHERE name = ? AND version = ?)
ORDER BY a.sha256
"""


def model_with(members: int) -> str:
    """A model trained on ``members`` images (bulk-inserted assets, two licences)."""
    name = f"style-{members}"
    now = utcnow()
    rows = [{"sha256": hashlib.sha256(f"{name}/{i}".encode()).hexdigest(), "media_type": "image/png",
             "title": f"still {i}", "source": "", "size_bytes": 1, "licence": None, "created_at": now}
            for i in range(members)]
    with transaction():
        for start in range(0, members, 500):
            Asset.insert_many(rows[start:start + 500]).execute()
    training_sets.create_training_set(name, [(r["sha256"], "LIC-STILLS-A" if i % 3 else "LIC-STILLS-B")
                                             for i, r in enumerate(rows)])
    models_registry.register_model(name, "1", hashlib.sha256(name.encode()).hexdigest(), training_set=name)
    models_registry.set_status(f"{name}:1", "approved")
    return f"{name}:1"


def timed(rounds: int, fn: Callable[[], Any]) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def decide(ref: str) -> None:
    out = decide_request(RequestSpec(requester="pat-producer", production=demo.PRODUCTION, use="previs",
                                     territory="GB", model=ref, prompt="a quiet harbour at dusk, wide shot"))
    assert out.decision.outcome == "allow", out.decision.violations[:1]


def bare(name: str, version: str, members: int) -> None:
    assert len(database.execute_sql(BARE_SQL, (name, version)).fetchall()) == members


def database_bytes() -> int:
    return int(database.execute_sql("SELECT page_count * page_size FROM pragma_page_count(), "
                                    "pragma_page_size()").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, nargs="+", default=[20, 100000])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    result: dict[str, Any] = {"benchmark": "request"}
    with tempfile.TemporaryDirectory(prefix="slate-bench-") as folder:
        settings = Settings.for_folder(Path(folder), tsa_url="none")
        open_database(settings.database_url)
        try:
            migrate()
            demo.seed(REPO / "policies" / "studio-default.yaml", settings, with_tokens=False)
            for ref in ("LIC-STILLS-A", "LIC-STILLS-B"):
                licences.add_licence(ref, "Stills archive", grants=["ai_training", "concept", "previs"],
                                     territories=["WW"], starts_on=date(2024, 1, 1))
            models = {members: model_with(members) for members in sorted(set(args.members))}
            first = {members: timed(1, lambda: decide(ref))[0] * 1000 for members, ref in models.items()}
            # rounds alternate between the models, so a busy machine slows each alike
            samples: dict[int, list[float]] = {members: [] for members in models}
            for _ in range(args.rounds):
                for members, ref in models.items():
                    samples[members] += timed(1, lambda: decide(ref))
            print(f"{'training images':<18}{'first ms':>10}{'bare read ms':>14}{'decide ms':>12}"
                  f"{'KiB/decision':>14}")
            for members, ref in models.items():
                before = database_bytes()
                timed(args.rounds, lambda: decide(ref))
                grown = (database_bytes() - before) / args.rounds / 1024
                name, version = ref.split(":")
                base = statistics.median(timed(args.rounds, lambda: bare(name, version, members))) * 1000
                slate = statistics.median(samples[members]) * 1000
                print(f"{members:<18,}{first[members]:>10.1f}{base:>14.1f}{slate:>12.1f}{grown:>14.1f}")
                result[f"decide_{members}_median_ms"] = round(slate, 2)
                result[f"first_decision_{members}_ms"] = round(first[members], 1)
                result[f"baseline_read_{members}_median_ms"] = round(base, 2)
                result[f"kib_per_decision_{members}"] = round(grown, 1)
        finally:
            close_database()
    small, large = min(args.members), max(args.members)
    result["ratio"] = round(result[f"decide_{large}_median_ms"] / result[f"decide_{small}_median_ms"], 2)
    print(f"decision for {large:,} images / decision for {small:,} images: {result['ratio']:.2f} (target <= 2)")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

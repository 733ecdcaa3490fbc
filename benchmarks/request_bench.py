"""Deciding a request for a model trained on many images, next to the bare read it needs.

A studio's model is trained on thousands to tens of thousands of licensed images, and
every generation request checks the licence of each one. This times
``policy.requests.decide_request`` (look up everything, build the facts, evaluate the
studio policy, store request + decision + audit entry in one transaction) for a model
whose training set has N images under two licences. The baseline, in the same run, is
the least any implementation has to do: one hand-written SQL query over the same
database that reads every member with its asset and licence columns. It also reports
what one decision adds to the database, since the training facts are shared between
decisions rather than copied into each.

    .venv/bin/python benchmarks/request_bench.py [--members 1000 10000] [--rounds 7]

Ends with one JSON line; ``ratio`` is the largest Slate/baseline ratio.
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


def database_bytes() -> int:
    return int(database.execute_sql("SELECT page_count * page_size FROM pragma_page_count(), "
                                    "pragma_page_size()").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--rounds", type=int, default=7)
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
            print(f"{'training images':<18}{'bare read ms':>14}{'decide ms':>12}{'ratio':>8}{'KiB/decision':>14}")
            for members in args.members:
                ref = model_with(members)
                name, version = ref.split(":")

                def decide() -> None:
                    out = decide_request(RequestSpec(requester="pat-producer", production=demo.PRODUCTION,
                                                     use="previs", territory="GB", model=ref,
                                                     prompt="a quiet harbour at dusk, wide shot"))
                    assert out.decision.outcome == "allow", out.decision.violations[:1]

                def bare() -> None:
                    assert len(database.execute_sql(BARE_SQL, (name, version)).fetchall()) == members

                decide()  # the first decision also stores the shared training facts
                before = database_bytes()
                slate = statistics.median(timed(args.rounds, decide)) * 1000
                grown = (database_bytes() - before) / args.rounds / 1024
                base = statistics.median(timed(args.rounds, bare)) * 1000
                print(f"{members:<18,}{base:>14.1f}{slate:>12.1f}{slate / base:>8.2f}{grown:>14.1f}")
                result[f"decide_{members}_median_ms"] = round(slate, 1)
                result[f"baseline_read_{members}_median_ms"] = round(base, 1)
                result[f"ratio_{members}"] = round(slate / base, 2)
                result[f"kib_per_decision_{members}"] = round(grown, 1)
        finally:
            close_database()
    result["ratio"] = max(v for k, v in result.items() if k.startswith("ratio_"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""The studio-day benchmark's arithmetic: its percentile, its mix, and what its last line
calls a ratio. No server and no timing: the benchmark itself measures."""

from __future__ import annotations

import importlib.util
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_bench() -> Any:
    spec = importlib.util.spec_from_file_location("studio_day_bench", REPO / "benchmarks" / "studio_day_bench.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def test_percentile_is_the_nearest_rank_a_sample_that_was_measured() -> None:
    samples = [float(n) for n in range(20, 0, -1)]
    assert bench.percentile(samples, 0.95) == 19.0
    assert bench.percentile(samples, 0.5) == 10.0
    assert bench.percentile(samples, 1.0) == 20.0
    assert bench.percentile([7.0], 0.95) == 7.0
    with pytest.raises(ValueError):
        bench.percentile([], 0.95)


def test_the_mix_draws_every_action_by_its_weight_and_browsing_never_submits() -> None:
    rng = random.Random(1)
    drawn = Counter(bench.draw(bench.MIX, rng) for _ in range(6000))
    assert set(drawn) == set(bench.MIX)
    assert drawn["commission"] > drawn["verify"] > drawn["likeness"]
    browsing = {bench.draw(bench.BROWSING, rng) for _ in range(500)}
    assert browsing and not browsing & bench.SUBMITTING


def _result(name: str, completed: int) -> Any:
    topology = next(t for t in bench.TOPOLOGIES if t.name == name)
    ops: dict[str, list[float]] = {op: [] for op in bench.OPS}
    ops["search"] = [0.1] * completed
    return bench.Result(topology, 10.0, ops, {}, [], 0, 0, {})


def test_the_last_line_names_the_fleet_against_the_box_and_two_against_one() -> None:
    line = bench.summary([_result("sqlite", 100), _result("pg_1x1", 50), _result("pg_2x2", 80)], clients=8)
    assert line["topology"] == "pg_2x2" and line["ops_per_s"] == 8.0
    assert line["baseline_ops_per_s"] == 10.0 and line["ratio"] == 0.8
    assert line["scale_ratio"] == 1.6
    assert {f"{op}_p95_ms" for op in bench.OPS} <= set(line)
    assert line["search_p95_ms"] == 100.0 and line["generate_p95_ms"] is None

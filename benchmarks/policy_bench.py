"""Policy engine benchmark: time per decision, next to hand-written Python of the same rules.

The policy is the studio default (policies/studio-default.yaml: 28 rules, 2 duties). The
request has 10 reference assets, 3 performers and a model trained on 20 assets. The
hand-written baseline checks the same rules in plain Python and returns what the engine
returns (violations with the value found and required per subject, approvals, duties,
the inputs digest and the records used), so the ratio is the price of "policies are data".

Run: .venv/bin/python benchmarks/policy_bench.py [iterations]
The last line printed is one JSON object.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from governance.canonical import digest  # noqa: E402
from governance.policy import facts as F  # noqa: E402
from governance.policy.compiler import compile_bytes  # noqa: E402

POLICY = REPO / "policies" / "studio-default.yaml"
FORBIDDEN = frozenset({"nude", "naked", "nsfw", "explicit", "gore", "dismembered", "deepfake",
                       "lookalike", "impersonate", "celebrity"})


def licence(i: int, *, credit: bool, grants: list[str] | None = None) -> dict[str, Any]:
    return {"id": str(100 + i), "ref": f"LIC-{i}", "licensor": f"Licensor {i}",
            "grants": grants or ["ai_training", "ai_reference", "concept", "previs", "final_frame"],
            "territories": ["GB", "IE", "FR"] if i % 2 else ["WW"], "starts_on": "2024-01-01",
            "ends_on": None if i % 3 else "2027-12-31", "attribution_required": credit,
            "credit_text": f"Courtesy of Licensor {i}" if credit else None, "takedown": False,
            "version": 1}


def asset_entry(i: int) -> dict[str, Any]:
    sha = f"{i:064x}"
    return {"subject": f"asset:{sha}",
            "asset": {"id": str(i), "sha256": sha, "title": f"Plate {i}", "media_type": "image/png"},
            "licence": licence(i, credit=i % 4 == 0)}


def consent(i: int, *, expired: bool = False) -> dict[str, Any]:
    return {"id": str(500 + i), "uses": ["likeness", "reference"], "productions": ["harbour-lights"],
            "territories": ["GB", "IE"], "valid_from": "2025-01-01",
            "valid_until": "2025-03-01" if expired else "2026-12-31", "guardian_signed": False,
            "document_sha256": "ab" * 32, "revoked": False, "revoked_at": None, "version": 1}


def build_facts() -> dict[str, Any]:
    request = {"id": "req-1", "requester": "sam", "production": "harbour-lights", "use": "previs",
               "territory": "GB", "date": "2025-06-01",
               "prompt": "Maya Okafor on a fishing harbour at dawn, mist over the water, wide shot"}
    people = [({"id": "1", "name": "Maya Okafor", "is_minor": False}, [consent(1, expired=True), consent(2)]),
              ({"id": "2", "name": "Tom Reyes", "is_minor": False}, [consent(3)]),
              ({"id": "3", "name": "Lily Chen", "is_minor": True}, [consent(4)])]
    return F.complete({
        "request": request,
        "model": {"id": "7", "name": "harbour-style", "version": "1.0", "status": "approved",
                  "weights_hash": "cd" * 32, "training_set_root": "ef" * 32},
        "references": [asset_entry(i) for i in range(1, 11)],
        "training_assets": [asset_entry(i) for i in range(101, 121)],
        "performers": [{"person": p, "consents": c} for p, c in people],
    })


# --- the same rules, by hand ---------------------------------------------------------------

def _ev(path: str, op: str, found: Any, required: Any, result: bool) -> dict[str, Any]:
    return {"path": path, "operator": op, "found": found, "required": required, "result": result}


def _in_territory(scope: list[str], territory: str) -> bool:
    return territory in scope or "WW" in scope


def _licence_checks(kind: str, entries: list[dict[str, Any]], req: dict[str, Any], grant: str,
                    out: list[tuple[str, str, list[dict[str, Any]]]]) -> None:
    use, territory, day = req["use"], req["territory"], req["date"]
    for e in entries:
        lic, subject = e["licence"], e["subject"]
        if lic is None:
            out.append((f"{kind}-licensed", subject, [_ev("licence", "exists", None, True, False)]))
        else:
            if grant not in lic["grants"]:
                out.append((f"{kind}-{grant.replace('_', '-')}-granted", subject,
                            [_ev("licence.grants", "hasPart", lic["grants"], grant, False)]))
            if use not in lic["grants"]:
                out.append((f"{kind}-output-use-granted", subject,
                            [_ev("licence.grants", "hasPart", lic["grants"], use, False)]))
            if not _in_territory(lic["territories"], territory):
                out.append((f"{kind}-territory", subject,
                            [_ev("licence.territories", "hasPart", lic["territories"], territory, False)]))
            ends = lic["ends_on"]
            if not (lic["starts_on"] <= day and (ends is None or ends >= day)):
                out.append((f"{kind}-in-term", subject,
                            [_ev("licence.ends_on", "gteq", ends, day, False)]))
            if lic["takedown"]:
                out.append((f"{kind}-not-taken-down", subject, [_ev("licence.takedown", "eq", True, True, True)]))
        if lic is not None and lic["attribution_required"] and lic["credit_text"] is None:
            out.append((f"{kind}-credit-text-on-file", subject,
                        [_ev("licence.credit_text", "exists", None, True, False)]))


def _consent_checks(p: dict[str, Any], req: dict[str, Any],
                    out: list[tuple[str, str, list[dict[str, Any]]]]) -> None:
    c, subject = p["consent"], p["subject"]
    if c is None:
        out.append(("consent-on-file", subject, [_ev("consent", "exists", None, True, False)]))
        return
    if c["revoked"]:
        out.append(("consent-not-revoked", subject, [_ev("consent.revoked", "eq", True, True, True)]))
    if "likeness" not in c["uses"]:
        out.append(("consent-covers-likeness", subject, [_ev("consent.uses", "hasPart", c["uses"], "likeness", False)]))
    if req["production"] not in c["productions"] and "*" not in c["productions"]:
        out.append(("consent-covers-production", subject,
                    [_ev("consent.productions", "hasPart", c["productions"], req["production"], False)]))
    if not _in_territory(c["territories"], req["territory"]):
        out.append(("consent-covers-territory", subject,
                    [_ev("consent.territories", "hasPart", c["territories"], req["territory"], False)]))
    if not c["valid_from"] <= req["date"] <= c["valid_until"]:
        out.append(("consent-in-period", subject,
                    [_ev("consent.valid_until", "gteq", c["valid_until"], req["date"], False)]))
    if p["person"]["is_minor"] and not c["guardian_signed"]:
        out.append(("minor-guardian-signature", subject, [_ev("consent.guardian_signed", "eq", False, True, False)]))


def handwritten(facts: dict[str, Any]) -> dict[str, Any]:
    decision = handwritten_rules(facts)
    decision["inputs"] = {"digest": digest(facts), "records": F.records_used(facts)}
    return decision


def handwritten_rules(facts: dict[str, Any]) -> dict[str, Any]:
    req, model = facts["request"], facts["model"]
    violations: list[tuple[str, str, list[dict[str, Any]]]] = []
    if model["status"] == "retired":
        violations.append(("model-not-retired", "request", [_ev("model.status", "eq", "retired", "retired", True)]))
    elif model["status"] != "approved":
        violations.append(("model-approved", "request",
                           [_ev("model.status", "eq", model["status"], "approved", False)]))
    if model["training_set_root"] is None:
        violations.append(("model-training-set-recorded", "request",
                           [_ev("model.training_set_root", "exists", None, True, False)]))
    for p in facts["performers"]:
        _consent_checks(p, req, violations)
        c = p["consent"]
        if p["named_in_prompt"] and (c is None or "likeness" not in c["uses"] or c["revoked"]):
            violations.append(("prompt-names-person-without-likeness-consent", p["subject"], []))
    _licence_checks("reference", facts["references"], req, "ai_reference", violations)
    _licence_checks("training", facts["training_assets"], req, "ai_training", violations)
    hits = FORBIDDEN.intersection(req["prompt_terms"])
    if hits:
        violations.append(("prompt-forbidden-terms", "request", [_ev("request.prompt_terms", "hasAnyOf",
                                                                     sorted(hits), sorted(FORBIDDEN), True)]))
    approvals = [("likeness-needs-approval", p["subject"]) for p in facts["performers"]
                 if p["depicted"] or p["named_in_prompt"]]
    if req["use"] in ("final_frame", "marketing"):
        approvals.append(("final-and-marketing-need-approval", "request"))
    duties = [(f"credit-{kind}-licensor", e["subject"], e["licence"]["credit_text"])
              for kind, key in (("reference", "references"), ("training", "training_assets"))
              for e in facts[key] if e["licence"] and e["licence"]["attribution_required"]]
    outcome = "deny" if violations else "needs_approval" if approvals else "allow"
    return {"decision": outcome, "violations": violations, "approvals": approvals, "duties": duties}


# --- timing ----------------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(first: Callable[[], Any], second: Callable[[], Any], iterations: int) -> tuple[list[float], list[float]]:
    """Interleaved, so both see the same machine noise; microseconds per call.

    The cyclic garbage collector is paused while timing, as ``timeit`` does: its occasional
    full passes over every object in the process (milliseconds) land on whichever call
    happens to trigger them and say nothing about either evaluator.
    """
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        return _timed(first, second, iterations, clock)
    finally:
        gc.enable()


def _timed(first: Callable[[], Any], second: Callable[[], Any], iterations: int,
           clock: Callable[[], int]) -> tuple[list[float], list[float]]:
    a: list[float] = []
    b: list[float] = []
    for _ in range(iterations):
        t0 = clock()
        first()
        t1 = clock()
        second()
        t2 = clock()
        a.append((t1 - t0) / 1000)
        b.append((t2 - t1) / 1000)
    return a, b


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    engine = compile_bytes(POLICY.read_bytes(), str(POLICY))
    facts = build_facts()
    ours, theirs = engine.evaluate(facts), handwritten(facts)
    assert ours.outcome == theirs["decision"], (ours.outcome, theirs["decision"])
    assert ours.violated_rules == sorted({v[0] for v in theirs["violations"]})
    assert len(ours.duties) == len(theirs["duties"])
    for _ in range(300):
        engine.evaluate(facts)
        handwritten(facts)
    engine_us, base_us = timed(lambda: engine.evaluate(facts), lambda: handwritten(facts), iterations)
    rules_us, base_rules_us = timed(lambda: engine.judge(facts), lambda: handwritten_rules(facts), iterations)
    median, p99 = statistics.median(engine_us), percentile(engine_us, 0.99)
    base_median = statistics.median(base_us)
    print(f"policy {engine.ref.uid} v{engine.ref.version}: {len(engine.policy.rules)} rules, "
          f"{len(engine.policy.duties)} duties")
    print(f"request: {len(facts['references'])} references, {len(facts['performers'])} performers, "
          f"{len(facts['training_assets'])} training assets; decision {ours.outcome} "
          f"({len(ours.violations)} violations, {len(ours.approvals)} approvals, {len(ours.duties)} duties)")
    print(f"engine      median {median:8.1f} us   p99 {p99:8.1f} us")
    print(f"hand-written median {base_median:8.1f} us   p99 {percentile(base_us, 0.99):8.1f} us")
    print(f"ratio {median / base_median:.2f}x over {iterations} decisions each")
    rules_median, base_rules_median = statistics.median(rules_us), statistics.median(base_rules_us)
    print(f"rules and evidence only (without the inputs digest, which both share): engine "
          f"{rules_median:.1f} us, hand-written {base_rules_median:.1f} us, "
          f"ratio {rules_median / base_rules_median:.2f}x")
    print(json.dumps({"benchmark": "policy", "median_us": round(median, 1), "p99_us": round(p99, 1),
                      "baseline_median_us": round(base_median, 1), "ratio": round(median / base_median, 2)}))


if __name__ == "__main__":
    main()

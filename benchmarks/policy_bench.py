"""Policy engine benchmark: time per decision, next to hand-written Python of the same rules.

The policy is the studio default (policies/studio-default.yaml, v4: 29 rules, 3 duties).
The request has 10 reference assets, 3 performers and a model trained on 20 assets. The
hand-written baseline checks the same rules in plain Python and returns exactly what the
engine returns (the decision's dict: violations and approvals with the evidence per
subject, duties, credits, the inputs digest and the records used); the benchmark checks
that on the timed request and on variants that fire every kind of rule before it times
anything. So the ratio is the price of "policies are data".

Two ratios, measured in the same run: the whole decision (both compute the same inputs
digest, scheme 2 of governance/policy/inputs.py, the training entries hashed once per
model as the facts builder does), and the judgement alone (``judge``: no digest).

Run: .venv/bin/python benchmarks/policy_bench.py [iterations]
The last line printed is one JSON object.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from governance.policy import facts as F  # noqa: E402
from governance.policy.compiler import compile_bytes  # noqa: E402
from governance.policy.inputs import DIGEST_SCHEME, LEGACY_SCHEME, Hashed, inputs_digest  # noqa: E402

POLICY = REPO / "policies" / "studio-default.yaml"


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
            "asset": {"id": str(i), "sha256": sha, "title": f"Plate {i}", "media_type": "image/png",
                      "training_mining": "none"},
            "licence": licence(i, credit=i % 4 == 0)}


def consent(i: int, *, expired: bool = False, credit: str | None = None) -> dict[str, Any]:
    return {"id": str(500 + i), "uses": ["likeness", "reference"], "productions": ["harbour-lights"],
            "territories": ["GB", "IE"], "valid_from": "2025-01-01",
            "valid_until": "2025-03-01" if expired else "2026-12-31", "guardian_signed": False,
            "document_sha256": "ab" * 32, "revoked": False, "revoked_at": None, "version": 1,
            "status": "confirmed", "attribution_required": credit is not None, "credit_text": credit,
            "output_uses": ["previs"], "attributes": {}}


def build_facts(**request: Any) -> dict[str, Any]:
    """The timed request's facts, as the facts builder gives them: the training entries are
    the model's, hashed once (``Hashed``) and shared by every request on it."""
    facts = complete_facts(**request)
    facts["training_assets"] = Hashed(facts["training_assets"])
    return facts


def complete_facts(**request_changes: Any) -> dict[str, Any]:
    request = {"id": "req-1", "requester": "sam", "production": "harbour-lights", "use": "previs",
               "territory": "GB", "date": "2025-06-01",
               "prompt": "Maya Okafor on a fishing harbour at dawn, mist over the water, wide shot"} | request_changes
    people = [({"id": "1", "name": "Maya Okafor", "is_minor": False},
               [consent(1, expired=True), consent(2, credit="Maya Okafor appears courtesy of her agent")]),
              ({"id": "2", "name": "Tom Reyes", "is_minor": False}, [consent(3)]),
              ({"id": "3", "name": "Lily Chen", "is_minor": True}, [consent(4)])]
    return F.complete({
        "request": request,
        "model": {"id": "7", "name": "harbour-style", "version": "1.0", "status": "approved",
                  "weights_hash": "cd" * 32, "training_set_root": "ef" * 32, "base": "sd-studio",
                  "base_status": "approved", "base_weights_hash": "5d" * 32, "base_licence": "CreativeML OpenRAIL-M",
                  "attested": True},
        "references": [asset_entry(i) for i in range(1, 11)],
        "training_assets": [asset_entry(i) for i in range(101, 121)],
        "performers": [{"person": p, "consents": c} for p, c in people],
    })


# --- the same rules, by hand ---------------------------------------------------------------
# Studio policy v4, rule by rule, returning what the engine returns: each finding with the
# evidence the engine gives (value found, operator, value required, per subject), in policy
# order. Titles are the policy's, read once from the file; nothing of the engine is used.

SPEC = yaml.safe_load(POLICY.read_text("utf-8"))
TITLES = {r["id"]: r["title"] for r in SPEC["rules"] + SPEC["duties"]}
FORBIDDEN_LIST = list(SPEC["lists"]["forbidden_terms"])
FORBIDDEN = frozenset(FORBIDDEN_LIST)
RELEASE_USES = list(SPEC["lists"]["release_uses"])
POLICY_REF = {"uid": SPEC["uid"], "version": SPEC["version"],
              "sha256": hashlib.sha256(POLICY.read_bytes()).hexdigest()}
INDEX = {r["id"]: i for i, r in enumerate(SPEC["rules"])}


def _approvers(*roles: str) -> dict[str, Any]:
    return {"roles": list(roles), "count": 1, "from_production": False, "department": None,
            "not_requester_department": False}


APPROVERS = {"likeness-needs-approval": _approvers("approver"),
             "final-and-marketing-need-approval": _approvers("approver"),
             "final-and-marketing-need-legal": _approvers("legal")}
Found = list[tuple[int, dict[str, Any]]]


def _ev(path: str, op: str, found: Any, required: Any, result: bool, ref: str | None = None) -> dict[str, Any]:
    e = {"path": path, "operator": op, "found": found, "required": required, "result": result}
    if ref:
        e["required_from"] = ref
    return e


def _fire(out: Found, rule: str, type_: str, subject: str, evidence: list[dict[str, Any]]) -> None:
    finding = {"rule": rule, "type": type_, "title": TITLES[rule], "subject": subject, "evidence": evidence}
    if rule in APPROVERS:
        finding["approvers"] = APPROVERS[rule]
    out.append((INDEX[rule], finding))


def _ordered(left: Any, right: Any) -> bool:
    """What lteq/gteq compare: two strings (dates) or two numbers, never a missing value."""
    return left is not None and right is not None and isinstance(left, str) == isinstance(right, str)


def _request_rules(facts: dict[str, Any], out: Found) -> None:
    req, who, model = facts["request"], facts["requester"] or {}, facts["model"] or {}
    production, use = req.get("production"), req.get("use")
    productions = who.get("productions")
    if not (production is not None and production in (productions or ())):
        _fire(out, "requester-in-production", "requirement", "request",
              [_ev("requester.productions", "hasPart", productions, production, False, "request.production")])
    roles = who.get("roles")
    if use in RELEASE_USES and "producer" not in (roles or ()):
        _fire(out, "release-use-by-producer", "requirement", "request",
              [_ev("requester.roles", "hasPart", roles, "producer", False)])
    status = model.get("status")
    if status is not None and status != "retired" and status != "approved":
        _fire(out, "model-approved", "requirement", "request", [_ev("model.status", "eq", status, "approved", False)])
    if status == "retired":
        _fire(out, "model-not-retired", "prohibition", "request",
              [_ev("model.status", "eq", status, "retired", True)])
    if model.get("training_set_root") is None:
        _fire(out, "model-training-set-recorded", "requirement", "request",
              [_ev("model.training_set_root", "exists", None, True, False)])
    attested = model.get("attested")
    if use in RELEASE_USES and attested is not True:
        _fire(out, "model-attested-for-release", "requirement", "request",
              [_ev("model.attested", "eq", attested, True, False)])
    base = model.get("base_status")
    if not (base is not None and base != "unregistered"):
        _fire(out, "model-base-registered", "requirement", "request",
              [_ev("model.base_status", "neq", base, "unregistered", False)])
    if base == "retired":
        _fire(out, "model-base-not-retired", "prohibition", "request",
              [_ev("model.base_status", "eq", base, "retired", True)])
    if use in RELEASE_USES and base == "restricted":
        _fire(out, "model-base-restricted-not-for-release", "prohibition", "request",
              [_ev("model.base_status", "eq", base, "restricted", True)])
    terms = req.get("prompt_terms")
    hits = FORBIDDEN.intersection(terms or ())
    if terms is not None and hits:
        _fire(out, "prompt-forbidden-terms", "prohibition", "request",
              [_ev("request.prompt_terms", "hasAnyOf", sorted(hits), FORBIDDEN_LIST, True)])
    named, people = req.get("named_people") or [], req.get("people")
    undeclared = [n for n in named if not (people is not None and n in people)]
    if undeclared:
        _fire(out, "prompt-names-declared", "requirement", "request",
              [_ev("request.named_people", "every", len(named) - len(undeclared), len(named), False)]
              + [_ev("request.people", "hasPart", people, n, False, "name") | {"item": n} for n in undeclared[:10]])
    if use in RELEASE_USES:
        for rule in ("final-and-marketing-need-approval", "final-and-marketing-need-legal"):
            _fire(out, rule, "approval", "request", [_ev("request.use", "isAnyOf", use, RELEASE_USES, True)])


def _asset_rules(facts: dict[str, Any], key: str, out: Found, due: Found) -> None:
    req = facts["request"]
    use, territory, day = req.get("use"), req.get("territory"), req.get("date")
    reference = key == "references"
    grant, kind = ("ai_reference", "reference") if reference else ("ai_training", "training")
    for e in facts.get(key) or ():
        lic, subject = e.get("licence"), e["subject"]
        if not reference and (e.get("asset") or {}).get("training_mining") == "notAllowed":
            _fire(out, "training-not-refused-by-owner", "prohibition", subject,
                  [_ev("asset.training_mining", "eq", "notAllowed", "notAllowed", True)])
        if lic is None:
            _fire(out, f"{kind}-licensed", "requirement", subject, [_ev("licence", "exists", None, True, False)])
            continue
        grants, territories = lic.get("grants"), lic.get("territories")
        if grant not in (grants or ()):
            _fire(out, f"{kind}-{grant.replace('_', '-')}-granted", "requirement", subject,
                  [_ev("licence.grants", "hasPart", grants, grant, False)])
        if not (use is not None and use in (grants or ())):
            _fire(out, "licence-output-use-granted", "requirement", subject,
                  [_ev("licence.grants", "hasPart", grants, use, False, "request.use")])
        if not (territory is not None and territory in (territories or ())) and "WW" not in (territories or ()):
            _fire(out, "licence-territory", "requirement", subject,
                  [_ev("licence.territories", "hasPart", territories, territory, False, "request.territory"),
                   _ev("licence.territories", "hasPart", territories, "WW", False)])
        starts, ends = lic.get("starts_on"), lic.get("ends_on")
        started = _ordered(starts, day) and starts <= day
        running = ends is None or (_ordered(ends, day) and ends >= day)
        if not (started and running):
            _fire(out, "licence-in-term", "requirement", subject,
                  ([] if started else [_ev("licence.starts_on", "lteq", starts, day, False, "request.date")])
                  + ([] if running else [_ev("licence.ends_on", "exists", ends, False, False),
                                         _ev("licence.ends_on", "gteq", ends, day, False, "request.date")]))
        if lic.get("takedown") is True:
            _fire(out, "licence-not-taken-down", "prohibition", subject,
                  [_ev("licence.takedown", "eq", True, True, True)])
        if lic.get("attribution_required") is True:
            if lic.get("credit_text") is None:
                _fire(out, "licence-credit-text-on-file", "requirement", subject,
                      [_ev("licence.credit_text", "exists", None, True, False)])
            rule = "credit-reference-licensor" if reference else "credit-training-licensor"
            due.append((0 if reference else 1, _duty(rule, subject, lic.get("credit_text"))))


def _duty(rule: str, subject: str, text: Any) -> dict[str, Any]:
    return {"rule": rule, "action": "attribute", "title": TITLES[rule], "subject": subject, "text": text}


def _performer_rules(facts: dict[str, Any], out: Found, due: Found) -> None:
    req = facts["request"]
    production, territory, day = req.get("production"), req.get("territory"), req.get("date")
    for p in facts.get("performers") or ():
        c, subject = p.get("consent"), p["subject"]
        depicted, named = p.get("depicted") is True, p.get("named_in_prompt") is True
        in_ref = p.get("in_reference") is True
        if c is None:
            _fire(out, "consent-on-file", "requirement", subject, [_ev("consent", "exists", None, True, False)])
            if p.get("consent_pending") is True:
                _fire(out, "consent-confirmed", "prohibition", subject,
                      [_ev("performer.consent_pending", "eq", True, True, True)])
        else:
            _consent_rules(c, p, subject, production, territory, day, depicted or named, in_ref, out,
                           req.get("use"))
        if named:
            _named_without_consent(c, subject, out)
        if depicted or named or in_ref:
            _fire(out, "likeness-needs-approval", "approval", subject,
                  [_ev(f"performer.{flag}", "eq", True, True, True)
                   for flag, held in (("depicted", depicted), ("named_in_prompt", named), ("in_reference", in_ref))
                   if held])
        if c and c.get("attribution_required") is True and c.get("credit_text") is not None:
            due.append((2, _duty("credit-performer", subject, c["credit_text"])))


def _named_without_consent(c: dict[str, Any] | None, subject: str, out: Found) -> None:
    uses = (c or {}).get("uses")
    why = (([_ev("consent", "exists", None, False, True)] if c is None else [])
           + ([_ev("consent.uses", "hasPart", uses, "likeness", False)] if "likeness" not in (uses or ()) else [])
           + ([_ev("consent.revoked", "eq", True, True, True)] if (c or {}).get("revoked") is True else []))
    if why:
        _fire(out, "prompt-names-person-without-likeness-consent", "prohibition", subject, why)


def _consent_rules(c: dict[str, Any], p: dict[str, Any], subject: str, production: Any, territory: Any,
                   day: Any, likeness: bool, in_ref: bool, out: Found, use: Any = None) -> None:
    uses, productions, territories = c.get("uses"), c.get("productions"), c.get("territories")
    if c.get("revoked") is True:
        _fire(out, "consent-not-revoked", "prohibition", subject, [_ev("consent.revoked", "eq", True, True, True)])
    if likeness and "likeness" not in (uses or ()):
        _fire(out, "consent-covers-likeness", "requirement", subject,
              [_ev("consent.uses", "hasPart", uses, "likeness", False)])
    if in_ref and "reference" not in (uses or ()):
        _fire(out, "consent-covers-reference", "requirement", subject,
              [_ev("consent.uses", "hasPart", uses, "reference", False)])
    if not (production is not None and production in (productions or ())) and "*" not in (productions or ()):
        _fire(out, "consent-covers-production", "requirement", subject,
              [_ev("consent.productions", "hasPart", productions, production, False, "request.production"),
               _ev("consent.productions", "hasPart", productions, "*", False)])
    if not (territory is not None and territory in (territories or ())) and "WW" not in (territories or ()):
        _fire(out, "consent-covers-territory", "requirement", subject,
              [_ev("consent.territories", "hasPart", territories, territory, False, "request.territory"),
               _ev("consent.territories", "hasPart", territories, "WW", False)])
    start, until = c.get("valid_from"), c.get("valid_until")
    began = _ordered(start, day) and start <= day
    lasts = _ordered(until, day) and until >= day
    if not (began and lasts):
        _fire(out, "consent-in-period", "requirement", subject,
              ([] if began else [_ev("consent.valid_from", "lteq", start, day, False, "request.date")])
              + ([] if lasts else [_ev("consent.valid_until", "gteq", until, day, False, "request.date")]))
    allowed = c.get("output_uses")
    if allowed is not None and not (use is not None and use in allowed):
        _fire(out, "consent-covers-output-use", "requirement", subject,
              [_ev("consent.output_uses", "hasPart", allowed, use, False, "request.use")])
    if (p.get("person") or {}).get("is_minor") is True and c.get("guardian_signed") is not True:
        _fire(out, "minor-guardian-signature", "requirement", subject,
              [_ev("consent.guardian_signed", "eq", c.get("guardian_signed"), True, False)])


def handwritten_judge(facts: dict[str, Any]) -> dict[str, Any]:
    """The decision without its inputs digest: outcome, findings with evidence, duties, credits."""
    fired: Found = []
    due: Found = []
    _request_rules(facts, fired)
    _asset_rules(facts, "references", fired, due)
    _asset_rules(facts, "training_assets", fired, due)
    _performer_rules(facts, fired, due)
    fired.sort(key=_first)
    due.sort(key=_first)
    violations = [f for _, f in fired if f["type"] != "approval"]
    approvals = [f for _, f in fired if f["type"] == "approval"]
    duties = [d for _, d in due]
    outcome = "deny" if violations else "needs_approval" if approvals else "allow"
    return {"decision": outcome, "policy": POLICY_REF, "violations": violations, "approvals": approvals,
            "duties": duties, "credits": list(dict.fromkeys(d["text"] for d in duties if d["text"]))}


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def handwritten(facts: dict[str, Any]) -> dict[str, Any]:
    """The whole decision: the judgement and the same inputs digest and records as the engine's."""
    decision = handwritten_judge(facts)
    decision["inputs"] = {"digest": inputs_digest(facts), "digest_scheme": DIGEST_SCHEME,
                          "records": F.records_used(facts)}
    return decision


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


def variants() -> list[dict[str, Any]]:
    """Requests that between them fire every rule and duty, each checked against the engine."""
    out = [build_facts(), build_facts(use="final_frame"), build_facts(use="marketing", territory="US"),
           build_facts(prompt="Tom Reyes and Lily Chen, a nude deepfake", date="2028-01-01")]
    outsider = complete_facts(use="final_frame", requester="kim")
    outsider["requester"] = {"name": "kim", "roles": ["artist"], "productions": ["other-film"],
                             "department": "vfx", "attributes": {}}
    broken = complete_facts()
    broken["model"] = dict(broken["model"], status="retired", training_set_root=None, base_status="retired")
    restricted = build_facts(use="marketing")
    restricted["model"] = dict(restricted["model"], base_status="restricted", attested=False)
    unregistered = complete_facts()
    unregistered["model"] = dict(unregistered["model"], base_status="unregistered")
    broken["references"][0]["licence"] = None
    broken["references"][1]["licence"] = dict(broken["references"][1]["licence"], takedown=True, grants=[],
                                              starts_on="2026-01-01", ends_on="2025-01-01",
                                              credit_text=None, attribution_required=True)
    broken["training_assets"][0]["licence"] = None
    broken["training_assets"][0]["asset"] = dict(broken["training_assets"][0]["asset"], training_mining="notAllowed")
    broken["training_assets"][1]["licence"] = dict(broken["training_assets"][1]["licence"], grants=["concept"],
                                                   territories=["US"], ends_on="2025-02-01")
    maya, tom, lily = broken["performers"]
    maya["consent"] = dict(maya["consent"], revoked=True, uses=["reference"], productions=["other-film"])
    tom.update(consent=None, consent_pending=True, named_in_prompt=True, in_reference=True)
    lily.update(consent=dict(lily["consent"], uses=[], territories=["US"], valid_from="2026-01-01"),
                in_reference=True, depicted=False)
    undeclared = complete_facts(prompt="Maya Okafor and Tom Reyes by the boats")
    undeclared["request"]["people"] = []
    return out + [outsider, broken, undeclared, restricted, unregistered]


def check_same(engine: Any) -> None:
    """The hand-written rules give the engine's decision, dict for dict, on every variant."""
    for facts in variants():
        ours, theirs = engine.evaluate(facts).to_dict(), handwritten(copy.deepcopy(facts))
        assert ours == theirs, json.dumps({"engine": ours, "hand-written": theirs}, indent=1, default=str)
        assert ours == engine.evaluate(facts, interpreted=True).to_dict()


def median_us(call: Callable[[], Any], iterations: int) -> float:
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        times = []
        for _ in range(iterations):
            t0 = clock()
            call()
            times.append((clock() - t0) / 1000)
    finally:
        gc.enable()
    return statistics.median(times)


def main() -> None:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    engine = compile_bytes(POLICY.read_bytes(), str(POLICY))
    check_same(engine)
    facts = build_facts()
    ours = engine.evaluate(facts)
    for _ in range(300):
        engine.evaluate(facts)
        handwritten(facts)
    engine_us, base_us = timed(lambda: engine.evaluate(facts), lambda: handwritten(facts), iterations)
    judge_us, base_judge_us = timed(lambda: engine.judge(facts), lambda: handwritten_judge(facts), iterations)
    digest_us = median_us(lambda: inputs_digest(facts), iterations)
    legacy_us = median_us(lambda: inputs_digest(facts, LEGACY_SCHEME), iterations)
    median, p99 = statistics.median(engine_us), percentile(engine_us, 0.99)
    base_median = statistics.median(base_us)
    judge, base_judge = statistics.median(judge_us), statistics.median(base_judge_us)
    ratio, ratio_judge = median / base_median, judge / base_judge
    print(f"policy {engine.ref.uid} v{engine.ref.version}: {len(engine.policy.rules)} rules, "
          f"{len(engine.policy.duties)} duties; hand-written gives the same decision on {len(variants())} requests")
    print(f"request: {len(facts['references'])} references, {len(facts['performers'])} performers, "
          f"{len(facts['training_assets'])} training assets; decision {ours.outcome} "
          f"({len(ours.violations)} violations, {len(ours.approvals)} approvals, {len(ours.duties)} duties)")
    print(f"decision with inputs digest: engine median {median:7.1f} us (p99 {p99:7.1f}) | "
          f"hand-written {base_median:7.1f} us (p99 {percentile(base_us, 0.99):7.1f}) | "
          f"ratio {ratio:.2f}x (target <= 3x)")
    print(f"without the digest (judge):  engine median {judge:7.1f} us | hand-written {base_judge:7.1f} us | "
          f"ratio {ratio_judge:.2f}x (target <= 2x)")
    print(f"inputs digest alone (scheme {DIGEST_SCHEME}): {digest_us:.1f} us of the {median:.1f} us decision; "
          f"scheme {LEGACY_SCHEME} (the whole facts' hash) {legacy_us:.1f} us; {iterations} calls each")
    print(json.dumps({"benchmark": "policy", "decision_us": round(median, 1), "decision_p99_us": round(p99, 1),
                      "baseline_us": round(base_median, 1), "ratio": round(ratio, 2),
                      "judge_us": round(judge, 1), "baseline_judge_us": round(base_judge, 1),
                      "ratio_without_digest": round(ratio_judge, 2), "digest_us": round(digest_us, 1),
                      "digest_scheme1_us": round(legacy_us, 1),
                      "iterations": iterations}))


if __name__ == "__main__":
    main()

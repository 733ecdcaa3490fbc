"""The policy engine: policies as data (YAML modelled on W3C ODRL), validated, compiled once
per version, and evaluated per request into a decision with evidence and duties.

Layout:
  schema.json, loader.py   reading and validating policy files (every problem, with its place)
  operators.py, facts.py   the closed list of operators; the facts a policy may read
  compiler.py, fastpath.py compiling a policy version; evaluating facts into a ``Decision``
  decision.py              the decision values (frozen dataclasses with ``to_dict``)
  testing.py, diff.py      legal's policy tests (``*.tests.yaml``); rule-level diffs
  odrl.py                  export as ODRL 2.2 JSON-LD; import of the subset that maps
  registry_facts.py        facts from the registry (the engine's only contact with it)
  versions.py, requests.py, replay.py, tables.py   review workflow, requests and decisions, replay

``slate policy ...`` is ``governance.cli.policy``; ``slate request ...`` is ``governance.cli.requests``.

The engine itself (loader, compiler, decision, facts, operators, diff, testing) is pure
Python: no database, no Flask, no clock.
"""

from .compiler import CompiledPolicy, compile_bytes, compile_policy, evaluate
from .decision import Decision
from .loader import PolicyFileError, load_policy, load_policy_file

__all__ = ["CompiledPolicy", "Decision", "PolicyFileError", "compile_bytes", "compile_policy", "evaluate",
           "load_policy", "load_policy_file"]

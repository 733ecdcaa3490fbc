"""A use cap judged in the decision's own transaction, on SQLite and on a real PostgreSQL.

Six requests decided at the same moment against a consent capped at two uses: exactly two
are not denied, whatever the database. On PostgreSQL the counters are locked with
``SELECT ... FOR UPDATE``; on SQLite the decision's IMMEDIATE transaction holds the write lock.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest

from governance.policy import requests, usage
from governance.policy.registry_facts import RequestSpec
from governance.policy.tables import UsageCounter
from governance.principal import Principal

LEGAL = Principal(user_id=0, name="lee", roles=frozenset({"legal"}))


@pytest.fixture
def db(any_db: Any) -> Any:
    """The policy tests' registry, on either database."""
    return any_db


def test_concurrent_decisions_cannot_overrun_a_cap_on_either_database(registry: dict[str, Any]) -> None:
    usage.set_terms("consent", registry["maya_consent"], max_uses=2, compensation=None, by=LEGAL)
    spec = RequestSpec(requester="sam", production="harbour-lights", use="concept", territory="GB",
                       model=registry["model"], prompt="Maya Okafor on the quay", references=[],
                       people=["Maya Okafor"], date=date(2025, 6, 1))
    outcomes: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def ask() -> None:
        try:
            start.wait()
            outcomes.append(requests.decide_request(spec).decision.outcome)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == ["deny"] * 4 + ["needs_approval"] * 2
    assert UsageCounter.get((UsageCounter.subject_kind == "consent")
                            & (UsageCounter.subject_id == registry["maya_consent"])).uses == 2

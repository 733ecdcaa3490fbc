"""The worker's one retry layer, timed on a fake clock.

This is the only place the generator's tests use a stand-in for the signing API: a scripted
``attempt`` that fails as told, so the waits can be checked to the second without waiting.
Retrying against the real API (a real /api/v1/sign behind a tap that answers 503) is in
test_service.py and test_api_client.py.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from generator.errors import SigningUnavailable
from generator.signing import SigningRetry, sign_with_retry
from governance.errors import Conflict

RECEIPT = {"sha256": "ab" * 32, "job_id": "job-1"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def script(*outcomes: Exception | None) -> tuple[Callable[[], Any], list[int]]:
    """An attempt that raises each given exception in turn, then returns RECEIPT."""
    calls: list[int] = []

    def attempt() -> Any:
        calls.append(1)
        if len(calls) <= len(outcomes) and outcomes[len(calls) - 1] is not None:
            raise outcomes[len(calls) - 1]  # type: ignore[misc]
        return RECEIPT

    return attempt, calls


def down(retry_after_s: float | None = None) -> SigningUnavailable:
    return SigningUnavailable("signing job job-1: Slate's API answered 503", retry_after_s=retry_after_s)


def test_transient_failures_are_retried_with_doubling_waits_until_signed():
    clock = Clock()
    attempt, calls = script(down(), down(), down())
    assert sign_with_retry(attempt, "job-1", SigningRetry(), clock=clock, sleep=clock.sleep) == RECEIPT
    assert len(calls) == 4 and clock.waits == [1.0, 2.0, 4.0]


def test_waits_are_capped_and_retrying_stops_before_the_deadline():
    clock = Clock()
    attempt, calls = script(*[down()] * 100)
    policy = SigningRetry(deadline_s=30, first_delay_s=1, max_delay_s=8)
    gave_up = r"answered 503 \(signing job job-1: gave up after 6 attempt\(s\) over 23 s\)$"
    with pytest.raises(SigningUnavailable, match=gave_up) as raised:
        sign_with_retry(attempt, "job-1", policy, clock=clock, sleep=clock.sleep)
    assert clock.waits == [1, 2, 4, 8, 8]  # a sixth wait of 8 s would end past 30 s
    assert len(calls) == 6 and isinstance(raised.value.__cause__, SigningUnavailable)
    assert "answered 503" in raised.value.message


def test_a_refusal_is_raised_at_once_and_never_retried():
    clock = Clock()
    attempt, calls = script(Conflict("signing job job-1: refused (409): claimed by another worker"))
    with pytest.raises(Conflict, match="claimed by another worker"):
        sign_with_retry(attempt, "job-1", SigningRetry(), clock=clock, sleep=clock.sleep)
    assert len(calls) == 1 and clock.waits == []


def test_the_apis_retry_after_is_honoured_within_the_deadline():
    clock = Clock()
    attempt, calls = script(down(retry_after_s=7), down(retry_after_s=0.5))
    assert sign_with_retry(attempt, "job-1", SigningRetry(), clock=clock, sleep=clock.sleep) == RECEIPT
    assert clock.waits == [7, 2]  # never sooner than asked, never sooner than the backoff

    clock = Clock()
    attempt, calls = script(down(retry_after_s=600))
    with pytest.raises(SigningUnavailable, match=r"gave up after 1 attempt\(s\)"):
        sign_with_retry(attempt, "job-1", SigningRetry(deadline_s=120), clock=clock, sleep=clock.sleep)
    assert len(calls) == 1 and clock.waits == []  # asked to wait past the deadline: give up now


def test_a_deadline_of_zero_tries_once():
    clock = Clock()
    attempt, calls = script(down())
    with pytest.raises(SigningUnavailable):
        sign_with_retry(attempt, "job-1", SigningRetry(deadline_s=0), clock=clock, sleep=clock.sleep)
    assert len(calls) == 1


def test_a_policy_that_cannot_wait_is_refused():
    with pytest.raises(ValueError):
        SigningRetry(first_delay_s=0)
    with pytest.raises(ValueError):
        SigningRetry(first_delay_s=5, max_delay_s=1)

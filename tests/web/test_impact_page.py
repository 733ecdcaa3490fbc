"""The revocation-impact page counts the outputs a licence reaches only up to a bound and says
"more than" past it; the API's and the CLI's dry run count exactly (tests/provenance)."""

from __future__ import annotations

from typing import Any

import pytest

from governance.provenance import impact
from governance.web import provenance as page


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[int | None]:
    """The bound the page asked ``licence_impact`` for, answered as a count stopped at it."""
    bounds: list[int | None] = []

    def licence_impact(ref: str, by: Any = None, count_up_to: int | None = None) -> impact.Impact:
        bounds.append(count_up_to)
        return impact.Impact({"kind": "licence", "id": 1, "subject": f"licence:{ref}", "label": f"licence {ref}"},
                             0, (), (), (), count_up_to or 0, (), outputs_at_least=True)
    monkeypatch.setattr(impact, "licence_impact", licence_impact)
    return bounds


def test_the_impact_page_counts_a_licences_outputs_only_up_to_its_bound_and_says_more_than(browser, asked):
    body = browser("lee-legal").get("/provenance/impact?licence=LIC-001").get_data(as_text=True)
    assert asked == [page.IMPACT_COUNT]
    assert f"more than {page.IMPACT_COUNT} signed output(s)" in body and "slate provenance impact" in body

"""Pages say operators and consent states in words: "at least", "one of", "expired on D"."""

from __future__ import annotations

from datetime import date

from governance import revocation
from governance.clock import utcnow
from governance.registry.consents import list_consents
from governance.registry.tables import Consent
from tests.web.test_requests import submit


def test_evidence_shows_operators_in_words_with_the_code_kept_as_a_tooltip(browser, studio):
    producer = browser("pat-producer")
    page = producer.get(submit(producer, studio, people=["Kit Young"]).headers["Location"]).get_data(as_text=True)
    assert '<span title="gteq">at least</span>' in page and '<span title="isAnyOf">one of</span>' in page
    assert "<td>gteq</td>" not in page and "<td>isAnyOf</td>" not in page


def test_the_registry_labels_an_expired_and_a_revoked_consent_as_such_not_active(browser):
    kit, mara = (next(c for c in list_consents() if c["person"] == name) for name in ("Kit Young", "Mara Quinn"))
    Consent.update(valid_until=date(2025, 12, 31)).where(Consent.id == kit["id"]).execute()
    revocation.revoke_consent(mara["id"], "withdrawn by the performer")
    page = browser("lee-legal").get("/registry").get_data(as_text=True)
    people = page[page.index('id="people"'):page.index('id="pending"')]
    assert '<span class="badge revoked">expired on 2025-12-31</span>' in people
    assert f'<span class="badge revoked">revoked on {utcnow().date().isoformat()}</span>' in people
    assert ">active</span>" not in people

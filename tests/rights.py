"""Recording rights in tests the way a studio does: legal records, a second legal user confirms.

Tests that are not about four eyes or consent documents use ``grant_consent`` here: it
records the consent as legal user LEE with a real (unsigned) PDF kept in the test's data
folder, and has LOU confirm it where four eyes require, so the consent counts. A likeness
consent gets the performers' terms a union replica consent states (``replica_terms``)
unless the test gives its own, so that the studio policy's replica rules are met.
"""

from __future__ import annotations

from typing import Any

from governance.demo import replica_terms
from governance.principal import Principal
from governance.registry import consents
from governance.registry.documents import minimal_pdf
from governance.settings import Settings

LEE = Principal(0, "lee-legal", frozenset({"legal"}))
LOU = Principal(0, "lou-legal", frozenset({"legal"}))


def consent_form(person: str = "a performer") -> bytes:
    return minimal_pdf([f"Consent of {person}", "signed on paper; scanned copy kept by legal"])


def store(settings: Settings) -> consents.DocumentStore:
    return consents.DocumentStore.from_settings(settings)


def grant_consent(settings: Settings, person: str | int, *, confirm: bool = True, **kw: Any) -> dict[str, Any]:
    """A consent recorded by LEE with its document and, where four eyes apply, confirmed by LOU."""
    kw.setdefault("by", LEE)
    if "likeness" in kw.get("uses", ()) and "replica_type" not in kw:
        kw.update(replica_terms(kw["valid_from"], "Digital replica of the performer's likeness in generated "
                                                        "frames of this production."))
    if "document" not in kw and "document_sha256" not in kw:
        kw["document"] = consent_form(str(person))
    granted = consents.grant_consent(person, store=store(settings), **kw)
    if confirm and granted["status"] == "pending":
        granted = consents.confirm_consent(granted["id"], by=LOU if kw["by"].name != LOU.name else LEE)
    return granted

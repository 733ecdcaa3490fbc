"""The credits a production owes: every credit line its signed outputs must carry, with
how many outputs rely on each (``/productions/<p>/credits``, its CSV, and the API's twin).

A line comes from a consent (the performer's credit) or a licence (the licensor's) whose
terms require attribution, as the clearance report counts them; the count is the
production's ``credit_tally`` row, kept as outputs are signed, so the page reads a few rows
per right, never the outputs (a production of a million outputs answers as fast as one of
ten). Each right is its own line: two rights with the same words are two lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import NotFound
from ..principal import Principal
from ..registry.tables import Consent, Licence, Person, Production
from .clearance_report import may_read
from .tables import CreditTally

#: the most lines one production's page lists (a production relies on far fewer rights)
MAX_LINES = 5000


@dataclass(frozen=True)
class CreditOwed:
    """One credit line, who it is owed to, the right behind it, and how many outputs owe it.

    ``search`` is the provenance filter that finds those outputs (``consent`` or ``licence``)."""

    kind: str            # performer | licensor
    line: str
    owed_to: str
    right: str           # "consent 12" | "licence LIC-..."
    search: tuple[str, str]
    outputs: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "line": self.line, "owed_to": self.owed_to, "right": self.right,
                "search": {self.search[0]: self.search[1]}, "outputs": self.outputs}


def credits_owed(production: str, by: Principal | None) -> tuple[CreditOwed, ...]:
    """The production's credit lines, performers first, then licensors, each by its words.

    Anyone who may not read the production's clearance report is told it does not exist."""
    if Production.get_or_none(Production.name == production) is None or not may_read(by, production):
        raise NotFound(f"no production '{production[:200]}' (or not one whose credits you may read)",
                       hint="producers read their own productions' credits; legal and auditors read all")
    tallies = list(CreditTally.select().where(CreditTally.production == production, CreditTally.outputs > 0)
                   .limit(MAX_LINES))
    counts = {(t.subject_kind, t.subject_id): t.outputs for t in tallies}
    lines: list[CreditOwed] = []
    consent_ids = [i for k, i in counts if k == "consent"]
    licence_ids = [i for k, i in counts if k == "licence"]
    if consent_ids:
        for c in (Consent.select(Consent, Person).join(Person)
                  .where(Consent.id.in_(consent_ids), Consent.attribution_required == True,  # noqa: E712
                         Consent.credit_text.is_null(False))):
            if c.credit_text:
                lines.append(CreditOwed("performer", c.credit_text, c.person.name, f"consent {c.id}",
                                        ("consent", str(c.id)), counts[("consent", c.id)]))
    if licence_ids:
        for lic in Licence.select().where(Licence.id.in_(licence_ids), Licence.attribution_required == True,  # noqa: E712
                                          Licence.credit_text.is_null(False)):
            if lic.credit_text:
                lines.append(CreditOwed("licensor", lic.credit_text, lic.licensor, f"licence {lic.ref}",
                                        ("licence", lic.ref), counts[("licence", lic.id)]))
    return tuple(sorted(lines, key=lambda c: (c.kind != "performer", c.line.lower(), c.right)))


__all__ = ["MAX_LINES", "CreditOwed", "credits_owed"]

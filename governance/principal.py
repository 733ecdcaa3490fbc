"""Who is acting: the value every authorisation decision is made on.

A plain frozen value with no imports from the rest of Slate, so the registry, the policy
engine, provenance and the jobs can all take one without importing the users and tokens
that authenticate it (``governance.auth``). The API builds it from a bearer token, the
pages from the session, the CLI from ``--by NAME``; below them nothing re-authenticates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

ROLES = ("legal", "producer", "approver", "generator", "auditor", "admin")
#: Roles whose work spans the studio: they see every production's records.
STUDIO_WIDE = frozenset({"admin", "legal", "auditor", "approver", "generator"})


@dataclass(frozen=True)
class Principal:
    """A user with roles and the productions they belong to."""

    user_id: int
    name: str
    roles: frozenset[str]
    productions: frozenset[str] = field(default_factory=frozenset)

    def has_any(self, roles: Iterable[str]) -> bool:
        return bool(self.roles & set(roles))

    @property
    def studio_wide(self) -> bool:
        """Sees every production (oversight roles); a producer alone is confined to theirs."""
        return bool(self.roles & STUDIO_WIDE)

    def may_see_production(self, production: str) -> bool:
        """Producers are confined to their productions; oversight roles see all."""
        return self.studio_wide or production in self.productions

    def sees_any(self, productions: Iterable[str]) -> bool:
        """May see at least one of these productions (a record scoped to several)."""
        return self.studio_wide or bool(self.productions & set(productions))

"""Users with roles, memberships in productions, and their API tokens."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import weakref
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from ..audit.log import record
from ..catalogue import published_catalogue
from ..clock import as_utc, utcnow
from ..db import database, first, transaction, tuples
from ..errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from ..ids import is_id
from ..principal import ROLES, Principal
from ..registry import vocabulary as vocab
from ..registry.people import get_production
from ..registry.tables import Production
from .tables import ApiToken, Membership, User

__all__ = ["ROLES", "Principal", "add_user", "authenticate", "principal_named"]
TOKEN_PREFIX = "slt_"


def user_dict(u: User) -> dict[str, Any]:
    return {"id": u.id, "name": u.name, "roles": u.roles,
            "productions": sorted(m.production.name for m in u.memberships),
            "created_at": u.created_at, "disabled": u.disabled_at is not None,
            "department": u.department, "attributes": u.attributes}


def add_user(name: str, roles: Iterable[str], productions: Iterable[str] = ()) -> dict[str, Any]:
    name = vocab.name(name, "user")
    role_list = vocab.choose_many(roles, ROLES, "role")
    with transaction():
        if User.select().where(User.name == name).exists():
            raise Conflict(f"a user named '{name}' already exists")
        user = User.create(name=name, roles=role_list, created_at=utcnow())
        for prod in {p for p in productions if p}:
            Membership.create(user=user, production=get_production(prod))
        record("user.added", f"user:{name}", {"roles": role_list, "productions": sorted(set(productions))})
    return user_dict(user)


def get_user(name: str) -> User:
    user = User.get_or_none(User.name == name)
    if user is None:
        raise NotFound(f"no user '{name}' exists", hint="list them with: slate user list")
    return user


def add_membership(name: str, production: str) -> dict[str, Any]:
    with transaction():
        user = get_user(name)
        prod = get_production(production)
        _, created = Membership.get_or_create(user=user, production=prod)
        if created:
            record("user.joined", f"user:{user.name}", {"production": prod.name})
    verified_tokens.forget()
    return user_dict(user)


#: not set: leave the user's department as it is (None clears it)
UNCHANGED: Any = object()


def set_profile(name: str, *, department: str | None = UNCHANGED,
                attributes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """An admin sets who the policy sees asking: the user's department (None clears it) and
    the catalogue's user attributes (checked like a record's; a value of None unsets one)."""
    if department is not UNCHANGED and department is not None:
        department = vocab.name(department, "department")
        if len(department) > 120:
            raise InvalidInput("a department's name has at most 120 characters")
    with transaction():
        user = get_user(name)
        before = (user.department, dict(user.attributes or {}))
        if department is not UNCHANGED:
            user.department = department
        if attributes:
            user.attributes = published_catalogue().updated("user", user.attributes or {}, attributes)
        if (user.department, user.attributes) != before:
            user.save()
            record("user.profile_set", f"user:{user.name}",
                   {"department": user.department, "attributes": user.attributes})
    return user_dict(user)


def list_users() -> list[dict[str, Any]]:
    return [user_dict(u) for u in User.select().order_by(User.name)]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(user_name: str, *, label: str = "", expires_in: timedelta | None = None) -> dict[str, Any]:
    """Create a token. The plaintext is in the result and nowhere else, ever."""
    if expires_in is not None and expires_in.total_seconds() <= 0:
        raise InvalidInput("a token's lifetime must be positive")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction():
        user = get_user(user_name)
        now = utcnow()
        row = ApiToken.create(user=user, token_sha256=hash_token(token), prefix=token[:10], label=label,
                              created_at=now, expires_at=now + expires_in if expires_in else None)
        # the token itself is never logged: only which one, for whom
        record("token.issued", f"token:{row.id}", {"user": user.name, "label": label,
                                                   "expires_at": row.expires_at})
    return {"id": row.id, "user": user.name, "token": token, "label": label, "expires_at": row.expires_at}


def token_dict(t: ApiToken) -> dict[str, Any]:
    return {"id": t.id, "user": t.user.name, "prefix": t.prefix + "…", "label": t.label,
            "created_at": t.created_at, "expires_at": t.expires_at, "revoked_at": t.revoked_at,
            "last_used_at": t.last_used_at}


def list_tokens(user_name: str | None = None) -> list[dict[str, Any]]:
    query = ApiToken.select().order_by(ApiToken.id)
    if user_name:
        query = query.where(ApiToken.user == get_user(user_name))
    return [token_dict(t) for t in query]


def revoke_token(token_id: int | str) -> dict[str, Any]:
    if not is_id(token_id):
        raise InvalidInput(f"'{token_id}' is not a token id (a number; see slate token list)")
    with transaction():
        row = ApiToken.get_or_none(ApiToken.id == int(token_id))
        if row is None:
            raise NotFound(f"no token #{token_id} exists")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            row.save()
            record("token.revoked", f"token:{row.id}", {"user": row.user.name})
    verified_tokens.forget()
    return token_dict(row)


class VerifiedTokens:
    """Tokens this process verified in the last ``seconds``, by their SHA-256: a busy client
    sends the same token many times a second, and each verification read the token, its
    user and the user's productions (three queries, a few milliseconds).

    The bound on staleness is ``seconds`` (``TOKEN_CACHE_SECONDS``): a token revoked, or a
    membership changed, by another process is refused or seen at most that long after; in
    this process at once, since those changes forget every verified token. A verification
    that read the database before such a change and finishes after it keeps nothing (the
    ``generation`` it started under is gone). A token's expiry is checked on every use,
    cached or not. Only hashes are kept, never a token; failures are never cached, so a
    guessing client reads the database every time as before. What is kept belongs to the
    database it was read from: another database opened in the process starts empty.
    """

    def __init__(self, seconds: float, most: int = 10_000) -> None:
        self.seconds, self.most = seconds, most
        self._by_database: weakref.WeakKeyDictionary[Any, dict[str, tuple[float, Principal, datetime | None]]] = \
            weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self.generation = 0

    def _entries(self) -> dict[str, tuple[float, Principal, datetime | None]]:
        return self._by_database.setdefault(database.obj, {})

    def get(self, token_sha256: str, now: datetime) -> Principal | None:
        entries = self._entries()
        entry = entries.get(token_sha256)
        if entry is None:
            return None
        verified_at, principal, expires_at = entry
        if time.monotonic() - verified_at >= self.seconds or (expires_at is not None and expires_at <= now):
            with self._lock:
                entries.pop(token_sha256, None)
            return None
        return principal

    def put(self, token_sha256: str, principal: Principal, expires_at: datetime | None, generation: int) -> None:
        """Keep what a verification that began under ``generation`` read, unless something
        was forgotten since it began."""
        with self._lock:
            if generation != self.generation:
                return
            entries = self._entries()
            if len(entries) >= self.most:  # a bound, not an eviction policy: start again
                entries.clear()
            entries[token_sha256] = (time.monotonic(), principal, expires_at)

    def forget(self) -> None:
        with self._lock:
            self.generation += 1
            self._by_database.clear()


#: How long a verified token is trusted without reading the database again (see VerifiedTokens).
TOKEN_CACHE_SECONDS = 5.0
verified_tokens = VerifiedTokens(TOKEN_CACHE_SECONDS)


def authenticate(token: str | None) -> Principal:
    """The principal a bearer token stands for; Unauthorized without saying which check failed."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthorized("a valid API token is required", hint="send 'Authorization: Bearer <token>'")
    token_sha256, now = hash_token(token), utcnow()
    cached = verified_tokens.get(token_sha256, now)
    if cached is not None:
        return cached
    generation = verified_tokens.generation
    row = first(ApiToken.select(ApiToken, User).join(User).where(ApiToken.token_sha256 == token_sha256))
    if (row is None or row.revoked_at is not None or row.user.disabled_at is not None
            or (row.expires_at is not None and as_utc(row.expires_at) <= now)):
        raise Unauthorized("this API token is unknown, expired or revoked",
                           hint="ask an admin for a new token: slate token create USER")
    principal = _principal(row.user)
    verified_tokens.put(token_sha256, principal, as_utc(row.expires_at) if row.expires_at else None, generation)
    return principal


def _principal(user: User) -> Principal:
    productions = frozenset(name for (name,) in tuples(
        Production.select(Production.name).join(Membership).where(Membership.user == user)))
    return Principal(user.id, user.name, frozenset(user.roles), productions)


def principal_named(name: str, role: str | tuple[str, ...] | None) -> Principal:
    """The user the CLI's ``--by NAME`` stands for, who must hold ``role`` (one of them, for a
    tuple; any, if None: the command itself judges, as a sign-off does).

    The command line runs with the database's own credentials, so this is not
    authentication; it makes the CLI record the same accountable person, and apply the
    same who-may rules (four eyes included), as the API does for a token.
    """
    user = User.get_or_none(User.name == (name or "").strip())
    if user is None or user.disabled_at is not None:
        raise NotFound(f"no active user '{name}' exists", hint="list them with: slate user list")
    needed = () if role is None else (role,) if isinstance(role, str) else role
    if needed and not set(needed) & set(user.roles or []):
        raise Forbidden(f"'{user.name}' does not have the {' or '.join(needed)} role needed here",
                        hint=f"{user.name} has: {', '.join(sorted(user.roles or []))}")
    return _principal(user)

"""Enrolling, approving and revoking worker keys, and finding the key a receipt may use.

A generator user enrols the public key its worker made (``pending``); an admin other than
that user approves it (``approved``) or revokes it (``revoked``, for good). Signing
accepts a receipt only from an approved, unrevoked key enrolled for the calling user
(``signing_key``), so a stolen API token without the worker's private key signs nothing,
and a worker key stolen without its user's token cannot be used by another user.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..audit.log import record
from ..auth.tables import User
from ..clock import as_utc, utcnow
from ..db import HotLookup, transaction
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..ids import is_id
from ..principal import Principal
from .receipts import decode_public_key, key_id
from .tables import WorkerKey

PENDING, APPROVED, REVOKED = "pending", "approved", "revoked"
STATUSES = (PENDING, APPROVED, REVOKED)


@dataclass(frozen=True)
class WorkerKeyView:
    id: int
    key_id: str
    user: str
    public_key: str
    label: str
    status: str
    enrolled_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    revoked_by: str | None
    revoked_at: datetime | None
    revoked_reason: str | None

    @classmethod
    def from_row(cls, row: WorkerKey) -> WorkerKeyView:
        return cls(row.id, row.key_id, row.user.name, row.public_key, row.label, row.status,
                   as_utc(row.enrolled_at), row.approved_by, _utc(row.approved_at), row.revoked_by,
                   _utc(row.revoked_at), row.revoked_reason)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key_id": self.key_id, "user": self.user, "public_key": self.public_key,
                "label": self.label, "status": self.status, "enrolled_at": self.enrolled_at,
                "approved_by": self.approved_by, "approved_at": self.approved_at, "revoked_by": self.revoked_by,
                "revoked_at": self.revoked_at, "revoked_reason": self.revoked_reason}


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def enrol(who: Principal, public_key: str, label: str = "") -> WorkerKeyView:
    """Record ``who``'s worker key as pending. Enrolling the same key again returns it as it stands."""
    if "generator" not in who.roles:
        raise Forbidden("only a generator user enrols a worker key", hint="the worker enrols with its own token")
    raw = decode_public_key(public_key)
    label = (label or "").strip()
    if len(label) > 200 or not label.isprintable():
        raise InvalidInput("a worker key's label is printable text of at most 200 characters")
    with transaction():
        existing = WorkerKey.get_or_none(WorkerKey.key_id == key_id(raw))
        if existing is not None:
            if existing.user_id != who.user_id:
                raise Conflict("this key is enrolled for another user", hint="make a new key on this worker")
            return WorkerKeyView.from_row(existing)
        row = WorkerKey.create(key_id=key_id(raw), user=who.user_id, public_key=public_key.strip(), label=label,
                               status=PENDING, enrolled_at=utcnow())
        record("worker_key.enrolled", f"worker_key:{row.key_id}", {"id": row.id, "label": label}, actor=who.name)
    return WorkerKeyView.from_row(row)


def _get(ref: int | str) -> WorkerKey:
    text = str(ref).strip()
    row = None
    if is_id(text):
        row = WorkerKey.get_or_none(WorkerKey.id == int(text))
    elif len(text) >= 8 and all(c in "0123456789abcdef" for c in text):
        matches = list(WorkerKey.select().where(WorkerKey.key_id.startswith(text)).limit(2))
        if len(matches) > 1:
            raise InvalidInput(f"'{text}' names more than one worker key; give more of its id")
        row = matches[0] if matches else None
    if row is None:
        raise NotFound(f"no worker key '{text[:64]}' is enrolled", hint="list them with: slate worker list")
    return row


def _admin(who: Principal, row: WorkerKey, act: str) -> None:
    if "admin" not in who.roles:
        raise Forbidden(f"only an admin {act}s a worker key")
    if who.user_id == row.user_id:
        raise Forbidden(f"a worker key is never {act}d by its own user", hint="another admin must do it")


def approve(ref: int | str, who: Principal) -> WorkerKeyView:
    """Approve a pending key: from now its receipts are accepted. A revoked key stays revoked."""
    with transaction():
        row = _get(ref)
        _admin(who, row, "approve")
        if row.status == REVOKED:
            raise Conflict(f"worker key {row.id} was revoked; a revoked key is never approved again",
                           hint="the worker makes a new key and enrols it")
        if row.status == PENDING:
            row.status, row.approved_by, row.approved_at = APPROVED, who.name, utcnow()
            row.save()
            record("worker_key.approved", f"worker_key:{row.key_id}", {"id": row.id, "user": row.user.name},
                   actor=who.name)
    return WorkerKeyView.from_row(row)


def revoke(ref: int | str, who: Principal, reason: str) -> WorkerKeyView:
    """Revoke a key for good: no receipt it signs is accepted from now on."""
    if not (reason or "").strip():
        raise InvalidInput("say why the worker key is revoked")
    with transaction():
        row = _get(ref)
        _admin(who, row, "revoke")
        if row.status != REVOKED:
            row.status, row.revoked_by, row.revoked_at = REVOKED, who.name, utcnow()
            row.revoked_reason = reason.strip()[:2000]
            row.save()
            record("worker_key.revoked", f"worker_key:{row.key_id}",
                   {"id": row.id, "user": row.user.name, "reason": reason.strip()[:500]}, actor=who.name)
    return WorkerKeyView.from_row(row)


def list_keys(who: Principal, status: str | None = None) -> list[WorkerKeyView]:
    """Every key for an admin; a generator sees its own."""
    return _listed(status, None if "admin" in who.roles else who.user_id)


def list_all(status: str | None = None) -> list[WorkerKeyView]:
    """Every key: the command line's listing, which runs with the database's own credentials."""
    return _listed(status, None)


def _listed(status: str | None, user_id: int | None) -> list[WorkerKeyView]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    query = WorkerKey.select(WorkerKey, User).join(User).order_by(WorkerKey.id)
    if user_id is not None:
        query = query.where(WorkerKey.user == user_id)
    if status is not None:
        query = query.where(WorkerKey.status == status)
    return [WorkerKeyView.from_row(r) for r in query]


# checked on every sign call: SQL built once (``db.HotLookup``)
_by_key_id = HotLookup(WorkerKey, WorkerKey.key_id)
_user_by_name = HotLookup(User, User.name)


def signing_key(key: str, worker: str) -> bytes:
    """The public key a receipt naming ``key`` may be checked against, for user ``worker``.

    Raises ``Forbidden`` naming why not: no such key is enrolled, it is another user's,
    it is still pending, or it was revoked.
    """
    row = _by_key_id.first(key)
    short = key[:16]
    if row is None:
        raise Forbidden(f"the receipt is signed by worker key {short}…, which is not enrolled",
                        hint="enrol the worker's key (slate worker enroll) and have an admin approve it")
    owner = _user_by_name.first(worker)
    if owner is None or row.user_id != owner.id:
        raise Forbidden(f"worker key {short}… is enrolled for another generator user, not '{worker}'")
    if row.status == PENDING:
        raise Forbidden(f"worker key {short}… is enrolled but not approved yet",
                        hint=f"an admin approves it: slate worker approve {row.id} --by ADMIN")
    if row.status != APPROVED:
        raise Forbidden(f"worker key {short}… was revoked ({row.revoked_reason or 'no reason recorded'})",
                        hint="the worker makes a new key and enrols it")
    return decode_public_key(row.public_key)

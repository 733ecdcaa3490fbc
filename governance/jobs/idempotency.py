"""Idempotency keys: a retried call returns the first call's answer, never a second effect."""

from __future__ import annotations

from typing import Any, Callable

import peewee

from ..canonical import digest
from ..clock import utcnow
from ..db import transaction
from ..errors import Conflict, InvalidInput
from .tables import IdempotencyRecord

MAX_KEY = 200


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise InvalidInput(f"an Idempotency-Key must be 1 to {MAX_KEY} printable characters")
    return key


def once(scope: str, principal: str, key: str | None, body: Any,
         action: Callable[[], tuple[int, dict[str, Any]]]) -> tuple[int, dict[str, Any], bool]:
    """Run ``action`` at most once per (scope, principal, key); returns (status, response, replayed).

    The record is written in the same transaction as the action's own writes, so either
    both exist or neither does. A key reused with a different body is a conflict.
    """
    key = check_key(key)
    if key is None:
        with transaction():
            status, response = action()
        return status, response, False
    body_hash = digest(body)
    for _ in range(2):
        existing = IdempotencyRecord.get_or_none(scope=scope, principal=principal, key=key)
        if existing is not None:
            if existing.body_sha256 != body_hash:
                raise Conflict("this Idempotency-Key was already used with a different request body",
                               hint="use a new key for a new request")
            return existing.status, existing.response, True
        try:
            with transaction():
                status, response = action()
                IdempotencyRecord.create(scope=scope, principal=principal, key=key, body_sha256=body_hash,
                                         status=status, response=response, created_at=utcnow())
            return status, response, False
        except peewee.IntegrityError:
            # a concurrent call with the same key won the race: answer with its result
            continue
    raise Conflict("a concurrent call with this Idempotency-Key is still in progress; retry shortly")

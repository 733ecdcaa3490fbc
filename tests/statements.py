"""Counting the SQL statements a piece of code runs: how a test pins that a page or a report
reads in a fixed number of queries (bounded, not timed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from governance.db import database

T = TypeVar("T")


def counted(monkeypatch: Any, action: Callable[[], T]) -> tuple[T, list[str]]:
    """``action()``'s result and the statements it ran, in order."""
    seen: list[str] = []
    real = database.obj.execute_sql

    def counting(sql: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(sql)
        return real(sql, *args, **kwargs)

    monkeypatch.setattr(database.obj, "execute_sql", counting)
    try:
        return action(), seen
    finally:
        monkeypatch.setattr(database.obj, "execute_sql", real)

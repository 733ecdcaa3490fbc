"""peewee tables of this subsystem; ``TABLES`` lists them in creation order for migrations."""

from __future__ import annotations

TABLES: list = []

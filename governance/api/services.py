"""Per-app long-lived services (the issuer with its c2pa context and TSA, the queue),
created on first use and kept in ``app.extensions``."""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app

_lock = threading.Lock()


def _get(name: str, factory: Any) -> Any:
    ext = current_app.extensions
    if name not in ext:
        with _lock:
            if name not in ext:
                ext[name] = factory(current_app.config["SLATE_SETTINGS"])
    return ext[name]


def issuer() -> Any:
    from ..credentials.issuance import Issuer
    return _get("slate_issuer", Issuer)


def queue() -> Any:
    from ..jobs.queue import Queue
    return _get("slate_queue", Queue)

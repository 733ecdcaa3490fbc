"""Work that runs beside c2pa's native code instead of after it.

Signing and verification spend most of their time inside c2pa's Rust library, which
ctypes calls with the GIL released. The bulk checks Slate adds around it — SHA-256 of
the file, the PNG chunk CRCs — are single calls into hashlib and zlib, which release the
GIL too. Running them on a background thread while c2pa works takes them off the
critical path (about 1.2 ms of a 1024x1024 PNG signature on this machine; see the
credentials benchmark) without changing what is checked.

``HashingDestination`` is the stream c2pa writes a signed file into. c2pa writes the
output in one sequential pass, then rewinds it and spends the rest of the call in native
code (verify-after-sign). The first seek after a write hands a snapshot of the bytes to
the background thread, so the output's SHA-256 is taken while c2pa verifies. Any write
after the snapshot (a future library that patches the file in place) discards it and the
digest is taken again: the digest is always of the final bytes.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from ..canonical import sha256_hex

T = TypeVar("T")


class Offload:
    """Background threads, started lazily; a forked child starts its own.

    One thread serves a single signer; concurrent signers in one process (API threads)
    get up to one per core, so their hashing is not queued behind each other's.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._pool: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                # a pool inherited through fork has no thread behind it
                self._pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                                thread_name_prefix=self._name)
                self._pid = os.getpid()
            pool = self._pool
        return pool.submit(fn, *args)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.shutdown(wait=False)


class HashingDestination(io.BytesIO):
    """A BytesIO for c2pa to sign into that also yields the SHA-256 of what it holds."""

    def __init__(self, offload: Offload) -> None:
        super().__init__()
        self._offload = offload
        self._writes = 0
        self._snapshot_writes = -1
        self._digest: Future[str] | None = None

    def write(self, data: Any) -> int:
        self._writes += 1
        return super().write(data)

    def writelines(self, lines: Any) -> None:
        self._writes += 1
        super().writelines(lines)

    def truncate(self, size: int | None = None) -> int:
        self._writes += 1
        return super().truncate(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        if self._digest is None and self._writes:
            self._snapshot_writes = self._writes
            # getvalue shares the buffer until the next write copies it: no copy here
            self._digest = self._offload.submit(sha256_hex, self.getvalue())
        return super().seek(offset, whence)

    def signed(self) -> tuple[bytes, str]:
        """The bytes written and their SHA-256 hex digest."""
        data = self.getvalue()
        if self._digest is not None:
            digest = self._digest.result()
            if self._snapshot_writes == self._writes:
                return data, digest
        return data, sha256_hex(data)

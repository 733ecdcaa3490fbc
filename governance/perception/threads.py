"""How many threads the native libraries behind output review use in an API process.

OpenCV (face detection, PNG encoding) and faiss (OpenMP, the similarity search) each start a
pool sized to the machine's cores and split every call across it. In a server that already
runs one request per thread that buys nothing: the cores are busy with other requests, and
OpenMP's waiting threads spin, burning CPU the other requests need. Measured on 2 cores
(``docs/performance.md``): a signature took about a fifth less CPU with one thread each.
A generator or the index builder, which run one big computation at a time, keep their pools:
only API processes call this.
"""

from __future__ import annotations

import threading

_local = threading.local()


def one_thread_per_call() -> None:
    """Make OpenCV compute each call on the calling thread (a process-wide setting), and
    faiss on this thread; request threads call ``on_this_thread`` for themselves."""
    import cv2

    cv2.setNumThreads(1)
    on_this_thread()


def on_this_thread() -> None:
    """faiss's OpenMP setting belongs to each thread (a new thread starts with one per core):
    a server's request threads set it once each, before their first request."""
    if getattr(_local, "one", False):
        return
    import faiss

    faiss.omp_set_num_threads(1)
    _local.one = True

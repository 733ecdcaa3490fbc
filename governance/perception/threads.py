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


def one_thread_per_call() -> None:
    """Make OpenCV and faiss compute each call on the calling thread."""
    import cv2
    import faiss

    cv2.setNumThreads(1)
    faiss.omp_set_num_threads(1)

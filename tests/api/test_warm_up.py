"""A gunicorn worker starts ready (``governance.wsgi``): its first requests do not each
import the queue's library or compile the published policy while the others wait."""

from __future__ import annotations

import gc
import sys
import threading
from pathlib import Path

from governance import demo
from governance.app import create_app, warm_up
from governance.db import close_database
from governance.policy import compiler
from governance.policy.versions import compiled, published_rows

REPO = Path(__file__).resolve().parents[2]


def test_a_warmed_app_holds_its_queue_signer_and_compiled_policies(settings, monkeypatch):
    import cv2
    import faiss
    threads = (cv2.getNumThreads(), faiss.omp_get_max_threads())
    app = create_app(settings, testing=True)
    try:
        demo.seed(REPO / "policies" / "studio-default.yaml", settings)
        monkeypatch.setattr(compiler, "_CACHE", type(compiler._CACHE)())
        warm_up(app)
        assert {"slate_queue", "slate_issuer"} <= set(app.extensions)
        assert "huey" in sys.modules
        rows = published_rows()
        assert rows

        def compile_again(*_args):
            raise AssertionError("compiled again after warm_up")
        monkeypatch.setattr(compiler, "compile_policy", compile_again)
        assert [compiled(row).ref.version for row in rows] == [row.version for row in rows]
        # OpenCV and faiss compute on the request's own thread, in every request thread
        assert (cv2.getNumThreads(), faiss.omp_get_max_threads()) == (1, 1)
        seen: list[int] = []

        def a_request_thread() -> None:
            with app.test_request_context("/openapi.json"):
                app.preprocess_request()
                seen.append(faiss.omp_get_max_threads())
        thread = threading.Thread(target=a_request_thread)
        thread.start()
        thread.join(timeout=30)
        assert seen == [1]
        # what was loaded is out of the collector's sight: full collections stay short
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        cv2.setNumThreads(threads[0])
        faiss.omp_set_num_threads(threads[1])
        close_database()

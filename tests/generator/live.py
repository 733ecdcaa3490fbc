"""The real Slate API served over HTTP on a free port, for tests that run the worker's real
HTTP client against it, and a tap in front of it.

The tap is not a fake: every request reaches the real Flask app and its real signing
path. It only records what arrives (so a test can count calls and compare the client's
requests with the OpenAPI document) and, when a test asks, answers the next N requests
for one path with 503, as an overloaded or restarting API would.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from werkzeug.datastructures import MultiDict
from werkzeug.formparser import parse_form_data
from werkzeug.serving import make_server

from generator.loader import LoadedModel
from governance.registry import models_registry
from tests.api.test_flow import submit

PROMPT = "a large teal circle centre on ivory background, slate studio style"


@dataclass(frozen=True)
class Arrived:
    """One request as it reached the API."""

    method: str
    path: str
    content_type: str
    body: bytes
    authorized: bool

    def json_fields(self) -> set[str]:
        return set(json.loads(self.body or b"{}"))

    def form(self) -> tuple[MultiDict, MultiDict]:
        """(form fields, files) of a multipart body, parsed the way the API parses it."""
        environ = {"REQUEST_METHOD": self.method, "CONTENT_TYPE": self.content_type,
                   "CONTENT_LENGTH": str(len(self.body)), "wsgi.input": io.BytesIO(self.body)}
        _, form, files = parse_form_data(environ)
        return form, files


class ApiTap:
    """WSGI middleware in front of the real app: records requests; can make a path unavailable."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.arrived: list[Arrived] = []
        #: path -> how many of its next requests are answered 503 (Retry-After: 0)
        self.unavailable: dict[str, int] = {}
        #: called with each request as it arrives, to look at the worker meanwhile
        self.watch: Callable[[Arrived], None] | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ["PATH_INFO"]
        arrived = Arrived(environ["REQUEST_METHOD"], path, environ.get("CONTENT_TYPE", ""), body,
                          "HTTP_AUTHORIZATION" in environ)
        if self.watch is not None:
            self.watch(arrived)
        with self._lock:
            self.arrived.append(arrived)
            down = self.unavailable.get(path, 0) > 0
            if down:
                self.unavailable[path] -= 1
        if down:
            problem = json.dumps({"type": "about:blank", "title": "Service Unavailable", "status": 503,
                                  "detail": "the API is restarting"}).encode()
            start_response("503 SERVICE UNAVAILABLE", [("Content-Type", "application/problem+json"),
                                                       ("Retry-After", "0"),
                                                       ("Content-Length", str(len(problem)))])
            return [problem]
        return self.app(environ, start_response)

    def calls(self, method: str, path: str) -> list[Arrived]:
        with self._lock:
            return [a for a in self.arrived if a.method == method and a.path == path]


@dataclass
class Live:
    url: str
    tap: ApiTap


def serve(app: Any, loaded: LoadedModel, model_dir: str) -> Iterator[Live]:
    """Slate over HTTP with the micro model registered and approved (for a fixture)."""
    models_registry.register_model("micro", "1", loaded.weights_hash, training_set="studio-style-v1",
                                   path=model_dir)
    models_registry.set_status("micro:1", "approved")
    tap = ApiTap(app)
    server = make_server("127.0.0.1", 0, tap, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Live(f"http://127.0.0.1:{server.server_port}", tap)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def queued_job(client: Any, producer_token: str, seed: int = 3) -> str:
    created = submit(client, producer_token, model="micro:1", prompt=PROMPT,
                     params={"seed": seed, "steps": 2, "width": 64, "height": 64})
    assert created.status_code == 201, created.json
    return str(created.json["job"]["id"])

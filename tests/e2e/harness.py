"""A real Slate server process for end-to-end tests, and a tiny HTTP client for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token

    def call(self, method: str, path: str, *, json_body: Any = None, files: dict[str, tuple[str, bytes]] | None = None,
             fields: dict[str, str] | None = None, headers: dict[str, str] | None = None,
             timeout: float = 60) -> Response:
        data = None
        request_headers = dict(headers or {})
        if self.token:
            request_headers["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            request_headers["Content-Type"] = "application/json"
        elif files is not None:
            boundary = uuid.uuid4().hex
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                     for k, v in (fields or {}).items()]
            parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                      f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
                      for k, (name, content) in files.items()]
            data = b"".join(parts) + f"--{boundary}--\r\n".encode()
            request_headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=request_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as r:
                return Response(r.status, r.read(), dict(r.headers))
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.read(), dict(exc.headers))


@dataclass
class SlateServer:
    process: subprocess.Popen
    base: str
    tokens: dict[str, str]
    output: list[str] = field(default_factory=list)

    def client(self, user: str) -> Client:
        return Client(self.base, self.tokens[user])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, env: dict[str, str] | None = None, *, args: tuple[str, ...] = (),
                 timeout: float = 300) -> SlateServer:
    """Run ``slate serve`` in ``home`` and wait until it serves; the demo tokens are parsed
    from its output (the same lines a newcomer reads)."""
    port = free_port()
    full_env = {**os.environ, "SLATE_HOME": str(home), "SLATE_POLICIES_DIR": str(REPO / "policies"),
                "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("SLATE_DATABASE_URL", None) if "SLATE_DATABASE_URL" not in (env or {}) else None
    process = subprocess.Popen([sys.executable, "-m", "governance", "serve", "--port", str(port), *args],
                               cwd=home, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = SlateServer(process, f"http://127.0.0.1:{port}", {})
    ready = threading.Event()

    def pump() -> None:
        in_tokens = False
        for line in process.stdout:  # type: ignore[union-attr]
            server.output.append(line.rstrip())
            if line.startswith("demo tokens"):
                in_tokens = True
            elif in_tokens and line.startswith("  "):
                name, token = line.split()
                server.tokens[name] = token
            else:
                in_tokens = False
            if line.startswith("Slate is serving"):
                ready.set()

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.is_set():
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError("Slate did not start:\n" + "\n".join(server.output[-40:]))
        time.sleep(0.1)
    return server


def wait_for(predicate, timeout: float = 120, interval: float = 0.25):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("condition not met in time")

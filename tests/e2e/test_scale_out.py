"""The scale-out shape: API on PostgreSQL, jobs through Redis, a standalone ``slate worker``
process that reaches Slate only through the queue and the API."""

from __future__ import annotations

import pytest

from governance.credentials.model_signatures import PUBLIC_KEY_FILE
from tests.e2e.conftest import prepare_home
from tests.e2e.harness import enrol_worker, start_server, start_worker, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_flow_through_redis_and_postgresql_with_a_standalone_worker(tmp_path, micro_bundle, postgres_server,
                                                                     redis_server):
    database_url = postgres_server.create_database()
    settings = prepare_home(tmp_path, micro_bundle, database_url)
    env = {"SLATE_DATABASE_URL": database_url, "SLATE_REDIS_URL": redis_server.url}
    server = start_server(tmp_path, env, args=("--no-embedded-worker",))
    worker = None
    try:
        assert any("queue         redis" in line for line in server.output)
        worker_env = {"SLATE_REDIS_URL": redis_server.url, "SLATE_API_URL": server.base,
                      "SLATE_WORKER_TOKEN": server.tokens["gpu-worker"],
                      # the bundled model is attested: a worker checks Slate's signature over its files
                      "SLATE_MODEL_SIGNING_PUBLIC_KEY": str(settings.keys_dir / PUBLIC_KEY_FILE)}
        enrol_worker(tmp_path, worker_env, env)
        worker = start_worker(tmp_path, worker_env)
        producer = server.client("pat-producer")
        body = {"production": "harbour-lights", "use": "previs", "territory": "FR", "model": "slate-studio:1",
                "prompt": "a small amber square bottom left, slate studio style",
                "params": {"seed": 3, "steps": 4, "width": 64, "height": 64}}
        created = producer.call("POST", "/api/v1/requests", json_body=body)
        assert created.status == 201, created.body
        rid = created.json()["request"]["id"]

        def done():
            view = producer.call("GET", f"/api/v1/requests/{rid}").json()
            return view if view["status"] in ("succeeded", "failed") else None
        view = wait_for(done, timeout=180)
        assert view["status"] == "succeeded", view
        image = producer.call("GET", f"/api/v1/outputs/{view['job']['output_sha256']}/image").body
        verdict = server.client("aud-auditor").call("POST", "/api/v1/verify", files={"file": ("o.png", image)}).json()
        assert verdict["outcome"] == "verified", verdict
        assert view["job"]["worker"] == "gpu-worker"
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=20)
        server.stop()

"""No response, log line, error or credential carries a private key, a token or a prompt,
even with every logger at DEBUG."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from governance.ledger.tables import Output
from tests.api.conftest import auth
from tests.api.test_flow import png, sign, studio  # noqa: F401  (fixture)

PROMPT = "INT. LIGHTHOUSE - NIGHT: Mara reads the letter aloud, confidential draft 7"


def private_key_material(keys_dir: Path) -> list[str]:
    """The base64 body lines of every private key file: none may appear anywhere."""
    lines = []
    for path in keys_dir.rglob("*.key.pem"):
        lines += [line for line in path.read_text().splitlines() if line and not line.startswith("-----")]
    return lines


def test_flow_leaks_no_secret_anywhere(app, client, studio, caplog):
    caplog.set_level(logging.DEBUG)
    t = studio.tokens
    seen: list[bytes] = []

    def keep(response):
        seen.append(response.get_data())
        return response

    created = keep(client.post("/api/v1/requests", headers=auth(t["pat-producer"]), json={
        "production": "harbour-lights", "use": "previs", "territory": "GB", "model": "slate-studio:1",
        "prompt": PROMPT}))
    job_id = created.json["job"]["id"]
    keep(client.get(f"/api/v1/requests/{created.json['request']['id']}", headers=auth(t["pat-producer"])))
    keep(client.get("/api/v1/requests", headers=auth(t["aud-auditor"])))
    signed = keep(sign(client, t["gpu-worker"], job_id))
    sha = signed.json["sha256"]
    image = keep(client.get(f"/api/v1/outputs/{sha}/image", headers=auth(t["pat-producer"])))
    keep(client.post("/api/v1/verify", headers=auth(t["aud-auditor"]), content_type="multipart/form-data",
                     data={"file": (io.BytesIO(image.data), "x.png")}))
    # error paths: wrong token, bad body, a refusal, a conflict
    keep(client.get("/api/v1/people", headers=auth(t["pat-producer"] + "x")))
    keep(client.post("/api/v1/requests", headers=auth(t["pat-producer"]), json={"prompt": PROMPT, "use": 3}))
    keep(client.post("/api/v1/requests", headers=auth(t["pat-producer"]), json={
        "production": "harbour-lights", "use": "previs", "territory": "GB", "model": "nope:1", "prompt": PROMPT}))
    keep(client.post(f"/api/v1/requests/{created.json['request']['id']}/approval", headers=auth(t["ada-approver"]),
                     json={"verdict": "approved"}))

    settings = app.config["SLATE_SETTINGS"]
    stored = Path(Output.get(Output.sha256 == sha).file_path).read_bytes()
    haystacks = {"responses": b"\n".join(seen), "logs": caplog.text.encode(), "signed file": stored}
    needles = {"prompt": [PROMPT.encode()], "tokens": [tok.encode() for tok in t.values()],
               "private keys": [line.encode() for line in private_key_material(settings.keys_dir)]}
    assert needles["private keys"], "the test must see the key material it looks for"
    for where, hay in haystacks.items():
        for what, items in needles.items():
            assert not any(item in hay for item in items), f"{what} found in {where}"
    # the job specification is the one place the prompt goes, and only while the job is open:
    # once signed, even its own worker is refused it, and the refusal does not carry it
    spec = client.get(f"/api/v1/jobs/{job_id}/spec", headers=auth(t["gpu-worker"]))
    assert spec.status_code == 409 and "already succeeded" in spec.json["detail"], spec.json
    assert PROMPT not in spec.get_data(as_text=True)


def test_no_value_carrying_a_prompt_shows_it_in_its_repr():
    from governance.lifecycle.params import GenerationParams
    from governance.lifecycle.requests import Submission
    from governance.policy.registry_facts import RequestSpec
    secret = "the-confidential-prompt-text"
    submission = Submission("harbour-lights", "previs", "GB", "studio:1", secret, (), (), GenerationParams())
    for value in (submission, submission.spec("pat-producer"), RequestSpec("pat", "p", "previs", "GB", "m:1", secret)):
        assert secret not in repr(value) and secret not in str(value)

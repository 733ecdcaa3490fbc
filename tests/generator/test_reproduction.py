"""The reproduction audit against the real API: an output the real worker made with the micro
model and signed is made again by the generator in this process and compared with the
ledger's pixels. Identical pixels are ``reproduced``; a ledger row pointed at another signed
image by a database edit ``differs``, and the output loses its good standing in
``/api/v1/verify`` with the reason legal and auditors read. Only legal and auditors may ask;
the prompt appears nowhere in what comes back."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

import pytest

from generator.service import process_job, reproduction_options
from governance.audit.tables import AuditEntry
from governance.ledger.tables import Output, Reproduction
from governance.lifecycle import reproduction
from tests import workers
from tests.api.conftest import auth

from .live import PROMPT, queued_job


def signed_output(live, client, studio, cache, seed: int = 3) -> Output:
    """A job queued through the API, run and signed by the real worker over HTTP."""
    job_id = queued_job(client, studio.tokens["pat-producer"], seed=seed)
    token = studio.tokens["gpu-worker"]
    key_dir = workers.enrolled_key_dir(token, Path(tempfile.mkdtemp(prefix="slate-worker-")))
    result = process_job(job_id, api_url=live.url, token=token, key_dir=key_dir, cache=cache)
    assert result["status"] == "succeeded", result
    return Output.get(Output.job_id == job_id)


def reproduce(client, token: str, sha256: str):
    return client.post(f"/api/v1/outputs/{sha256}/reproduce", headers=auth(token))


def verify(client, token: str, data: bytes):
    return client.post("/api/v1/verify", headers=auth(token), content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "out.png", "image/png")})


@pytest.mark.slow
def test_an_output_of_the_model_reproduces_bit_identically_on_the_same_machine(live, client, studio, cache):
    output = signed_output(live, client, studio, cache)
    answer = reproduce(client, studio.tokens["aud-auditor"], output.sha256)
    assert answer.status_code == 200, answer.json
    assert answer.json["verdict"] == "reproduced" and answer.json["distance"] == 0.0
    # the generator's PNG bytes are the very bytes the worker's receipt stated
    assert answer.json["png_identical"] is True and answer.json["file_matches_ledger"] is True
    assert (answer.json["job_id"], answer.json["worker"]) == (output.job_id, "gpu-worker")
    assert PROMPT not in answer.get_data(as_text=True)
    entry = AuditEntry.select().where(AuditEntry.action == "output.reproduction_audited").get()
    assert entry.subject == f"output:{output.sha256}" and PROMPT not in json.dumps(entry.data)
    assert entry.data["verdict"] == "reproduced" and entry.data["worker"] == "gpu-worker"
    assert verify(client, studio.tokens["aud-auditor"], Path(output.file_path).read_bytes()).json["outcome"] \
        == "verified"


@pytest.mark.slow
def test_a_ledger_row_pointed_at_other_pixels_differs_and_loses_its_good_standing(live, client, studio, cache):
    output = signed_output(live, client, studio, cache, seed=3)
    other = signed_output(live, client, studio, cache, seed=4)
    signed = Path(output.file_path).read_bytes()
    # a database edit: the ledger row now points at another signed image of the same model
    Output.update(file_path=other.file_path).where(Output.sha256 == output.sha256).execute()
    answer = reproduce(client, studio.tokens["lee-legal"], output.sha256)
    assert answer.status_code == 200, answer.json
    assert answer.json["verdict"] == "differs" and answer.json["distance"] > reproduction.CLOSE_AT_MOST
    assert answer.json["file_matches_ledger"] is False and PROMPT not in answer.get_data(as_text=True)
    row = Reproduction.get(Reproduction.output_sha256 == output.sha256)
    assert (row.verdict, row.job_id, row.worker, row.requested_by) == ("differs", output.job_id, "gpu-worker",
                                                                      "lee-legal")
    verdict = verify(client, studio.tokens["aud-auditor"], signed).json
    assert verdict["outcome"] == "revoked" and verdict["checks"]["standing"]["status"] == "fail"
    assert any("reproduction audit" in r and output.job_id in r for r in verdict["checks"]["standing"]["reasons"])
    # the other output is untouched
    assert verify(client, studio.tokens["aud-auditor"], Path(other.file_path).read_bytes()).json["outcome"] \
        == "verified"


@pytest.mark.slow
def test_only_legal_and_auditors_may_ask_and_a_hostile_sha_is_a_4xx(live, client, studio, cache):
    output = signed_output(live, client, studio, cache)
    for who in ("pat-producer", "gpu-worker", "ada-approver"):
        assert reproduce(client, studio.tokens[who], output.sha256).status_code in (403, 404), who
    for hostile in ("x" * 64, "../../etc/passwd", output.sha256[:-1], "%00" + output.sha256[1:], "a" * 400):
        answer = reproduce(client, studio.tokens["aud-auditor"], hostile)
        assert 400 <= answer.status_code < 500, (hostile, answer.status_code)
        assert "passwd" not in answer.get_data(as_text=True)
    assert reproduce(client, studio.tokens["aud-auditor"], "0" * 64).status_code == 404
    assert Reproduction.select().count() == 0


def test_the_recorded_environment_decides_how_the_model_is_loaded_again():
    cpu = {"device": {"type": "cpu"}, "dtype": "float32", "torch_threads": 1, "options": {"attention": "eager"}}
    assert reproduction_options(cpu).to_dict() | {"lora": []} == {
        "device": "cpu", "dtype": "float32", "attention": "eager", "compile": False, "cpu_offload": False,
        "threads": 1, "batch_size": 1, "lora": []}
    elsewhere = reproduction_options({"device": {"type": "tpu"}, "dtype": "float16"})
    assert (elsewhere.device, elsewhere.dtype, elsewhere.threads) == ("auto", "auto", None)


def test_compare_names_identical_close_and_different_pixels():
    from PIL import Image

    def png(colour: tuple[int, int, int], size: tuple[int, int] = (8, 8)) -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", size, colour).save(buffer, format="PNG")
        return buffer.getvalue()

    assert reproduction.compare(png((10, 10, 10)), png((10, 10, 10))).verdict == "reproduced"
    close = reproduction.compare(png((10, 10, 10)), png((11, 12, 10)))
    assert (close.verdict, close.distance) == ("close", 1.0)
    assert reproduction.compare(png((10, 10, 10)), png((90, 10, 10))).verdict == "differs"
    assert reproduction.compare(png((10, 10, 10)), png((10, 10, 10), (16, 8))).verdict == "differs"
    assert reproduction.compare(None, png((10, 10, 10))).verdict == "differs"
    assert reproduction.compare(b"not an image", png((10, 10, 10))).verdict == "differs"


@pytest.mark.slow
def test_slate_output_reproduce_answers_as_the_api_does_and_exits_1_on_differs(live, client, studio, cache,
                                                                                 settings):
    import click
    from click.testing import CliRunner

    from governance.cli import SlateContext, SlateGroup
    from governance.cli.outputs import commands

    @click.group(cls=SlateGroup)
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        ctx.obj = SlateContext(settings)

    for command in commands:
        cli.add_command(command)

    def run(*args: str):
        return CliRunner().invoke(cli, ["output", "reproduce", *args])

    output = signed_output(live, client, studio, cache)
    done = run(output.sha256, "--by", "aud-auditor", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["verdict"] == "reproduced" and PROMPT not in done.output
    text = run(output.sha256.upper(), "--by", "lee-legal")
    assert text.exit_code == 0 and text.stdout.startswith("reproduced (distance 0.0)"), text.output
    refused = run(output.sha256, "--by", "pat-producer")
    assert refused.exit_code != 0 and Reproduction.select().count() == 2
    Path(output.file_path).write_bytes(Path(signed_output(live, client, studio, cache, seed=5).file_path)
                                       .read_bytes())  # the stored file overwritten
    differs = run(output.sha256, "--by", "aud-auditor", "--json")
    assert differs.exit_code == 1 and json.loads(differs.stdout)["verdict"] == "differs"

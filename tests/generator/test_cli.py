import json

from click.testing import CliRunner

from generator.cli import build_bundled_command, subcommands
from governance.cli import SlateContext


def test_build_bundled_command_trains_registers_and_prints_json(settings):
    result = CliRunner().invoke(
        build_bundled_command,
        ["--steps", "1", "--autoencoder-steps", "1", "--threads", "1", "--quiet", "--json"],
        obj=SlateContext(settings))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["model"] == "slate-studio:1" and len(summary["weights_hash"]) == 64
    assert summary["training"]["images"] == 64
    assert build_bundled_command in subcommands["model"]

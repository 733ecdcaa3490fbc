"""deploy/'s systemd units and compose file run exactly the commands reliability/fleet.py runs,
which tests/e2e/test_fleet.py starts on loopback: the deployment an operator adapts is the
one tested. Their examples commit no secret, and name only variables Slate reads."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

import governance.settings
from reliability import fleet

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
#: each unit or compose variable standing for a template field of fleet's commands
FIELDS = {"API_BIND": "{bind}", "API_THREADS": "{threads}", "REQUEUE_AFTER": "{requeue_after}"}
#: the production setup seeds no demo studio; the loopback fleet does (its tokens drive the test)
SETUP = (*fleet.SETUP_COMMAND, "--no-demo")
EXPECTED = {"slate-api@.service": fleet.API_COMMAND, "slate-worker@.service": fleet.WORKER_COMMAND,
            "slate-housekeeping.service": fleet.HOUSEKEEPING_COMMAND, "slate-setup.service": SETUP}
SERVICES = {"api": fleet.API_COMMAND, "worker-1": fleet.WORKER_COMMAND, "worker-2": fleet.WORKER_COMMAND,
            "housekeeping": fleet.HOUSEKEEPING_COMMAND, "setup": SETUP}


def as_template(argv: list[str]) -> tuple[str, ...]:
    """A deployed command line as a fleet template: the program by its name, ${VAR} (with or
    without a compose default) as the field it stands for."""
    def field(word: str) -> str:
        for name, placeholder in FIELDS.items():
            word = re.sub(r"\$\{" + name + r"(:-[^}]*)?\}", placeholder, word)
        return word
    return (Path(argv[0]).name, *map(field, argv[1:]))


def exec_start(unit: Path) -> list[str]:
    lines = [line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith("ExecStart=")]
    assert len(lines) == 1, unit
    # systemd writes a literal % as %% (a lone % starts a specifier such as %i)
    return shlex.split(lines[0].replace("%%", "%"))


@pytest.mark.parametrize("unit", sorted(EXPECTED))
def test_each_systemd_unit_runs_the_command_the_loopback_fleet_runs(unit):
    assert as_template(exec_start(DEPLOY / "systemd" / unit)) == EXPECTED[unit]


def test_each_compose_service_runs_the_command_the_loopback_fleet_runs():
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name, expected in SERVICES.items():
        assert as_template(services[name]["command"]) == expected, name


def test_the_api_processes_share_one_session_key_and_the_workers_hold_no_server_secret():
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    for name in ("api", "housekeeping", "setup"):
        assert services[name]["environment"]["SLATE_SECRET_KEY"].startswith("${SLATE_SECRET_KEY")
    for name in ("worker-1", "worker-2"):
        env = services[name]["environment"]
        assert not {"SLATE_DATABASE_URL", "SLATE_SECRET_KEY", "SLATE_KEYS_DIR"} & set(env), name
        assert not any("keys" in volume for volume in services[name]["volumes"]), name
    worker_env = (DEPLOY / "worker.env.example").read_text()
    assert "SLATE_DATABASE_URL" not in worker_env and "SLATE_SECRET_KEY" not in worker_env


def test_the_examples_commit_no_secret_and_name_only_variables_slate_reads():
    read = set(re.findall(r'"(SLATE_[A-Z_]+)"', Path(governance.settings.__file__).read_text()))
    secrets = ("SLATE_SECRET_KEY", "SLATE_WORKER_TOKEN", "POSTGRES_PASSWORD", "WORKER_1_TOKEN", "WORKER_2_TOKEN")
    for example in ("slate.env.example", "worker.env.example", "compose.env.example"):
        values = dict(line.split("=", 1) for line in (DEPLOY / example).read_text().splitlines()
                      if line and not line.startswith("#"))
        for name, value in values.items():
            if name in secrets:
                assert value == "CHANGE-ME", (example, name)
            if name.startswith("SLATE_"):
                assert name in read, (example, name)


def test_the_operations_guide_documents_the_same_commands():
    guide = (DEPLOY.parent / "docs" / "operations.md").read_text()
    section = guide.split("## Scale-out", 1)[1].split("\n## ", 1)[0]
    rows = [re.match(r"\| [^|]+ \| `([^`]+)` \|", line) for line in section.splitlines()]
    documented = {as_template(shlex.split(row.group(1))) for row in rows if row}
    assert documented == set(EXPECTED.values())

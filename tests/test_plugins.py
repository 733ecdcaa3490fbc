"""Parts that plug in through entry points: absent ones are simply missing, broken ones say so."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from governance import plugins
from governance.errors import ConfigurationError

GROUP = "slate.test-plugins"


@pytest.fixture
def declare(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Declare entry points in GROUP, with their modules' sources written to a folder on the path."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def declare_(points: dict[str, str], modules: dict[str, str] | None = None) -> None:
        for name, source in (modules or {}).items():
            (tmp_path / f"{name}.py").write_text(source)
        declared = [EntryPoint(name, value, GROUP) for name, value in points.items()]
        monkeypatch.setattr(plugins, "entry_points",
                            lambda group: [p for p in declared if p.group == group])
    return declare_


def test_a_part_whose_module_is_not_installed_is_simply_absent(declare) -> None:
    declare({"here": "slate_plugin_here:run", "gone": "slate_plugin_not_installed:run"},
            {"slate_plugin_here": "def run():\n    return 'ran'\n"})
    assert [f() for f in plugins.load_plugins(GROUP)] == ["ran"]


def test_no_part_installed_is_a_configuration_error_saying_what_to_install(declare) -> None:
    declare({"gone": "slate_plugin_not_installed:run"})
    with pytest.raises(ConfigurationError) as raised:
        plugins.load_plugin(GROUP, "running a generation job")
    assert "running a generation job needs Slate's generator" in raised.value.diagnostics()
    assert "pip install 'slate[generator]'" in raised.value.diagnostics()


def test_a_part_missing_what_it_needs_names_it(declare) -> None:
    declare({"worker": "slate_plugin_needs_torch:run"},
            {"slate_plugin_needs_torch": "import slate_no_such_gpu_stack\n"})
    with pytest.raises(ModuleNotFoundError):
        plugins.load_plugins(GROUP)  # a broken command module must not silently disappear
    with pytest.raises(ConfigurationError) as raised:
        plugins.load_plugin(GROUP, "training the bundled model")
    assert "training the bundled model needs 'slate_no_such_gpu_stack'" in raised.value.diagnostics()


def test_a_part_that_fails_for_another_reason_raises(declare) -> None:
    declare({"broken": "slate_plugin_broken:run"}, {"slate_plugin_broken": "raise RuntimeError('broken')\n"})
    with pytest.raises(RuntimeError, match="broken"):
        plugins.load_plugins(GROUP)


def test_building_the_bundled_model_without_torch_is_a_one_line_error(monkeypatch, tmp_path) -> None:
    """The generator package is installed with Slate, torch only with its extra: the command is
    listed everywhere and, where torch is absent, says what to install instead of a traceback.
    (torch's absence is simulated: None in sys.modules makes its import fail as on an API host.)"""
    import sys

    from click.testing import CliRunner

    from governance.cli import cli
    for name in [m for m in sys.modules if m == "torch" or m.startswith(("torch.", "diffusers", "generator.bundled",
                                                                           "generator.training"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setenv("SLATE_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["model", "build-bundled", "--quiet"])
    assert result.exit_code == ConfigurationError.exit_code, result.output
    assert "building the bundled model needs 'torch', which is not installed here" in result.output
    assert "pip install 'slate[generator]'" in result.output and "Traceback" not in result.output

"""The shape of the project that other tooling and hosts rely on."""

import ast
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import click

REPO = Path(__file__).resolve().parent.parent

BLOCK_GPU_STACK = r"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {'torch', 'diffusers', 'transformers', 'generator'}:
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
sys.meta_path.insert(0, Block())
import click, pkgutil, importlib, governance
for mod in pkgutil.walk_packages(governance.__path__, 'governance.'):
    if not mod.name.endswith(('__main__', '.wsgi')):
        importlib.import_module(mod.name)
from governance.cli import cli
from governance.errors import ConfigurationError
from governance.jobs.queue import WORKER_GROUP
from governance.plugins import load_plugin
names = cli.list_commands(click.Context(cli))
assert 'build-bundled' not in cli.commands['model'].commands, 'a generator command without the generator'
try:
    load_plugin(WORKER_GROUP, 'running a generation job')
except ConfigurationError as exc:
    assert "pip install 'slate[generator]'" in exc.diagnostics(), exc.diagnostics()
else:
    raise AssertionError('a worker without the generator')
print('ok', len(names))
"""

#: A generator module named in a string: ``"generator.service"``, ``"generator.cli:main"``.
GENERATOR_MODULE_NAME = re.compile(r"generator(\.\w+)+(:\w+)?")
IMPORTERS = {"import_module", "__import__", "optional_import", "find_spec", "load_plugin"}


def test_governance_imports_without_torch_or_diffusers():
    """API hosts carry no GPU stack: every governance module must import without it."""
    result = subprocess.run([sys.executable, "-c", BLOCK_GPU_STACK], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


def _string_imports_of_the_generator(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and GENERATOR_MODULE_NAME.fullmatch(node.value.strip()):
            found.append(node.value)
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and getattr(node.func, "attr", getattr(node.func, "id", None)) in IMPORTERS \
                and str(node.args[0].value).split(".")[0] == "generator":
            found.append(str(node.args[0].value))
    return found


def test_no_governance_source_names_a_generator_module_in_a_string():
    """The import contract cannot see ``importlib.import_module("generator.x")``: this can.
    The generator plugs in through entry points (pyproject.toml), which governance loads
    by group, never by a module name."""
    offenders = {str(p.relative_to(REPO)): found for p in (REPO / "governance").rglob("*.py")
                 if (found := _string_imports_of_the_generator(p.read_text()))}
    assert offenders == {}


def test_the_string_import_check_catches_each_way_of_naming_the_generator():
    for source in ('importlib.import_module("generator.service")', 'MODULES = ["generator.cli"]',
                   '__import__("generator")', 'WORKER = "generator.service:process_job"'):
        assert _string_imports_of_the_generator(source), source
    assert not _string_imports_of_the_generator('ROLE = "generator"\n"""see ``generator.signing``."""')


def test_the_generator_plugs_in_through_entry_points():
    """The installed distribution declares what governance loads by group."""
    declared = {group: {point.value for point in entry_points(group=group)}
                for group in ("slate.commands", "slate.worker", "slate.bundled_model")}
    assert declared == {"slate.commands": {"generator.cli"},
                        "slate.worker": {"generator.service:process_job"},
                        "slate.bundled_model": {"generator.bundled"}}
    from governance.cli import cli
    model = cli.get_command(click.Context(cli), "model")
    assert isinstance(model, click.Group) and "build-bundled" in model.commands


def test_no_governance_source_imports_the_gpu_stack():
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "governance").rglob("*.py")
                 if any(line.lstrip().startswith(("import torch", "from torch", "import diffusers",
                                                  "from diffusers", "from generator", "import generator"))
                        for line in p.read_text().splitlines())]
    assert offenders == []


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith("#")]
    assert ci[-1].strip() in readme


def test_core_dependencies_leave_the_gpu_stack_to_the_generator_extra():
    import tomllib
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert "torch" not in core and "diffusers" not in core
    assert any(d.startswith("torch==") for d in project["optional-dependencies"]["generator"])

"""The shape of the project that other tooling and hosts rely on."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

BLOCK_GPU_STACK = r"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split('.')[0] in {'torch', 'diffusers', 'transformers', 'generator'}:
            raise ModuleNotFoundError(f'No module named {name!r}', name=name)
sys.meta_path.insert(0, Block())
import pkgutil, importlib, governance
for mod in pkgutil.walk_packages(governance.__path__, 'governance.'):
    if not mod.name.endswith(('__main__', '.wsgi')):
        importlib.import_module(mod.name)
from governance.cli import cli
print('ok', len(cli.commands))
"""


def test_governance_imports_without_torch_or_diffusers():
    """API hosts carry no GPU stack: every governance module must import without it."""
    result = subprocess.run([sys.executable, "-c", BLOCK_GPU_STACK], capture_output=True, text=True,
                            cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


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

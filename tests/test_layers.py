"""The layer contract (pyproject ``[tool.importlinter]``) holds, and breaks on an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run ``lint-imports`` on the copy of the package in ``tree``."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(tree / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package and its pyproject, to add imports to."""
    shutil.copytree(
        ROOT / "audit", tmp_path / "audit", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def _add_import(tree: Path, module: str, imported: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text() + f"\nimport {imported}  # noqa: E402\n")


def test_the_tree_keeps_the_contract(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "imported"),
    [
        ("audit.model.results", "audit.advisor"),
        ("audit.catalogue", "audit.checks"),
        ("audit.gitdir", "audit.environment.installation"),
        ("audit.checks.interface", "audit.policy"),
        ("audit.registry.mirror", "audit.dependencies"),
        ("audit.report.tables", "audit.pipeline"),
        ("audit.pipeline", "audit.cli"),
        ("audit.inputs", "audit.cli.core"),
        ("audit.fleet.runs", "audit.mirroring"),
    ],
)
def test_an_upward_import_breaks_the_contract(tree: Path, module: str, imported: str) -> None:
    _add_import(tree, module, imported)
    result = _lint(tree)
    assert result.returncode == 1, result.stdout
    assert "Contracts: 0 kept, 1 broken." in result.stdout
    assert f"{module} -> {imported}" in result.stdout


def test_siblings_may_import_each_other(tree: Path) -> None:
    _add_import(tree, "audit.policy.model", "audit.report")
    _add_import(tree, "audit.environment.profile", "audit.registry")
    assert _lint(tree).returncode == 0


def test_a_new_top_level_module_must_be_given_a_layer(tree: Path) -> None:
    (tree / "audit" / "stray.py").write_text("")
    result = _lint(tree)
    assert result.returncode == 1
    assert "audit.stray" in result.stdout

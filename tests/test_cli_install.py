"""End-to-end tests of auditing an install in place: `scan`, `run --comfyui`, `env --comfyui`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.environment.test_interpreter import clone_venv, make_venv
from tests.registry_server import node_version_record

KJNODES = """\
[project]
name = "ComfyUI-KJNodes"
version = "1.1.2"
classifiers = ["Operating System :: OS Independent", "Environment :: GPU :: NVIDIA CUDA"]
[tool.comfy]
requires-comfyui = ">=0.3.0"
"""
IMPACT = '[project]\nname = "comfyui-impact-pack"\nversion = "8.8.1"\n'
WINDOWS_ONLY = """\
[project]
name = "comfyui-winonly"
version = "0.1.0"
classifiers = ["Operating System :: Microsoft :: Windows"]
"""
BROKEN = '[project]\nname = "comfyui-broken"\n<<<<<<< HEAD\nversion = "1.0.0"\n'
RECORDS = [
    node_version_record("comfyui-kjnodes", "1.1.2", supported_comfyui_version=">=0.3.0"),
    node_version_record("comfyui-impact-pack", "8.8.1", supported_comfyui_version=">=0.3.0,<0.4.0"),
    node_version_record("comfyui-logic", "1.0.0", status="NodeVersionStatusBanned"),
]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        check=True,
    )


def pack(root: Path, name: str, pyproject: str | None, *marks: str) -> Path:
    folder = root / "custom_nodes" / name
    folder.mkdir(parents=True)
    if pyproject is not None:
        (folder / "pyproject.toml").write_text(pyproject)
    for mark in marks:
        (folder / mark).write_text("__init__.py\nnodes.py")
    (folder / "__init__.py").write_text("raise SystemExit('pack code must never run')\n")
    return folder


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / "venv")


@pytest.fixture
def install(tmp_path: Path, base_venv: Path) -> Path:
    """A realistic install: registry, nightly git, local, disabled, broken and file packs."""
    return make_install(tmp_path, base_venv)


def make_install(tmp_path: Path, base_venv: Path) -> Path:
    """Build the install of `install` under ``tmp_path``, its venv beside it."""
    root = tmp_path / "ComfyUI"
    root.mkdir()
    (root / "comfyui_version.py").write_text('__version__ = "0.3.40"\n')
    (root / "requirements.txt").write_text("torch\ncomfyui-frontend-package==1.20.5\n")
    pack(root, "ComfyUI-KJNodes", KJNODES, ".tracking")
    pack(root, "comfyui-impact-pack", IMPACT)  # no .tracking: a Docker image
    winonly = pack(root, "ComfyUI-WinOnly", WINDOWS_ONLY)
    git(winonly, "init", "-q", "-b", "main")
    git(winonly, "add", ".")
    git(winonly, "commit", "-q", "-m", "x")
    git(winonly, "remote", "add", "origin", "https://github.com/someone/ComfyUI-WinOnly.git")
    pack(root, ".disabled/comfyui-logic@1_0_0", None)
    pack(root, "broken-pack", BROKEN, ".tracking")
    (root / "custom_nodes" / "websocket_image_save.py").write_text("x = 1\n")
    clone_venv(base_venv, root / "venv")
    return root


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_scan_prints_a_manifest(install: Path) -> None:
    result = invoke("scan", install, "--host", "render-01")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    winonly = next(line for line in lines if line.startswith("comfyui-winonly@"))
    assert lines == [
        "comfyui-kjnodes@1.1.2",
        winonly,
        "broken-pack  # registry, problem: pyproject.toml has unresolved merge-conflict"
        " markers (at line 3)",
        "comfyui-impact-pack@8.8.1  # local",
        "websocket_image_save  # file",
        "comfyui-logic  # file, disabled",
    ]
    assert winonly.endswith("  # git https://github.com/someone/ComfyUI-WinOnly.git")


def _nodes(out: Path) -> list[tuple[object, ...]]:
    (run_dir,) = out.iterdir()
    frame = pd.read_parquet(run_dir / "nodes.parquet")
    columns = ["host", "node_id", "version", "disabled", "url", "hash"]
    return sorted(tuple(row) for row in frame[columns].itertuples(index=False))


def test_run_in_place_and_the_snapshot_round_trip(install: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    snapshot = tmp_path / "render-01.json"
    assert invoke("scan", install, "-o", snapshot, "--host", "render-01").exit_code == 0
    machine = ["--os", "linux", "--accelerator", "cuda", "--registry", mirror, "-q"]
    in_place = invoke(
        "run", "--comfyui", install, "--host", "render-01", "-o", tmp_path / "a", *machine
    )
    from_snapshot = invoke("run", snapshot, "-o", tmp_path / "b", *machine)
    assert in_place.exit_code == from_snapshot.exit_code == 1
    assert _nodes(tmp_path / "a") == _nodes(tmp_path / "b")


def test_run_in_place_checks_what_the_install_says(install: Path, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    out = tmp_path / "out"
    result = invoke(
        "run", "--comfyui", install, "--registry", mirror, "-o", out, "--os", "linux",
        "--accelerator", "cuda", "--target-comfyui", "0.4.0", "--host", "render-01", "-q",
    )  # fmt: skip
    assert result.exit_code == 1
    (run_dir,) = out.iterdir()
    findings = pd.read_parquet(run_dir / "findings.parquet")
    rows = sorted(
        zip(findings.node_id, findings.check, findings.severity.astype(str), findings.source,
            findings["when"], strict=True)
    )  # fmt: skip
    assert rows == [
        ("broken-pack", "manifest.broken-pack", "error", "local", "now"),
        ("comfyui-impact-pack", "comfyui.incompatible", "error", "registry", "after-upgrade"),
        ("comfyui-logic", "registry.not-registry", "info", "manifest", "now"),
        ("comfyui-winonly", "os.unsupported", "error", "local", "now"),
        ("comfyui-winonly", "registry.nightly", "info", "manifest", "now"),
        ("websocket_image_save", "registry.not-registry", "info", "manifest", "now"),
    ]
    document = json.loads((run_dir / "run.json").read_text())
    host = document["hosts"]["render-01"]
    assert (host["comfyui_version"], host["frontend_version"]) == ("0.3.40", "1.20.5")
    assert (host["sources"]["comfyui_version"], host["sources"]["frontend_version"]) == (
        "comfyui_version.py",
        "requirements.txt pin",
    )
    assert host["installed"] == {}


def test_env_describes_the_install(install: Path, tmp_path: Path) -> None:
    result = invoke("env", "--comfyui", install, "--os", "linux")
    assert result.exit_code == 0
    profile = json.loads(result.stdout)
    assert profile["comfyui_version"] == "0.3.40"
    assert profile["installed_source"] == f"site-packages of {install / 'venv'}"
    assert profile["installed_partial"] is False


def test_run_needs_a_manifest_or_an_install() -> None:
    result = invoke("run")
    assert result.exit_code == 2
    assert "give one or more MANIFEST files, or --comfyui PATH" in result.stderr


def test_not_an_install(tmp_path: Path) -> None:
    result = invoke("scan", tmp_path)
    assert (result.exit_code, result.stderr) == (
        2,
        f"comfy-audit: error: {tmp_path}: not a ComfyUI install: no custom_nodes folder\n",
    )


def test_a_yaml_snapshot_holds_what_the_json_one_does(install: Path, tmp_path: Path) -> None:
    as_json, as_yaml = tmp_path / "render-01.json", tmp_path / "render-01.yaml"
    for path in (as_json, as_yaml):
        result = invoke("scan", install, "-o", path, "--host", "render-01")
        assert (result.exit_code, result.stderr) == (0, f"wrote 6 packs to {path}\n")
    assert yaml.safe_load(as_yaml.read_text()) == {"custom_nodes": json.loads(as_json.read_text())}

"""The scan round trip: `run --comfyui` on an install gives the findings that `scan -o` and
`env -o` on it, then `run SNAPSHOT --env-profile PROFILE` elsewhere, give (issue 12, item 11)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.cli import cli
from tests.environment.test_interpreter import clone_venv, make_venv, site_packages, write_dist
from tests.manifest.test_install import every_kind
from tests.manifest.test_render import small_install
from tests.registry_server import node_version_record
from tests.test_cli_install import make_install

RECORDS = [
    node_version_record("comfyui-kjnodes", "1.1.2", supported_comfyui_version=">=0.3.0"),
    node_version_record("comfyui-impact-pack", "8.8.1", supported_comfyui_version="<0.3.0"),
    node_version_record("comfyui-impact-pack", "8.22.2", dependencies=["scipy<1.0"]),
    node_version_record("comfyui-logic", "1.0.0", status="NodeVersionStatusBanned"),
    node_version_record("comfyui-dyn", "2.3.10", supported_os=["Microsoft :: Windows"]),
    node_version_record("local-pack", "0.2.0", deprecated=True),
]
MACHINE = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40"]

Build = Callable[[Path, Path], Path]


def _every_kind(tmp_path: Path, venv: Path) -> Path:
    root = tmp_path / "ComfyUI"
    every_kind(root)
    return root


def _small(tmp_path: Path, venv: Path) -> Path:
    return small_install(tmp_path / "ComfyUI")


def _with_packages(tmp_path: Path, venv: Path) -> Path:
    """The realistic install, its venv holding packages some packs' requirements reject."""
    root = make_install(tmp_path, venv)
    where = site_packages(root / "venv")
    for name, version in (("scipy", "1.11.4"), ("numpy", "2.1.0"), ("setuptools", "69.0.0")):
        write_dist(where, name, version)
    requirements = "numpy<2\nscipy>=1.11\nsetuptools>=70\nmissing-dist\n"
    (root / "custom_nodes" / "ComfyUI-WinOnly" / "requirements.txt").write_text(requirements)
    (root / "custom_nodes" / "ComfyUI-KJNodes" / "requirements.txt").write_text("numpy>=2\n")
    return root


INSTALLS: dict[str, Build] = {
    "realistic": make_install,
    "with-packages": _with_packages,
    "every-kind": _every_kind,
    "small": _small,
}


@pytest.fixture(scope="module")
def base_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_venv(tmp_path_factory.mktemp("venv") / "venv")


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def findings(out: Path) -> list[tuple[object, ...]]:
    (run_dir,) = out.iterdir()
    frame = pd.read_parquet(run_dir / "findings.parquet").drop(columns="run_id")
    frame = frame.astype(object).where(frame.notna(), None)
    return sorted(frame.itertuples(index=False, name=None), key=repr)


@pytest.mark.parametrize("build", INSTALLS.values(), ids=INSTALLS.keys())
def test_scan_and_env_elsewhere_is_the_same_audit(
    tmp_path: Path, base_venv: Path, build: Build
) -> None:
    install = build(tmp_path, base_venv)
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    common = ["--registry", mirror, "--host", "render-01", "-q", "--no-advice"]
    in_place = invoke("run", "--comfyui", install, *MACHINE, *common, "-o", tmp_path / "a")
    snapshot, profile = tmp_path / "snapshot.json", tmp_path / "profile.json"
    assert invoke("scan", install, "-o", snapshot).exit_code == 0
    assert invoke("env", "--comfyui", install, *MACHINE, "-o", profile).exit_code == 0
    elsewhere = invoke("run", snapshot, "--env-profile", profile, *common, "-o", tmp_path / "b")
    assert in_place.exit_code == elsewhere.exit_code
    assert findings(tmp_path / "a") == findings(tmp_path / "b")
    assert findings(tmp_path / "a")  # NOTE: the installs are built to have findings to lose.


def test_the_snapshot_leaves_out_what_pip_freeze_leaves_out(
    tmp_path: Path, base_venv: Path
) -> None:
    install = _with_packages(tmp_path, base_venv)
    snapshot = tmp_path / "snapshot.json"
    assert invoke("scan", install, "-o", snapshot).exit_code == 0
    written = json.loads(snapshot.read_text())
    assert written["pips"] == {"numpy==2.1.0": "", "scipy==1.11.4": ""}
    assert written["pack_requirements"]["comfyui-kjnodes"] == ["numpy>=2"]
    assert written["pack_declared"]["comfyui-kjnodes"] == {
        "supported_comfyui_version": ">=0.3.0",
        "supported_comfyui_frontend_version": None,
        "supported_os": ["OS Independent"],
        "supported_accelerators": ["GPU :: NVIDIA CUDA"],
        "dependencies": None,
    }


PACK_NAMES = [
    "comfyui-kjnodes",
    "comfyui-impact-pack",
    "ComfyUI-Thing",
    "local-pack",
    "comfyui-dyn",
]
REQUIREMENTS = ["numpy<2", "numpy>=2", "scipy>=1.11", "missing-dist", "setuptools>=70", "x >=< 1"]
CLASSIFIERS = [
    "Operating System :: Microsoft :: Windows",
    "Operating System :: OS Independent",
    "Environment :: GPU :: NVIDIA CUDA",
    "Environment :: GPU :: AMD ROCm",
]


@st.composite
def packs(draw: st.DrawFn) -> dict[str, dict[str, str]]:
    """Pack folders: a pyproject (name, version, classifiers, ComfyUI range, dependencies), a
    requirements.txt, and a `.tracking` or `.git` or neither."""
    folders: dict[str, dict[str, str]] = {}
    for name in draw(st.lists(st.sampled_from(PACK_NAMES), min_size=1, max_size=4, unique=True)):
        files: dict[str, str] = {}
        version = draw(st.sampled_from(["1.1.2", "8.8.1", "8.22.2", "7.10", "2.3.10", "0.2.0"]))
        classifiers = draw(st.lists(st.sampled_from(CLASSIFIERS), max_size=2, unique=True))
        dependencies = draw(st.lists(st.sampled_from(REQUIREMENTS), max_size=2, unique=True))
        comfyui = draw(
            st.sampled_from(["", 'requires-comfyui = ">=0.3.0"\n', 'requires-comfyui = "<0.3"\n'])
        )
        if draw(st.booleans()):
            files["pyproject.toml"] = (
                f'[project]\nname = "{name}"\nversion = "{version}"\n'
                f"classifiers = {json.dumps(classifiers)}\n"
                f"dependencies = {json.dumps(dependencies)}\n"
                f"[tool.comfy]\n{comfyui}"
            )
        lines = draw(st.lists(st.sampled_from(REQUIREMENTS), max_size=3))
        if lines:
            files["requirements.txt"] = "\n".join(lines) + "\n"
        files[draw(st.sampled_from([".tracking", "nodes.py", ".git"]))] = ""
        folders[name] = files
    return folders


def _build(root: Path, folders: dict[str, dict[str, str]]) -> Path:
    (root / "comfyui_version.py").parent.mkdir(parents=True)
    (root / "comfyui_version.py").write_text('__version__ = "0.3.40"\n')
    for name, files in folders.items():
        folder = root / "custom_nodes" / name
        folder.mkdir(parents=True)
        for file, content in files.items():
            if file == ".git":
                write_git(folder, f"https://github.com/someone/{name}.git")
            else:
                (folder / file).write_text(content)
    return root


def write_git(folder: Path, url: str) -> None:
    git_dir = folder / ".git"
    git_dir.mkdir()
    (git_dir / "HEAD").write_text("0123456789abcdef0123456789abcdef01234567\n")
    (git_dir / "config").write_text(f'[remote "origin"]\n\turl = {url}\n')


@pytest.fixture(scope="module")
def packages_venv(base_venv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = clone_venv(base_venv, tmp_path_factory.mktemp("packages") / "venv")
    for name, version in (("scipy", "1.11.4"), ("numpy", "2.1.0"), ("setuptools", "69.0.0")):
        write_dist(site_packages(venv), name, version)
    return venv


@settings(
    deadline=None, max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(folders=packs())
def test_the_round_trip_holds_for_any_install(
    tmp_path_factory: pytest.TempPathFactory,
    packages_venv: Path,
    folders: dict[str, dict[str, str]],
) -> None:
    tmp_path = tmp_path_factory.mktemp("install")
    install = _build(tmp_path / "ComfyUI", folders)
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    common = ["--registry", mirror, "--host", "h", "-q", "--no-advice"]
    python = ["--python", packages_venv]
    invoke("run", "--comfyui", install, *python, *MACHINE, *common, "-o", tmp_path / "a")
    snapshot, profile = tmp_path / "snapshot.json", tmp_path / "profile.json"
    assert invoke("scan", install, "-o", snapshot, *python).exit_code == 0
    assert invoke("env", "--comfyui", install, *python, *MACHINE, "-o", profile).exit_code == 0
    invoke("run", snapshot, "--env-profile", profile, *common, "-o", tmp_path / "b")
    assert findings(tmp_path / "a") == findings(tmp_path / "b")

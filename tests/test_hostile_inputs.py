"""A hostile install, working folder or command line, end to end: no hang, no crash, one line.

Each input here hung comfy-audit, exhausted its memory, ran a stranger's program or ended in
exit 70 before issue 11.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.hostile import NOBODY, as_nobody, fifo, needs_root, shared_tmp, sparse
from tests.registry_server import node_version_record

__all__ = ["shared_tmp"]

MACHINE = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40", "-q"]
SHA = "0123456789abcdef0123456789abcdef01234567"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def hostile(kind: str, path: Path) -> None:
    if kind == "fifo":
        fifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        sparse(path, 20 * 1024**3)


KINDS = ["fifo", "dev-zero", "sparse"]
REASONS = {
    "fifo": "a FIFO, not a regular file",
    "dev-zero": "a device, not a regular file",
    "sparse": "larger than",
}


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    path = tmp_path / "mirror.jsonl"
    path.write_text(json.dumps(node_version_record("comfyui-foo", "1.0.0")) + "\n")
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_manifest(tmp_path: Path, mirror: Path, kind: str) -> None:
    manifest = tmp_path / "host.txt"
    hostile(kind, manifest)
    result = invoke("run", manifest, "--registry", mirror, "-o", tmp_path / "out", *MACHINE)
    assert result.exit_code == 2
    assert REASONS[kind] in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_mirror_file(tmp_path: Path, kind: str) -> None:
    (tmp_path / "host.txt").write_text("comfyui-foo@1.0.0\n")
    hostile(kind, tmp_path / "mirror.jsonl")
    result = invoke(
        "run", tmp_path / "host.txt", "--registry", tmp_path / "mirror.jsonl",
        "-o", tmp_path / "out", *MACHINE,
    )  # fmt: skip
    assert result.exit_code == 2
    assert REASONS[kind] in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_a_hostile_token_file(tmp_path: Path, mirror: Path, kind: str) -> None:
    (tmp_path / "host.txt").write_text("comfyui-foo@1.0.0\n")
    hostile(kind, tmp_path / "token")
    result = invoke(
        "run", tmp_path / "host.txt", "--registry", "http://127.0.0.1:9",
        "--token-file", tmp_path / "token", "-o", tmp_path / "out", *MACHINE,
    )  # fmt: skip
    assert result.exit_code == 2
    assert REASONS[kind] in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_profile(tmp_path: Path, kind: str) -> None:
    hostile(kind, tmp_path / "env.json")
    result = invoke("env", "--env-profile", tmp_path / "env.json")
    assert result.exit_code == 2
    assert REASONS[kind] in result.stderr and len(result.stderr.splitlines()) == 1


def _install(root: Path) -> Path:
    pack = root / "custom_nodes" / "ComfyUI-Foo"
    (pack / ".git" / "refs" / "heads").mkdir(parents=True)
    (pack / ".git" / "refs" / "heads" / "main").write_text(SHA + "\n")
    (pack / "pyproject.toml").write_text('[project]\nname = "comfyui-foo"\nversion = "1.0.0"\n')
    return pack


@pytest.mark.parametrize("name", ["HEAD", "config", ".cnr-id", "packed-refs"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_hostile_git_folder_in_a_pack(tmp_path: Path, name: str, kind: str) -> None:
    pack = _install(tmp_path / "ComfyUI")
    if name != "HEAD":
        (pack / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    hostile(kind, pack / ".git" / name)
    result = invoke("scan", tmp_path / "ComfyUI", "--json")
    assert result.exit_code == 0
    (entry,) = json.loads(result.stdout)
    assert entry["node_id"] == "comfyui-foo"
    assert entry["version"] == (None if name == "HEAD" else SHA)


@needs_root
def test_an_unreadable_git_folder_is_no_internal_error(shared_tmp: Path) -> None:
    pack = _install(shared_tmp / "ComfyUI")
    (pack / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (pack / ".git").chmod(0o000)

    def scan() -> tuple[int, str, str]:
        result = invoke("scan", shared_tmp / "ComfyUI", "--json")
        return result.exit_code, result.stdout, result.stderr

    code, stdout, stderr = as_nobody(scan)
    assert code == 0, stderr
    (entry,) = json.loads(stdout)
    assert (entry["node_id"], entry["version"]) == ("comfyui-foo", None)


@needs_root
def test_a_planted_interpreter_is_not_run(tmp_path: Path) -> None:
    fake = tmp_path / "shared" / "python"
    fake.parent.mkdir()
    fake.write_text(f"#!{sys.executable}\nopen({str(tmp_path / 'RAN')!r}, 'w').close()\n")
    fake.chmod(0o755)
    os.chown(fake, NOBODY, NOBODY)
    result = invoke("env", "--python", fake)
    assert (result.exit_code, result.stderr) == (
        2,
        f"comfy-audit: error: {fake}: not run: {fake} is owned by uid {NOBODY},"
        " neither you nor root\n",
    )
    assert not (tmp_path / "RAN").exists()


def test_nothing_found_inside_points_to_python(tmp_path: Path) -> None:
    (tmp_path / "ComfyUI" / "custom_nodes").mkdir(parents=True)
    result = invoke("env", "--comfyui", tmp_path / "ComfyUI")
    assert json.loads(result.stdout)["installed_source"] == (
        "unknown: no environment (.venv, venv, python_embeded) found inside"
        f" {tmp_path / 'ComfyUI'}; pass --python"
    )

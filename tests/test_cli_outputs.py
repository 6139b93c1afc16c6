"""Output files through the command line: checked before the audit, written before run.json."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.hostile import NOBODY, as_nobody, fifo, needs_root, shared_tmp
from tests.registry_server import node_version_record

__all__ = ["shared_tmp"]

RECORDS = [
    node_version_record("comfyui-kjnodes", "1.1.2", supported_comfyui_version=">=0.3.0"),
    node_version_record("comfyui-mxtoolkit", "0.9.92", status="NodeVersionStatusBanned"),
]
MACHINE = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40", "-q"]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def setup(folder: Path, *packs: str) -> list[object]:
    mirror = folder / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    manifest = folder / "host.txt"
    manifest.write_text("".join(f"{p}\n" for p in packs))
    return ["run", manifest, "--registry", mirror, *MACHINE]


CLEAN = "comfyui-kjnodes@1.1.2"
BANNED = "comfyui-mxtoolkit@0.9.92"


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: p.symlink_to("/dev/full"), "/dev/full is a device or process file"),
        (lambda p: p.symlink_to("/dev/stdout"), "/dev/stdout is a device or process file"),
        (fifo, "a FIFO, not a regular file"),
    ],
    ids=["dev-full", "dev-stdout", "fifo"],
)
@pytest.mark.parametrize("flag", ["--prometheus", "--markdown"])
def test_a_bad_extra_output_stops_the_run_before_anything_is_written(
    tmp_path: Path, make: Callable[[Path], object], kind: str, flag: str
) -> None:
    target = tmp_path / "target"
    make(target)
    out = tmp_path / "out"
    result = invoke(*setup(tmp_path, CLEAN), flag, target, "-o", out)
    assert (result.exit_code, result.stderr) == (
        2,
        f"comfy-audit: error: {target}: not an output file: {kind}; use - for standard output\n",
    )
    assert not out.exists()


def test_a_folder_is_no_output_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke(*setup(tmp_path, CLEAN), "--prometheus", tmp_path, "-o", out)
    assert (result.exit_code, out.exists()) == (2, False)


@pytest.mark.parametrize(
    "command",
    [
        ["env", "-o"],
        ["scan", "{install}", "-o"],
        ["advise", "{manifest}", "--registry", "{mirror}", "-o"],
        ["mirror", "{manifest}", "--registry", "{mirror}", "-o"],
    ],
    ids=["env", "scan", "advise", "mirror"],
)
def test_every_output_file_is_checked_first(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "ComfyUI" / "custom_nodes").mkdir(parents=True)
    setup(tmp_path, CLEAN)
    names = {
        "install": tmp_path / "ComfyUI",
        "manifest": tmp_path / "host.txt",
        "mirror": tmp_path / "mirror.jsonl",
    }
    target = tmp_path / "target"
    target.symlink_to("/dev/full")
    result = invoke(*[part.format(**names) for part in command], target)
    assert result.exit_code == 2
    assert result.stderr == (
        f"comfy-audit: error: {target}: not an output file: /dev/full is a device or process"
        " file; use - for standard output\n"
    )


def test_an_existing_textfile_keeps_its_mode(tmp_path: Path) -> None:
    prom = tmp_path / "audit.prom"
    prom.write_text("")
    prom.chmod(0o644)
    old = os.umask(0o077)
    try:
        result = invoke(*setup(tmp_path, CLEAN), "--prometheus", prom, "-o", tmp_path / "out")
    finally:
        os.umask(old)
    assert result.exit_code == 0
    assert (prom.stat().st_mode & 0o777, "comfy_audit_run_success 1" in prom.read_text()) == (
        0o644,
        True,
    )


def test_dash_writes_the_profile_to_standard_output(tmp_path: Path) -> None:
    result = invoke("env", "--os", "linux", "-o", "-")
    assert json.loads(result.stdout)["os"] == "linux"
    assert list(tmp_path.iterdir()) == []


def _run_as_nobody(folder: Path, packs: list[str]) -> tuple[int, str, dict[str, object]]:
    """A run whose --markdown folder ``nobody`` cannot write to: it fails after the check."""
    locked = folder / "locked"
    locked.mkdir()
    args = [*setup(folder, *packs), "--markdown", locked / "summary.md", "-o", folder / "out"]
    for path in folder.iterdir():
        if path != locked:
            os.chown(path, NOBODY, NOBODY)
    os.chown(folder, NOBODY, NOBODY)

    def run() -> tuple[int, str, dict[str, object]]:
        result = invoke(*args)
        (run_dir,) = (folder / "out").iterdir()
        document = json.loads((run_dir / "run.json").read_text())
        return result.exit_code, result.stderr, document

    return as_nobody(run)


@needs_root
@pytest.mark.parametrize(("packs", "code"), [([CLEAN], 3), ([BANNED], 1)], ids=["clean", "banned"])
def test_an_extra_output_failing_late_counts_like_a_failed_lookup(
    shared_tmp: Path, packs: list[str], code: int
) -> None:
    exit_code, stderr, document = _run_as_nobody(shared_tmp, packs)
    target = shared_tmp / "locked" / "summary.md"
    assert (exit_code, document["exit_code"]) == (code, code)
    assert stderr == f"comfy-audit: error: {target}: cannot write: permission denied\n"

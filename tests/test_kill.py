"""A run killed at any point leaves earlier runs untouched and no report under a final name.

Each test runs the real command line in a subprocess with one function patched to print a line
and block reading stdin at the chosen point. Reading that line is the synchronisation (no
sleeps): once it arrives, the process is exactly there when the signal is sent.

Two runs started in the same second get different folders: see
``tests/test_pipeline.py::test_run_ids_differ_within_a_second`` and
``tests/test_cli.py::test_runs_never_share_or_overwrite_a_folder``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import cli
from tests.registry_server import RegistryServer, node_version_record

#: Run in the child: ``python -c SCRIPT POINT ARGS...``. It patches the function of POINT so
#: that it prints ``reached POINT`` and blocks until stdin closes, then runs the CLI with ARGS.
SCRIPT = r"""
import os
import sys
import threading

import pyarrow.parquet as pq

from audit import atomic, cli
from audit.registry import http_registry, transport

point, args = sys.argv[1], sys.argv[2:]


reached = threading.Lock()


def block():
    # NOTE: said once: the lookup and the Node list reach the transport at the same time.
    if reached.acquire(blocking=False):
        print(f"reached {point}", flush=True)
    sys.stdin.read()


def patch(owner, name, replacement):
    original = getattr(owner, name)
    setattr(owner, name, lambda *a, **k: replacement(original, *a, **k))


if point == "lookup-worker":  # a registry request in a worker thread
    def send(original, *a, **k):
        block()
        return original(*a, **k)
    patch(transport.Transport, "send", send)
elif point == "lookup-main":  # the lookup, in the main thread (where Ctrl-C lands)
    def fetch(original, *a, **k):
        block()
        return original(*a, **k)
    patch(http_registry.HttpRegistry, "fetch", fetch)
elif point == "some-reports":  # findings.parquet, findings.csv and nodes.parquet are written
    def write_table(original, table, where, *a, **k):
        original(table, where, *a, **k)
        if str(where).endswith("nodes.parquet"):
            block()
    patch(pq, "write_table", write_table)
elif point == "run-json":  # half of run.json is on disk
    def write_new(original, path, data, *a, **k):
        if path.name != "run.json":
            return original(path, data, *a, **k)
        original(path, data[: len(data) // 2], *a, **k)
        block()
    patch(atomic, "write_new", write_new)
elif point == "rename":  # every file is complete; the folder is not renamed yet
    def rename(original, source, target, *a, **k):
        if ".partial-" in str(source):
            block()
        return original(source, target, *a, **k)
    patch(os, "rename", rename)
else:
    raise SystemExit(f"unknown point {point}")

cli.main(args)
"""

RECORDS = [
    node_version_record("comfyui-kjnodes", "1.1.2"),
    node_version_record("comfyui-mxtoolkit", "0.9.92", status="NodeVersionStatusBanned"),
]
MANIFEST = "comfyui-kjnodes@1.1.2\ncomfyui-mxtoolkit@0.9.92\n"
#: What a run killed there has written: `ALL` is every file of a finished run folder.
ALL = {"*"}


@pytest.fixture
def server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    return make_registry_server(RECORDS)


@pytest.fixture
def run_args(tmp_path: Path, server: RegistryServer) -> list[str]:
    manifest = tmp_path / "render-01.txt"
    manifest.write_text(MANIFEST)
    options = ["--os", "linux", "--accelerator", "cpu", "--no-cache", "--concurrency", "1"]
    return ["run", str(manifest), "--registry", server.url, "-o", str(tmp_path / "out"), *options]


@pytest.fixture
def earlier_run(tmp_path: Path, run_args: list[str]) -> dict[Path, bytes]:
    """One complete run in the output folder: every byte of it, by path."""
    result = CliRunner().invoke(cli, [*run_args, "-q"], catch_exceptions=False)
    assert result.exit_code == 1
    return snapshot(tmp_path / "out")


def snapshot(folder: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def partial_folders(out: Path, earlier: dict[Path, bytes]) -> list[Path]:
    """The folders a killed run left beside the earlier one: they must all be temporary.

    :raises AssertionError: if anything else is there (a folder or file under a final name).
    """
    (earlier_dir,) = {p.relative_to(out).parts[0] for p in earlier}
    left = [p for p in out.iterdir() if p.name != earlier_dir]
    for path in left:
        assert path.is_dir() and path.name.startswith(".") and ".partial-" in path.name, path
    return left


@pytest.fixture
def child() -> Iterator[Callable[[str, list[str]], subprocess.Popen[str]]]:
    """Start the CLI in a subprocess that stops at a point; return it once it is there."""
    started: list[subprocess.Popen[str]] = []

    def start(point: str, args: list[str]) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, point, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()  # NOTE: blocks until the point is reached (or EOF)
        if line != f"reached {point}\n":
            _, errors = process.communicate(timeout=60)
            pytest.fail(f"the child never reached {point}: {line!r}, {errors!r}")
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=60)


@pytest.mark.parametrize(
    ("point", "files_left"),
    [
        ("lookup-worker", None),
        ("lookup-main", None),
        ("some-reports", {"findings.parquet", "findings.csv", "nodes.parquet"}),
        ("run-json", ALL),
        ("rename", ALL),
    ],
)
def test_sigkill_leaves_earlier_runs_and_no_final_name(
    tmp_path: Path,
    run_args: list[str],
    earlier_run: dict[Path, bytes],
    child: Callable[[str, list[str]], subprocess.Popen[str]],
    point: str,
    files_left: set[str] | None,
) -> None:
    out = tmp_path / "out"
    process = child(point, run_args)

    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL

    assert snapshot(out).keys() >= earlier_run.keys()
    assert {p: snapshot(out)[p] for p in earlier_run} == earlier_run
    left = partial_folders(out, earlier_run)
    if files_left is None:  # killed before any report was written
        assert left == []
        return
    (partial,) = left
    complete = {p.name for p in earlier_run if p.parent != out}
    assert {p.name for p in partial.iterdir()} == (complete if files_left == ALL else files_left)
    if point == "run-json":
        with pytest.raises(json.JSONDecodeError):
            json.loads((partial / "run.json").read_text())


def test_ctrl_c_during_the_lookup_exits_130_with_one_line(
    tmp_path: Path,
    run_args: list[str],
    earlier_run: dict[Path, bytes],
    child: Callable[[str, list[str]], subprocess.Popen[str]],
) -> None:
    process = child("lookup-main", run_args)

    os.kill(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)

    assert (process.returncode, stdout, stderr) == (130, "", "comfy-audit: interrupted\n")
    assert snapshot(tmp_path / "out") == earlier_run
    assert partial_folders(tmp_path / "out", earlier_run) == []

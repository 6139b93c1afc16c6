"""A fleet audited in one run gives every host the rows its own run gives it, row for row.

The fleet-central run shares every result between hosts with the same packs, versions and
environment (checks, the dependency audit, the advice); these tests hold it to the answers of
the same hosts audited one at a time, in every table, as Parquet and as the CSV's cells.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from audit import parallel, pipeline
from audit.cli import cli
from tests.registry_server import node_version_record

TABLES = ("nodes", "findings", "requirements", "recommendations")
#: What differs between two runs of the same facts: the run, and when and how it was looked up.
VARYING = ("run_id", "cache_hit", "fetched_at")
FLAGS = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40"]
FLAGS += ["--target-comfyui", "0.4.0", "--fail-on", "never", "-q"]

_STATUSES = ["NodeVersionStatusActive"] * 5 + [
    "NodeVersionStatusFlagged",
    "NodeVersionStatusBanned",
]
_DEPENDENCIES = [
    "numpy<2",
    "numpy>=2",
    "numpy>=1.24,<2.2",
    "pillow>=10",
    "torch>=2.1",
    "opencv-python",
    "opencv-contrib-python>=4.8",
    "transformers>=4.40; python_version >= '3.9'",
    "onnxruntime-gpu",
    "onnxruntime",
    "pillow<10",
    "=not a requirement",
    "scipy; sys_platform == 'win32'",
]
_COMFYUI = ["", "", ">=0.3.0", "<0.4.0", ">=0.4.0"]
_PIPS = {
    "numpy": ["1.26.4", "2.1.0"],
    "torch": ["2.0.1", "2.7.1+cu126"],
    "opencv-python": ["4.9.0.80"],
    "pillow": ["9.5.0", "10.4.0"],
    "transformers": ["4.38.0", "4.46.1"],
    "onnxruntime": ["1.19.2"],
    "ultralytics": ["8.3.40"],
}
NODES = [f"pack-{index:02d}" for index in range(14)]
VERSIONS = ["1.0.0", "1.1.0", "2.0.0", "2.1.0"]


def _records(rng: random.Random) -> list[dict[str, Any]]:
    return [
        node_version_record(
            node_id,
            version,
            status=rng.choice(_STATUSES),
            dependencies=rng.sample(_DEPENDENCIES, rng.randint(0, 4)),
            supported_comfyui_version=rng.choice(_COMFYUI),
        )
        for node_id in NODES
        for version in VERSIONS
    ]


def _snapshot(rng: random.Random) -> dict[str, Any]:
    packs = {node_id: rng.choice(VERSIONS) for node_id in rng.sample(NODES, 7)}
    pips = {name: rng.choice(versions) for name, versions in _PIPS.items() if rng.random() < 0.8}
    return {
        "comfyui": "v0.3.40",
        "git_custom_nodes": {},
        "cnr_custom_nodes": packs,
        "file_custom_nodes": [],
        "pips": {f"{name}=={version}": "" for name, version in pips.items()},
    }


def _fleet(folder: Path, *, shared: bool, hosts: int = 8) -> list[Path]:
    """Eight hosts: with ``shared``, two sets of packs and two of pips, each combination on two
    hosts (so hosts share packs with and without sharing pips); else eight of each."""
    rng = random.Random(17)
    kinds = [_snapshot(rng) for _ in range(2 if shared else hosts)]
    paths = []
    for index in range(hosts):
        path = folder / f"render-{index:02d}.json"
        pips = kinds[(index // 2) % len(kinds)]["pips"]
        path.write_text(json.dumps({**kinds[index % len(kinds)], "pips": pips}), encoding="utf-8")
        paths.append(path)
    return paths


def _run(out: Path, *args: object) -> Path:
    result = CliRunner().invoke(cli, ["run", *map(str, args), *FLAGS, "-o", str(out)])
    assert result.exit_code == 0, result.output
    (folder,) = out.iterdir()
    return folder


def _parquet_rows(folder: Path, table: str, host: str) -> list[dict[str, Any]]:
    rows = pq.read_table(folder / f"{table}.parquet").to_pylist()
    return [_kept(row) for row in rows if row["host"] == host]


def _kept(row: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name not in VARYING}


def _csv_rows(folder: Path, table: str, host: str) -> list[dict[str, Any]]:
    with (folder / f"{table}.csv").open(encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    return [_kept(row) for row in rows if row["host"] == host]


@pytest.mark.parametrize("shared", [True, False], ids=["hosts-share-packs", "hosts-differ"])
def test_a_fleet_run_gives_each_host_its_own_runs_rows(tmp_path: Path, shared: bool) -> None:
    mirror = tmp_path / "mirror.jsonl"
    records = _records(random.Random(3))
    mirror.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    paths = _fleet(hosts, shared=shared)
    fleet = _run(tmp_path / "fleet", *paths, "--registry", mirror)
    counted = dict.fromkeys(TABLES, 0)
    for path in paths:
        alone = _run(tmp_path / "alone" / path.stem, path, "--registry", mirror)
        for table in TABLES:
            rows = _parquet_rows(alone, table, path.stem)
            assert _parquet_rows(fleet, table, path.stem) == rows, (path.stem, table)
            assert _csv_rows(fleet, table, path.stem) == _csv_rows(alone, table, path.stem)
            counted[table] += len(rows)
    assert all(counted.values()), counted
    for table, count in counted.items():
        assert pq.read_metadata(fleet / f"{table}.parquet").num_rows == count, table


@pytest.mark.parametrize("budget", [2**40, 0], ids=["advice-beside-reports", "advice-first"])
def test_a_fleet_audited_on_two_processors_gives_the_rows_of_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    """Reading, dependency audits and advice go in part to forked children (`audit.parallel`),
    the advice while the reports are written or before; every table, row for row and in
    order, is what one process gives."""
    monkeypatch.setattr(pipeline, "_BESIDE_REPORTS_MAX_BYTES", budget)
    mirror = tmp_path / "mirror.jsonl"
    records = _records(random.Random(3))
    mirror.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    hosts = tmp_path / "hosts"
    hosts.mkdir()
    paths = _fleet(hosts, shared=False, hosts=40)
    forked: list[object] = []
    fork = parallel._fork

    def counted(work: Callable[[], object]) -> object:
        forked.append(work)
        return fork(work)

    monkeypatch.setattr(parallel, "_fork", counted)
    monkeypatch.setattr(parallel, "processors", lambda: 2)
    # NOTE: the test session's own servers run in threads; the work forked here never meets them.
    monkeypatch.setattr(parallel, "_alone", lambda: True)
    two = _run(tmp_path / "two", *paths, "--registry", mirror)
    assert len(forked) == 3  # the files, the dependency audits, the advice
    monkeypatch.setattr(parallel, "processors", lambda: 1)
    one = _run(tmp_path / "one", *paths, "--registry", mirror)
    assert len(forked) == 3
    for table in (*TABLES, "vulnerabilities", "workflows"):
        rows = [_kept(row) for row in pq.read_table(one / f"{table}.parquet").to_pylist()]
        assert [_kept(row) for row in pq.read_table(two / f"{table}.parquet").to_pylist()] == rows
        assert len(rows) > 0 or table in ("vulnerabilities", "workflows"), table
    assert _run_counts(two) == _run_counts(one)


def _run_counts(folder: Path) -> object:
    return json.loads((folder / "run.json").read_text(encoding="utf-8"))["counts"]

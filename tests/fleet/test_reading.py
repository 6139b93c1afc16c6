"""How the roll-up reads runs: only the chosen (run, host) pairs' rows, however the files are
read (whole or column by column, a few rows or many at once), and each file as a hostile one."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import audit.fleet.files
import audit.fleet.query
from audit.errors import InputError
from audit.fleet.files import read_run_json
from audit.fleet.query import TableSource, aggregate
from audit.fleet.rollup import Rollup, rollup
from audit.model import AuditedEntry, Severity
from audit.report import write_run
from audit.report.schema import NODES_SCHEMA
from audit.report.storage import open_location
from tests.fleet.test_rollup import rows
from tests.report.conftest import LINUX_CUDA, T0, audited, entry, finding, make_run
from tests.s3_server import S3Server

KJ = "comfyui-kjnodes"


def _host(host: str, version: str, severity: Severity) -> list[AuditedEntry]:
    pack = entry(KJ, version, host=host)
    flagged = finding("status.flagged", severity, host=host, node_id=KJ, version=version)
    return [audited(pack, findings=[flagged])]


def _fleet(out: Path) -> Path:
    """Two runs: gpu-01 and gpu-02 at first, then gpu-02 alone, an hour later."""
    first = make_run(
        [*_host("gpu-01", "1.0.0", Severity.WARNING), *_host("gpu-02", "1.0.0", Severity.ERROR)],
        run_id="20240501T120000Z-000001",
        host_environments={"gpu-01": LINUX_CUDA, "gpu-02": LINUX_CUDA},
    )
    second = replace(
        make_run(
            _host("gpu-02", "1.1.2", Severity.CRITICAL),
            run_id="20240501T130000Z-000002",
            host_environments={"gpu-02": LINUX_CUDA},
        ),
        started_at=T0 + timedelta(hours=1),
    )
    write_run(first, out)
    write_run(second, out)
    return out


def _tables(result: Rollup) -> dict[str, list[tuple[object, ...]]]:
    return {name: rows(table) for name, table in result.tables().items()}


@pytest.fixture
def expected(tmp_path: Path) -> dict[str, list[tuple[object, ...]]]:
    return _tables(rollup(_fleet(tmp_path / "expected"), now=T0, rollup_id="r"))


def test_a_run_counts_only_for_the_hosts_it_is_the_newest_of(tmp_path: Path) -> None:
    result = rollup(_fleet(tmp_path), now=T0, rollup_id="r")
    assert rows(result.hosts, "host", "run_id", "warning", "error", "critical") == [
        ("gpu-01", "20240501T120000Z-000001", 1, 0, 0),
        ("gpu-02", "20240501T130000Z-000002", 0, 0, 1),
    ]
    assert rows(result.packs) == [
        (KJ, "1.1.2", 1, "critical", ["status.flagged"]),
        (KJ, "1.0.0", 1, "warning", ["status.flagged"]),
    ]
    assert rows(result.drift) == [(KJ, 2, ["1.0.0", "1.1.2"], [1, 1])]


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("audit.fleet.files.WHOLE_TABLE", 1),  # every table read column by column
        ("audit.fleet.query._KEEP_ROWS", 1),  # the rows of other pairs dropped after each file
        ("audit.fleet.query._FILES_IN_FLIGHT", {True: 1, False: 1}),  # one file at a time
    ],
    ids=["column-by-column", "drop-after-each-file", "one-thread"],
)
def test_the_same_rows_however_the_files_are_read(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    expected: dict[str, list[tuple[object, ...]]],
    setting: str,
    value: object,
) -> None:
    monkeypatch.setattr(setting, value)
    assert _tables(rollup(_fleet(tmp_path / "out"), now=T0, rollup_id="r")) == expected


def test_columns_an_older_run_lacks_are_null(tmp_path: Path) -> None:
    out = _fleet(tmp_path)
    findings = out / "20240501T130000Z-000002" / "findings.parquet"
    table = pq.read_table(findings)
    pq.write_table(table.drop_columns(["waived"]), findings)
    result = rollup(out, now=T0, rollup_id="r")
    assert rows(result.hosts, "host", "critical", "waived") == [("gpu-01", 0, 0), ("gpu-02", 1, 0)]


def test_a_column_of_another_type_is_cast_when_it_can_be(tmp_path: Path) -> None:
    out = _fleet(tmp_path)
    nodes = out / "20240501T130000Z-000002" / "nodes.parquet"
    table = pq.read_table(nodes)
    index = table.schema.get_field_index("version")
    version = table.column("version").cast(pa.large_string())
    pq.write_table(table.set_column(index, "version", version), nodes)
    assert rows(rollup(out, now=T0, rollup_id="r").drift) == [(KJ, 2, ["1.0.0", "1.1.2"], [1, 1])]


def test_a_column_that_cannot_be_cast_names_the_file(tmp_path: Path) -> None:
    out = _fleet(tmp_path)
    findings = out / "20240501T130000Z-000002" / "findings.parquet"
    table = pq.read_table(findings)
    index = table.schema.get_field_index("waived")
    waived = pa.array([[1]], pa.list_(pa.int64()))
    pq.write_table(table.set_column(index, "waived", waived), findings)
    with pytest.raises(InputError) as caught:
        rollup(out, now=T0)
    assert str(caught.value).startswith(f"{findings}: not a readable report table: ")


def test_a_table_that_is_not_a_regular_file_names_the_file(tmp_path: Path) -> None:
    out = _fleet(tmp_path)
    nodes = out / "20240501T130000Z-000002" / "nodes.parquet"
    nodes.unlink()
    nodes.mkdir()
    # NOTE: the listing sees no file of that name: the run lacks the table.
    with pytest.raises(InputError, match=r"nodes\.parquet: missing from a complete run"):
        rollup(out, now=T0)


def test_a_table_swapped_for_a_fifo_after_listing_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = _fleet(tmp_path)
    nodes = out / "20240501T130000Z-000002" / "nodes.parquet"
    reads = audit.fleet.files.read_columns

    def swapped(location: object, wanted: object) -> pa.Table:
        if not nodes.is_fifo():
            nodes.unlink()
            os.mkfifo(nodes)
        return reads(location, wanted)  # type: ignore[arg-type]

    monkeypatch.setattr(audit.fleet.query, "read_columns", swapped)
    monkeypatch.setattr(audit.fleet.query, "_FILES_IN_FLIGHT", {True: 1, False: 1})
    with pytest.raises(InputError) as caught:
        rollup(out, now=T0)
    assert str(caught.value) == (
        f"{nodes}: not a readable report table: a FIFO, not a regular file"
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"[1, 2]", "not a JSON object"),
        (b'{"run_id": "r", "x": [1,}', "not JSON: "),
        (b'{"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not JSON: nested too deeply"),
        (b'{"hosts": {}}', "'run_id' is missing or not a string"),
        (b'{"run_id": 1}', "'run_id' is missing or not a string"),
        (b'{"run_id": "r", "started_at": "yesterday"}', "'started_at' is missing or not an ISO"),
        (b'{"run_id": "r", "started_at": "2024-05-01T12:00:00Z", "exit_code": true}', "'exit_"),
        (b'{"run_id": "r", "started_at": "2024-05-01T12:00:00Z", "exit_code": 0}', "'hosts' is"),
        (b'{"run_id": "r", "started_at": "2024-05-01", "exit_code": 0, "hosts": []}', "'hosts'"),
        (
            b'{"run_id": "r", "started_at": "2024-05-01", "exit_code": 0, "hosts": {"h": 1}}',
            "host 'h' has no valid environment profile",
        ),
        (
            b'{"run_id": "r", "started_at": "2024-05-01", "exit_code": 0,'
            b' "hosts": {"h": {"target_comfyui": 4}}}',
            "host 'h' has no valid environment profile",
        ),
    ],
)
def test_a_run_json_that_is_not_a_run_names_the_file(
    tmp_path: Path, document: bytes, message: str
) -> None:
    out = _fleet(tmp_path)
    run_json = out / "20240501T130000Z-000002" / "run.json"
    run_json.write_bytes(document)
    with pytest.raises(InputError) as caught:
        rollup(out, now=T0)
    assert str(caught.value).startswith(f"{run_json}: {message}")


def test_only_the_keys_that_choose_runs_are_decoded(tmp_path: Path) -> None:
    out = _fleet(tmp_path)
    run_json = out / "20240501T130000Z-000002" / "run.json"
    document = json.loads(run_json.read_bytes())
    document["hosts"]["gpu-02"]["installed"] = {"torch": "2.5.1", "nested": [{"a": [None]}]}
    document["unknown"] = {"later": "keys"}
    run_json.write_text(json.dumps(document))
    result = rollup(out, now=T0, rollup_id="r")
    assert rows(result.hosts, "host", "run_id") == [
        ("gpu-01", "20240501T120000Z-000001"),
        ("gpu-02", "20240501T130000Z-000002"),
    ]


def test_a_run_json_past_its_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "run.json").write_bytes(b"{}" + b" " * 100)
    location = open_location(tmp_path).join("run.json")
    assert read_run_json(location, limit=102) == b"{}" + b" " * 100
    with pytest.raises(InputError) as caught:
        read_run_json(location, limit=101)
    assert str(caught.value) == f"{tmp_path}/run.json: cannot read: larger than 101 bytes"


def test_a_run_json_on_an_object_store_past_its_cap_is_refused(s3: S3Server) -> None:
    s3.create_bucket("fleet")
    with s3.filesystem().open_output_stream("fleet/audits/run-1/run.json") as stream:
        stream.write(b"{}" + b" " * 100)
    location = open_location("s3://fleet/audits").join("run-1", "run.json")
    assert read_run_json(location, limit=102) == b"{}" + b" " * 100
    with pytest.raises(InputError) as caught:
        read_run_json(location, limit=101)
    assert str(caught.value) == (
        "s3://fleet/audits/run-1/run.json: cannot read: larger than 101 bytes"
    )


def test_a_run_json_that_is_a_link_makes_no_complete_run(tmp_path: Path) -> None:
    out = _fleet(tmp_path / "out")
    newer = out / "20240501T130000Z-000002"
    (tmp_path / "run.json").write_bytes((newer / "run.json").read_bytes())
    (newer / "run.json").unlink()
    (newer / "run.json").symlink_to(tmp_path / "run.json")
    result = rollup(out, now=T0, rollup_id="r")
    assert (result.runs_found, rows(result.incomplete, "run_id", "hosts")) == (
        1,
        [("20240501T130000Z-000002", ["gpu-02"])],
    )
    assert rows(result.hosts, "host", "run_id") == [
        ("gpu-01", "20240501T120000Z-000001"),
        ("gpu-02", "20240501T120000Z-000001"),
    ]


def test_a_folder_of_incomplete_runs_only_rolls_up_to_them(tmp_path: Path) -> None:
    out = _fleet(tmp_path)
    for run in out.iterdir():
        (run / "run.json").unlink()
    result = rollup(out, now=T0, rollup_id="r")
    assert rows(result.incomplete, "run_id", "hosts") == [
        ("20240501T120000Z-000001", ["gpu-01", "gpu-02"]),
        ("20240501T130000Z-000002", ["gpu-02"]),
    ]
    assert (result.runs_found, result.runs_used) == (0, 0)
    assert rows(result.hosts) == rows(result.packs) == rows(result.drift) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda nodes: nodes.unlink(),
        lambda nodes: nodes.write_bytes(b"PAR1 truncated"),
        lambda nodes: pq.write_table(pq.read_table(nodes).drop_columns(["host"]), nodes),
    ],
    ids=["no-nodes-table", "truncated", "no-host-column"],
)
def test_an_incomplete_run_whose_hosts_are_unknown(
    tmp_path: Path, damage: Callable[[Path], object]
) -> None:
    out = _fleet(tmp_path)
    (out / "20240501T130000Z-000002" / "run.json").unlink()
    damage(out / "20240501T130000Z-000002" / "nodes.parquet")
    result = rollup(out, now=T0, rollup_id="r")
    assert rows(result.incomplete, "run_id", "hosts") == [("20240501T130000Z-000002", None)]


def test_a_query_the_rows_cannot_answer_names_the_runs(tmp_path: Path) -> None:
    out = _fleet(tmp_path)
    source = TableSource(
        str(out),
        [open_location(out).join("20240501T120000Z-000001", "nodes.parquet")],
        NODES_SCHEMA,
        pa.table({"run_id": ["20240501T120000Z-000001"], "host": ["gpu-01"]}),
    )
    with pytest.raises(InputError) as caught:
        aggregate(
            source,
            where=pc.field("host") > pc.scalar(1),
            columns={},
            reads=[],
            keys=["host"],
            aggregates=[("run_id", "hash_count", "n")],
        )
    assert str(caught.value).startswith(f"{out}: cannot read the runs: ")

"""Writing a run folder: its nine files, run.json, CSV text, and atomicity on every failure."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import audit
from audit import atomic
from audit.errors import ReportError
from audit.model import AuditRun, Environment, Recommendation, Severity, When
from audit.parallel import Pending
from audit.report import run_document, write_run
from tests.report.conftest import (
    LINUX_CUDA,
    audited,
    entry,
    finding,
    make_run,
    requirement,
    sample_run,
)

FILES = [
    "findings.csv",
    "findings.parquet",
    "nodes.csv",
    "nodes.parquet",
    "recommendations.csv",
    "recommendations.parquet",
    "requirements.csv",
    "requirements.parquet",
    "run.json",
    "vulnerabilities.csv",
    "vulnerabilities.parquet",
    "workflows.csv",
    "workflows.parquet",
]
PROFILE = {
    "schema": "comfy-audit.env/1",
    "os": "linux",
    "accelerators": ["cpu", "cuda"],
    "comfyui_version": "0.3.30",
    "frontend_version": None,
    "target_comfyui": None,
    "target_frontend": None,
    "python_version": None,
    "installed": None,
    "installed_source": None,
    "installed_partial": False,
    "sources": {"accelerators": "nvidia-smi", "os": "detected"},
}
NODES_CSV = """\
"run_id","host","node_id","version","source","status","deprecated","supported_os",\
"supported_accelerators","supported_comfyui_version","supported_comfyui_frontend_version",\
"dependencies","tags_admin","fetched_at","cache_hit","disabled","url","hash","compatible_now",\
"compatible_after_upgrade","worst_severity","finding_count","node_status","publisher_id",\
"publisher_status","latest_version","outdated"
"run-1","gpu-01","comfyui-foo","1.2.0","registry","NodeVersionStatusActive",false,\
"linux;windows","cuda",">=0.4.0",,"numpy>=1.26;torch","","2024-04-30T08:15:00.000000Z",true,\
false,,,false,,"error",2,,,,,
"run-1","gpu-01","my-node","0123abc","git",,,,,,,,,,,true,"https://github.com/me/my-node",\
"0123abc",true,,,0,,,,,
"run-1","gpu-01","bar","2.0","registry",,,,,,,,,,false,false,,,,,"error",1,,,,,
"""
FINDINGS_CSV = """\
"run_id","host","node_id","version","check","severity","message","expected","actual","source",\
"when","waived","waiver_reason","baseline","workflow","vuln_id"
"run-1","gpu-01",,,"env.unknown","warning","installed packages are unknown",,,"environment",\
"now",false,,,,
"run-1","gpu-01","comfyui-foo","1.2.0","comfyui.version","error",\
"needs ComfyUI >=0.4.0, installed 0.3.30",">=0.4.0","0.3.30","registry","now",false,,,,
"run-1","gpu-01","comfyui-foo","1.2.0","dependency.info","info","2 requirements",,,"registry",\
"now",false,,,,
"run-1","gpu-01","bar","2.0","registry.fetch-failed","error","timed out after 3 attempts",,,\
"registry","now",false,,,,
"""
REQUIREMENTS_CSV = """\
"run_id","host","node_id","version","requirement","distribution","specifier","marker","source",\
"installed_version","satisfied"
"run-1","gpu-01","comfyui-foo","1.2.0","numpy>=1.26","numpy",">=1.26",,"registry","1.26.4",true
"run-1","gpu-01","comfyui-foo","1.2.0","torch<2","torch","<2",,"local","2.9.1+cu126",false
"run-1","gpu-01","comfyui-foo","1.2.0","pywin32; python_version < \"\"3.12\"\"","pywin32",,\
"python_version < \"\"3.12\"\"","local",,
"run-1","gpu-01","bar","2.0","numpy<1.24>=1.18",,,,"local",,
"""


def _listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


def _csv_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")  # NOTE: no newline translation.


def _as_csv_text(value: object) -> str:
    """The CSV contract, restated independently of the writer."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def _tricky_run() -> AuditRun:
    text = 'comma, "quote"; semi\nnew line\r\n\ttab é ✓ lone\rcr'
    return make_run(
        [
            audited(
                entry("weird", "1.0"),
                None,
                [
                    finding("x.y", Severity.CRITICAL, text, node_id="weird", version="1.0"),
                    finding("x.z", Severity.INFO, "", expected=text, when=When.AFTER_UPGRADE),
                ],
                compatible_after_upgrade=False,
            )
        ],
        requirements=[
            requirement(text, None, None, node_id="weird", version="1.0", satisfied=None),
            requirement(marker=text, installed_version="", satisfied=False),
        ],
    )


def test_write_run_creates_the_final_folder_with_nine_files(run: AuditRun, tmp_path: Path) -> None:
    output = tmp_path / "deep" / "outputs"
    folder = write_run(run, output)
    assert folder == output / "run-1"
    assert _listing(output) == ["run-1"]
    assert _listing(folder) == FILES


def test_advice_still_in_the_making_is_waited_for_after_the_other_tables(
    run: AuditRun, tmp_path: Path
) -> None:
    """The advice may still be made in a child (`audit.pipeline`): the tables that need none
    are written first."""
    written: list[list[str]] = []
    move = Recommendation("render-01", "comfyui-kjnodes", "1.0.0", "1.1.2", ("status.banned",), ())

    def advice() -> list[Recommendation]:
        (partial,) = tmp_path.iterdir()
        written.append(_listing(partial))
        return [move]

    write_run(replace(run, recommendations=Pending(advice)), tmp_path)
    # NOTE: the table before is being written meanwhile; those before it are done.
    (before,) = written
    stems = ["findings", "nodes", "requirements", "vulnerabilities"]
    assert set(before) >= {f"{stem}.{kind}" for stem in stems for kind in ("csv", "parquet")}
    assert not any(name.startswith("recommendations") for name in before)
    assert _listing(tmp_path / "run-1") == FILES
    recommended = pq.read_table(tmp_path / "run-1" / "recommendations.parquet").to_pylist()
    assert [(row["node_id"], row["recommended_version"]) for row in recommended] == [
        ("comfyui-kjnodes", "1.1.2")
    ]


def test_meanwhile_runs_once_the_advice_is_read_before_the_folder_is_in_place(
    run: AuditRun, tmp_path: Path
) -> None:
    read: list[str] = []

    def meanwhile() -> None:
        read.append(f"meanwhile, folder in place: {(tmp_path / 'run-1').exists()}")

    def advice() -> list[Recommendation]:
        read.append("advice")
        return []

    write_run(replace(run, recommendations=Pending(advice)), tmp_path, meanwhile=meanwhile)
    assert read == ["advice", "meanwhile, folder in place: False"]
    assert _listing(tmp_path / "run-1") == FILES


def test_write_run_accepts_a_string_path(run: AuditRun, tmp_path: Path) -> None:
    assert write_run(run, str(tmp_path)) == tmp_path / "run-1"


def test_run_json_is_the_exact_document(run: AuditRun, tmp_path: Path) -> None:
    expected = {
        "tool": "comfy-audit",
        "tool_version": audit.__version__,
        "schema_version": "3",
        "run_id": "run-1",
        "started_at": "2024-05-01T12:00:00.000000Z",
        "finished_at": "2024-05-01T12:00:02.500000Z",
        "duration_seconds": 2.5,
        "environment": PROFILE,
        "hosts": {"gpu-01": PROFILE},
        "options": {"fail_on": "error"},
        "counts": {
            "entries": 3,
            "hosts": 1,
            "findings": {"info": 1, "warning": 1, "error": 2, "critical": 0},
            "requirements": 4,
            "recommendations": 0,
            "vulnerabilities": 0,
            "workflows": 0,
        },
        "exit_code": 3,
    }
    assert run_document(run) == expected
    text = (write_run(run, tmp_path) / "run.json").read_text(encoding="utf-8")
    # NOTE: indented, but each host's profile on one line (a fleet's run.json stays quick).
    outline = json.dumps({**expected, "hosts": {}}, sort_keys=True, indent=2)
    host = '{\n    "gpu-01": ' + json.dumps(PROFILE, sort_keys=True) + "\n  }"
    assert text == outline.replace('"hosts": {}', f'"hosts": {host}') + "\n"
    assert json.loads(text) == expected


def test_run_json_counts_every_host_the_run_knows() -> None:
    other = finding("env.unknown", node_id=None, version=None, host="gpu-02")
    document = run_document(
        make_run(
            [audited(entry(host="gpu-03"))],
            [other],
            host_environments={"gpu-01": Environment(), "gpu-00": LINUX_CUDA},
        )
    )
    assert document["counts"] == {
        "entries": 1,
        "hosts": 4,
        "findings": {"info": 0, "warning": 1, "error": 0, "critical": 0},
        "requirements": 0,
        "recommendations": 0,
        "vulnerabilities": 0,
        "workflows": 0,
    }
    assert list(document["hosts"]) == ["gpu-00", "gpu-01"]  # type: ignore[call-overload]


def test_csv_text_is_exact(run: AuditRun, tmp_path: Path) -> None:
    folder = write_run(run, tmp_path)
    assert _csv_text(folder / "nodes.csv") == NODES_CSV.replace("\n", "\r\n")
    assert _csv_text(folder / "findings.csv") == FINDINGS_CSV.replace("\n", "\r\n")
    assert _csv_text(folder / "requirements.csv") == REQUIREMENTS_CSV.replace("\n", "\r\n")


def test_empty_run_writes_headers_and_full_schemas(tmp_path: Path) -> None:
    folder = write_run(make_run(), tmp_path)
    header = FINDINGS_CSV.split("\n")[0]
    assert _csv_text(folder / "findings.csv") == header + "\r\n"
    assert pq.read_table(folder / "nodes.parquet").num_rows == 0
    assert pq.read_table(folder / "requirements.parquet").num_rows == 0
    header = REQUIREMENTS_CSV.split('\n"run-1"')[0].replace("\\\n", "")
    assert _csv_text(folder / "requirements.csv") == header + "\r\n"
    assert pd.read_csv(folder / "nodes.csv").columns.tolist()[:3] == ["run_id", "host", "node_id"]


@pytest.mark.parametrize("table", ["nodes", "findings", "requirements"])
@pytest.mark.parametrize("which", ["sample", "tricky"])
def test_csv_and_parquet_agree_row_for_row(table: str, which: str, tmp_path: Path) -> None:
    folder = write_run(sample_run() if which == "sample" else _tricky_run(), tmp_path)
    parquet = pq.read_table(folder / f"{table}.parquet")
    from_csv = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
    assert from_csv.columns.tolist() == parquet.column_names
    expected = [[_as_csv_text(v) for v in row.values()] for row in parquet.to_pylist()]
    assert from_csv.to_numpy().tolist() == expected


def test_an_existing_run_folder_is_never_overwritten(run: AuditRun, tmp_path: Path) -> None:
    (tmp_path / "run-1").mkdir()
    (tmp_path / "run-1" / "keep.txt").write_text("earlier run", encoding="utf-8")
    with pytest.raises(ReportError, match="run-1: the run folder already exists"):
        write_run(run, tmp_path)
    assert _listing(tmp_path) == ["run-1"]
    assert _listing(tmp_path / "run-1") == ["keep.txt"]


def test_writing_the_same_run_twice_fails_the_second_time(run: AuditRun, tmp_path: Path) -> None:
    write_run(run, tmp_path)
    before = (tmp_path / "run-1" / "run.json").read_bytes()
    with pytest.raises(ReportError):
        write_run(run, tmp_path)
    assert (tmp_path / "run-1" / "run.json").read_bytes() == before


def test_a_folder_appearing_during_the_write_is_not_replaced(
    run: AuditRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = atomic.write_new

    def racing(path: Path, data: bytes) -> None:
        real(path, data)
        if path.name == "run.json":
            (tmp_path / "run-1").mkdir()
            (tmp_path / "run-1" / "other.txt").write_text("another writer", encoding="utf-8")

    monkeypatch.setattr(atomic, "write_new", racing)
    with pytest.raises(ReportError, match="already exists"):
        write_run(run, tmp_path)
    assert _listing(tmp_path) == ["run-1"]
    assert _listing(tmp_path / "run-1") == ["other.txt"]


def _fail_on(name: str, error: BaseException) -> object:
    real = pq.write_table

    def write_table(table: pa.Table, where: str) -> None:
        if Path(where).name == name:
            raise error
        real(table, where)

    return write_table


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("nodes.parquet", OSError(28, "No space left on device"), "No space left on device"),
        ("findings.parquet", pa.ArrowInvalid("bad\ncolumn"), "bad column"),
    ],
    ids=["oserror", "arrow"],
)
def test_a_failure_mid_write_leaves_no_folder_behind(
    name: str,
    error: Exception,
    reason: str,
    run: AuditRun,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pq, "write_table", _fail_on(name, error))
    with pytest.raises(ReportError) as caught:
        write_run(run, tmp_path)
    assert str(caught.value) == f"{tmp_path / 'run-1' / name}: cannot write the report: {reason}"
    assert caught.value.__cause__ is error
    assert _listing(tmp_path) == []


def test_an_interrupt_mid_write_cleans_up_and_propagates(
    run: AuditRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pq, "write_table", _fail_on("findings.parquet", KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        write_run(run, tmp_path)
    assert _listing(tmp_path) == []


def test_options_that_are_not_json_fail_before_the_rename(tmp_path: Path) -> None:
    run = make_run(options={"when": datetime(2024, 1, 1)})
    with pytest.raises(ReportError, match=r"run-1/run\.json: cannot write the report: .*datetime"):
        write_run(run, tmp_path)
    assert _listing(tmp_path) == []


def test_an_output_path_that_is_a_file_is_a_report_error(run: AuditRun, tmp_path: Path) -> None:
    blocker = tmp_path / "outputs"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ReportError, match="outputs: cannot create the output folder"):
        write_run(run, blocker)


@pytest.mark.parametrize("run_id", ["", ".", "..", "../escape", "a/b", "a\\b", ".hidden"])
def test_run_ids_that_are_not_one_plain_folder_name_are_refused(
    run_id: str, tmp_path: Path
) -> None:
    with pytest.raises(ReportError, match="not a usable run id"):
        write_run(make_run(run_id=run_id), tmp_path / "out")
    assert _listing(tmp_path) == []

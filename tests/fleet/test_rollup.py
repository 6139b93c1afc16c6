"""The fleet roll-up: a dozen hosts audited with the real CLI, rolled up, tables exact."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import audit
from audit.errors import InputError, ReportError
from audit.fleet.output import MAX_ROWS, render_rollup, write_rollup
from audit.fleet.rollup import Rollup, rollup
from audit.fleet.schema import ROLLUP_SCHEMA_VERSION, ROLLUP_SCHEMAS
from audit.model import Severity
from audit.report import write_run
from tests.report.conftest import (
    LINUX,
    LINUX_CUDA,
    T0,
    TO_040,
    FleetMaker,
    audited,
    entry,
    finding,
    make_run,
)
from tests.s3_server import S3Server

NOW = datetime(2024, 6, 10, 18, 0, tzinfo=UTC)
TODAY = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)
YESTERDAY = datetime(2024, 6, 9, 9, 0, tzinfo=UTC)
KJ, IMPACT, MX = "comfyui-kjnodes", "comfyui-impact-pack", "comfyui-mxtoolkit"
#: render-01's run, which the bad-input tests damage.
RUN = "20240610T120000Z-000000"
NO_HOSTS = json.dumps({"run_id": RUN, "started_at": "2024-06-10T12:00:00Z", "exit_code": 0})


def _minutes(n: int) -> datetime:
    return TODAY + timedelta(minutes=n)


def make_fleet(maker: FleetMaker, out: Path) -> None:
    """Twelve hosts; four of them also have an earlier run, two share one run."""
    linux = (*LINUX, *TO_040)
    maker.run(out, datetime(2024, 5, 31, 12, 0, tzinfo=UTC), {"render-11": {KJ: "1.1.2"}}, *linux)
    maker.run(out, YESTERDAY, {"render-02": {KJ: "1.0.0", IMPACT: "8.8.1"}}, *linux)
    maker.run(
        out, YESTERDAY + timedelta(hours=1), {"render-12": {IMPACT: "8.7.0", MX: "0.9.92"}}, *linux
    )
    maker.run(out, YESTERDAY + timedelta(hours=2), {"render-04": {KJ: "1.0.0"}}, *linux)
    maker.run(
        out,
        _minutes(0),
        {"render-01": {KJ: "1.1.2", IMPACT: "8.8.1", "comfyui-easy-use": "1.3.0"}},
        *linux,
    )
    maker.run(out, _minutes(5), {"render-02": {KJ: "1.1.2", IMPACT: "8.8.1"}}, *linux)
    maker.run(
        out,
        _minutes(10),
        {"render-03": {KJ: "1.0.0", IMPACT: "8.8.1"}, "render-04": {KJ: "1.1.2", IMPACT: "8.7.0"}},
        *linux,
    )
    maker.run(out, _minutes(15), {"render-05": {MX: "0.9.92", KJ: "1.1.2"}}, *linux)
    maker.run(
        out,
        _minutes(20),
        {"render-06": {"comfyui-linux-only": "1.0.0", KJ: "1.1.2"}},
        "--os",
        "windows",
        "--accelerator",
        "cuda",
        *TO_040,
    )
    maker.run(out, _minutes(25), {"render-07": {"comfyui-new-only": "2.0.0"}}, *linux)
    maker.run(
        out, _minutes(30), {"render-08": {IMPACT: "8.8.1"}}, *LINUX, "--target-comfyui", "0.5.0"
    )
    maker.run(out, _minutes(35), {"render-09": {IMPACT: "8.8.1"}}, *LINUX)
    maker.run(out, _minutes(40), {"render-10": {"comfyui-broken": "1.0.0"}}, *linux)
    # NOTE: an id that sorts before every other: the newest run is chosen by started_at.
    maker.run(
        out,
        _minutes(45),
        {"render-12": {IMPACT: "8.8.1"}},
        *linux,
        run_id="20240101T000000Z-aaaaaa",
    )
    # An interrupted write (an object store keeps what was uploaded), a local write still in
    # progress, and a folder that is not a run at all.
    unfinished = maker.run(out, _minutes(60), {"render-03": {KJ: "1.1.2"}}, *linux)
    (out / unfinished / "run.json").unlink()
    (out / ".20240610T131000Z-000000.partial-0123456789abcdef").mkdir()
    (out / ".20240610T131000Z-000000.partial-0123456789abcdef" / "nodes.csv").write_text("x")
    (out / "notes").mkdir()
    (out / "notes" / "readme.txt").write_text("not a run")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("fleet")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("XDG_CACHE_HOME", str(root / "cache"))
        make_fleet(FleetMaker(root, monkeypatch), root / "out")
    yield root / "out"


def rows(table: pa.Table, *columns: str) -> list[tuple[object, ...]]:
    """The rows of ``table`` as tuples of ``columns`` (all but rollup_id when none are named)."""
    names = columns or [n for n in table.column_names if n != "rollup_id"]
    return [tuple(row[n] for n in names) for row in table.to_pylist()]


def at(hour: int, minute: int, day: int = 10, month: int = 6) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture(scope="module")
def rolled(fleet: Path) -> Rollup:
    return rollup(fleet, now=NOW, target_comfyui="0.4.0", rollup_id="20240610T180000Z-f1ee70")


def test_every_table_has_its_schema_and_the_rollup_id(rolled: Rollup) -> None:
    for name, table in rolled.tables().items():
        assert table.schema == ROLLUP_SCHEMAS[name], name
        assert set(table.column("rollup_id").to_pylist()) <= {"20240610T180000Z-f1ee70"}


def test_hosts_by_severity_from_the_newest_run_of_each(rolled: Rollup) -> None:
    # render-02, render-04 and render-12 have older runs; render-03 and render-04 share one;
    # render-12's newest run has an id that sorts first: newest is by started_at.
    assert rows(rolled.hosts) == [
        ("render-01", "20240610T120000Z-000000", at(12, 0), 1, 1, 1, 0, 0, 1),
        ("render-02", "20240610T120500Z-000000", at(12, 5), 1, 0, 1, 0, 0, 1),
        ("render-03", "20240610T121000Z-000000", at(12, 10), 1, 0, 1, 0, 0, 1),
        ("render-04", "20240610T121000Z-000000", at(12, 10), 1, 0, 1, 0, 0, 1),
        ("render-05", "20240610T121500Z-000000", at(12, 15), 1, 0, 0, 1, 0, 1),
        ("render-06", "20240610T122000Z-000000", at(12, 20), 1, 0, 1, 0, 0, 1),
        ("render-07", "20240610T122500Z-000000", at(12, 25), 1, 0, 1, 0, 0, 1),
        ("render-08", "20240610T123000Z-000000", at(12, 30), 1, 0, 1, 0, 0, 1),
        ("render-09", "20240610T123500Z-000000", at(12, 35), 1, 0, 0, 0, 0, 0),
        ("render-10", "20240610T124000Z-000000", at(12, 40), 1, 0, 1, 0, 0, 3),
        ("render-11", "20240531T120000Z-000000", at(12, 0, day=31, month=5), 1, 0, 0, 0, 0, 0),
        ("render-12", "20240101T000000Z-aaaaaa", at(12, 45), 1, 0, 1, 0, 0, 1),
    ]
    assert (rolled.runs_found, rolled.runs_used) == (14, 11)


def test_packs_with_current_problems_worst_first(rolled: Rollup) -> None:
    # The upgrade's findings are blockers, not current problems; render-12's banned pack was in
    # its older run only.
    assert rows(rolled.packs) == [
        ("comfyui-mxtoolkit", "0.9.92", 1, "critical", ["status.banned"]),
        ("comfyui-broken", "1.0.0", 1, "error", ["registry.invalid-response"]),
        ("comfyui-linux-only", "1.0.0", 1, "error", ["os.unsupported"]),
        ("comfyui-new-only", "2.0.0", 1, "error", ["comfyui.incompatible"]),
        ("comfyui-easy-use", "1.3.0", 1, "warning", ["status.deprecated"]),
    ]


def test_blockers_of_one_target(rolled: Rollup) -> None:
    # Not blockers: comfyui-linux-only (broken on Windows today, upgrade or not) and
    # comfyui-new-only (fixed by the upgrade). render-08 and render-09 planned no 0.4.0.
    assert rows(rolled.blockers) == [
        ("0.4.0", IMPACT, "8.8.1", 4, ["render-01", "render-02", "render-03", "render-12"]),
        ("0.4.0", IMPACT, "8.7.0", 1, ["render-04"]),
    ]
    assert rolled.untargeted_hosts == ("render-08", "render-09")


def test_blockers_of_each_hosts_own_target(fleet: Path) -> None:
    result = rollup(fleet, now=NOW)
    assert rows(result.blockers) == [
        ("0.4.0", IMPACT, "8.8.1", 4, ["render-01", "render-02", "render-03", "render-12"]),
        ("0.4.0", IMPACT, "8.7.0", 1, ["render-04"]),
        ("0.5.0", IMPACT, "8.8.1", 1, ["render-08"]),
    ]
    assert result.untargeted_hosts == ("render-09",)


def test_a_target_matches_as_a_version(fleet: Path) -> None:
    assert rows(rollup(fleet, now=NOW, target_comfyui="v0.4").blockers, "host_count") == [
        (4,),
        (1,),
    ]


def test_drift(rolled: Rollup) -> None:
    assert rows(rolled.drift) == [
        (IMPACT, 7, ["8.8.1", "8.7.0"], [6, 1]),
        (KJ, 7, ["1.1.2", "1.0.0"], [6, 1]),
    ]


def test_stale_and_incomplete(rolled: Rollup) -> None:
    assert rows(rolled.stale) == [
        ("render-03", "20240610T121000Z-000000", at(12, 10), 1, ["incomplete"]),
        ("render-10", "20240610T124000Z-000000", at(12, 40), 3, ["lookups-failed"]),
        ("render-11", "20240531T120000Z-000000", at(12, 0, day=31, month=5), 0, ["old"]),
    ]
    assert rows(rolled.incomplete) == [("20240610T130000Z-000000", at(13, 0), ["render-03"])]


def test_stale_after(fleet: Path) -> None:
    # render-01's run started 6 hours before NOW: stale after 5h57m, not after 6 hours.
    exactly = rollup(fleet, now=NOW, stale_after=timedelta(hours=6))
    assert rows(exactly.stale, "host") == [("render-03",), ("render-10",), ("render-11",)]
    result = rollup(fleet, now=NOW, stale_after=timedelta(hours=5, minutes=57))
    assert rows(result.stale, "host", "reasons") == [
        ("render-01", ["old"]),
        ("render-03", ["incomplete"]),
        ("render-10", ["lookups-failed"]),
        ("render-11", ["old"]),
    ]


def test_since_takes_every_run_from_then_on(fleet: Path) -> None:
    result = rollup(fleet, now=NOW, since=YESTERDAY, target_comfyui="0.4.0")
    assert rows(result.hosts, "host", "run_id") == [
        ("render-01", "20240610T120000Z-000000"),
        ("render-02", "20240609T090000Z-000000"),
        ("render-02", "20240610T120500Z-000000"),
        ("render-03", "20240610T121000Z-000000"),
        ("render-04", "20240609T110000Z-000000"),
        ("render-04", "20240610T121000Z-000000"),
        ("render-05", "20240610T121500Z-000000"),
        ("render-06", "20240610T122000Z-000000"),
        ("render-07", "20240610T122500Z-000000"),
        ("render-08", "20240610T123000Z-000000"),
        ("render-09", "20240610T123500Z-000000"),
        ("render-10", "20240610T124000Z-000000"),
        ("render-12", "20240609T100000Z-000000"),
        ("render-12", "20240101T000000Z-aaaaaa"),
    ]
    assert rows(result.packs, "node_id", "host_count") == [
        (MX, 2),
        ("comfyui-broken", 1),
        ("comfyui-linux-only", 1),
        ("comfyui-new-only", 1),
        ("comfyui-easy-use", 1),
    ]
    assert rows(result.drift, "node_id", "host_count", "versions", "host_counts") == [
        (IMPACT, 7, ["8.8.1", "8.7.0"], [6, 2]),
        (KJ, 6, ["1.1.2", "1.0.0"], [5, 3]),
    ]
    # Staleness is about each host's newest run, whatever the window.
    assert rows(result.stale, "host") == [("render-03",), ("render-10",), ("render-11",)]


def test_written_as_parquet_csv_and_rollup_json(rolled: Rollup, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(Path(rolled.source), out)
    folder = Path(write_rollup(rolled, out))
    assert folder == out / "fleet" / "20240610T180000Z-f1ee70"
    names = [f"{n}.{ext}" for n in ROLLUP_SCHEMAS for ext in ("csv", "parquet")]
    assert sorted(p.name for p in folder.iterdir()) == sorted([*names, "rollup.json"])
    for name, table in rolled.tables().items():
        assert pq.read_table(folder / f"{name}.parquet").equals(table), name
    assert (folder / "blockers.csv").read_bytes().decode() == (
        '"rollup_id","target_comfyui","node_id","version","host_count","hosts"\r\n'
        '"20240610T180000Z-f1ee70","0.4.0","comfyui-impact-pack","8.8.1",4,'
        '"render-01;render-02;render-03;render-12"\r\n'
        '"20240610T180000Z-f1ee70","0.4.0","comfyui-impact-pack","8.7.0",1,"render-04"\r\n'
    )
    assert (folder / "drift.csv").read_bytes().decode() == (
        '"rollup_id","node_id","host_count","versions","host_counts"\r\n'
        '"20240610T180000Z-f1ee70","comfyui-impact-pack",7,"8.8.1;8.7.0","6;1"\r\n'
        '"20240610T180000Z-f1ee70","comfyui-kjnodes",7,"1.1.2;1.0.0","6;1"\r\n'
    )
    document = json.loads((folder / "rollup.json").read_text(encoding="utf-8"))
    assert document == {
        "tool": "comfy-audit",
        "tool_version": audit.__version__,
        "schema_version": ROLLUP_SCHEMA_VERSION,
        "rollup_id": "20240610T180000Z-f1ee70",
        "created_at": "2024-06-10T18:00:00.000000Z",
        "source": rolled.source,
        "since": None,
        "target_comfyui": "0.4.0",
        "stale_after_seconds": 604800.0,
        "runs": {"found": 14, "used": 11, "incomplete": 1},
        "counts": {
            "hosts": 12,
            "packs": 5,
            "blockers": 2,
            "drift": 2,
            "stale": 3,
            "incomplete": 1,
            "vulnerabilities": 0,
            "workflows": 0,
        },
        "untargeted_hosts": ["render-08", "render-09"],
    }


def test_a_rollup_is_never_written_twice_and_never_read_as_a_run(
    rolled: Rollup, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    shutil.copytree(Path(rolled.source), out)
    folder = Path(write_rollup(rolled, out))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(ReportError, match="the roll-up already exists; it is never overwritten"):
        write_rollup(rolled, out)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    again = rollup(out, now=NOW, target_comfyui="0.4.0", rollup_id="20240610T180000Z-f1ee70")
    for name, table in again.tables().items():
        assert table.equals(rolled.tables()[name]), name
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [
        ".20240610T131000Z-000000.partial-0123456789abcdef"
    ]


def test_never_written_inside_a_run_folder(rolled: Rollup, tmp_path: Path) -> None:
    run_folder = Path(rolled.source) / "20240610T120000Z-000000"
    with pytest.raises(ReportError, match="a run folder; roll-ups go beside runs"):
        write_rollup(rolled, run_folder)
    assert not (run_folder / "fleet").exists()


def test_waived_findings_are_counted_apart(tmp_path: Path) -> None:
    waived = replace(finding("status.flagged", Severity.ERROR), waived=True, waiver_reason="ok")
    kept = finding("security.tag", Severity.WARNING)
    write_run(make_run([audited(entry(), findings=[waived, kept])]), tmp_path)
    result = rollup(tmp_path, now=T0)
    assert rows(result.hosts, "host", "warning", "error", "waived") == [("gpu-01", 1, 0, 1)]
    assert rows(result.packs, "node_id", "worst_severity", "checks") == [
        ("comfyui-foo", "warning", ["security.tag"])
    ]


def test_render(rolled: Rollup) -> None:
    text = render_rollup(rolled, "OUT/fleet/20240610T180000Z-f1ee70")
    assert text.replace(rolled.source, "OUT") == RENDERED


RENDERED = """\
fleet roll-up 20240610T180000Z-f1ee70 of OUT
hosts: 12, newest run of each
runs: 11 used of 14 complete; 1 incomplete (no run.json)
findings: 1 critical, 9 error, 1 warning, 12 info; 0 waived

hosts, worst first:
  host       run                      critical  error  warning  info  waived  exit
  render-05  20240610T121500Z-000000         1      0        0     1       0     1
  render-01  20240610T120000Z-000000         0      1        1     1       0     1
  render-02  20240610T120500Z-000000         0      1        0     1       0     1
  render-03  20240610T121000Z-000000         0      1        0     1       0     1
  render-04  20240610T121000Z-000000         0      1        0     1       0     1
  render-06  20240610T122000Z-000000         0      1        0     1       0     1
  render-07  20240610T122500Z-000000         0      1        0     1       0     1
  render-08  20240610T123000Z-000000         0      1        0     1       0     1
  render-10  20240610T124000Z-000000         0      1        0     1       0     3
  render-12  20240101T000000Z-aaaaaa         0      1        0     1       0     1
  render-09  20240610T123500Z-000000         0      0        0     1       0     0
  render-11  20240531T120000Z-000000         0      0        0     1       0     0

packs with findings at warning or above, worst first:
  pack                      worst     checks                     hosts
  comfyui-mxtoolkit@0.9.92  critical  status.banned                  1
  comfyui-broken@1.0.0      error     registry.invalid-response      1
  comfyui-linux-only@1.0.0  error     os.unsupported                 1
  comfyui-new-only@2.0.0    error     comfyui.incompatible           1
  comfyui-easy-use@1.3.0    warning   status.deprecated              1

upgrade blockers for ComfyUI 0.4.0:
  pack                       target  on                                          hosts
  comfyui-impact-pack@8.8.1  0.4.0   render-01, render-02, render-03, render-12      4
  comfyui-impact-pack@8.7.0  0.4.0   render-04                                       1
  not checked against ComfyUI 0.4.0: 2 hosts (render-08, render-09)

version drift, packs at several versions:
  pack                 versions (hosts)      hosts
  comfyui-impact-pack  8.8.1 (6), 8.7.0 (1)      7
  comfyui-kjnodes      1.1.2 (6), 1.0.0 (1)      7

stale hosts (incomplete, failed lookups, or older than 7 days):
  host       reasons         last run                 started
  render-03  incomplete      20240610T121000Z-000000  2024-06-10T12:10:00Z
  render-10  lookups-failed  20240610T124000Z-000000  2024-06-10T12:40:00Z
  render-11  old             20240531T120000Z-000000  2024-05-31T12:00:00Z

incomplete runs (no run.json):
  run                      started               hosts
  20240610T130000Z-000000  2024-06-10T13:00:00Z  render-03

known vulnerabilities of installed Python packages, worst first: none

roll-up: OUT/fleet/20240610T180000Z-f1ee70"""


def test_render_cuts_long_sections(tmp_path: Path) -> None:
    for n in range(MAX_ROWS + 3):
        run = make_run(
            [audited(entry(host=f"h{n:02}"))],
            run_id=f"run-{n:02}",
            host_environments={f"h{n:02}": LINUX_CUDA},
        )
        write_run(run, tmp_path)
    lines = render_rollup(rollup(tmp_path, now=T0, rollup_id="r")).splitlines()
    hosts = lines[lines.index("hosts, worst first:") :]
    assert hosts[MAX_ROWS + 1].startswith("  h19   run-19 ")
    assert hosts[MAX_ROWS + 2 : MAX_ROWS + 4] == ["  ... and 3 more in hosts.csv", ""]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda out: shutil.rmtree(out), "OUT: no such folder"),
        (
            lambda out: (out / RUN / "run.json").write_text("{not json"),
            f"OUT/{RUN}/run.json: not JSON: ",
        ),
        (
            lambda out: (out / RUN / "run.json").write_text(NO_HOSTS),
            f"OUT/{RUN}/run.json: 'hosts' is missing or not a non-empty object",
        ),
        (
            lambda out: (out / RUN / "findings.parquet").write_bytes(b"PAR1 truncated"),
            f"OUT/{RUN}/findings.parquet: not a readable report table: ",
        ),
        (
            lambda out: (out / RUN / "nodes.parquet").unlink(),
            f"OUT/{RUN}/nodes.parquet: missing from a complete run",
        ),
    ],
    ids=["missing", "not-json", "not-a-run", "corrupt-parquet", "missing-table"],
)
def test_bad_input_names_the_path(
    fleet: Path, tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    out = tmp_path / "out"
    shutil.copytree(fleet, out)
    damage(out)
    with pytest.raises(InputError) as caught:
        rollup(out, now=NOW)
    assert str(caught.value).replace(str(out), "OUT").startswith(message)


def test_a_folder_without_runs_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "fleet" / "old").mkdir(parents=True)
    (tmp_path / "fleet" / "old" / "run.json").write_text("{}")
    with pytest.raises(InputError) as caught:
        rollup(tmp_path, now=NOW)
    assert str(caught.value) == f"{tmp_path}: no runs found (a run is a folder holding run.json)"


def test_an_object_store_fleet(
    s3: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.create_bucket("fleet")
    maker = FleetMaker(tmp_path, monkeypatch)
    out = "s3://fleet/audits"
    maker.run(out, at(12, 0), {"render-01": {KJ: "1.1.2", IMPACT: "8.8.1"}}, *LINUX, *TO_040)
    maker.run(out, at(12, 5), {"render-02": {KJ: "1.0.0", IMPACT: "8.8.1"}}, *LINUX, *TO_040)
    result = rollup(out, now=NOW, target_comfyui="0.4.0", rollup_id="r1")
    assert rows(result.hosts) == [
        ("render-01", "20240610T120000Z-000000", at(12, 0), 1, 0, 1, 0, 0, 1),
        ("render-02", "20240610T120500Z-000000", at(12, 5), 1, 0, 1, 0, 0, 1),
    ]
    assert rows(result.blockers) == [("0.4.0", IMPACT, "8.8.1", 2, ["render-01", "render-02"])]
    assert rows(result.drift) == [(KJ, 2, ["1.0.0", "1.1.2"], [1, 1])]
    assert rows(result.stale) == rows(result.incomplete) == rows(result.packs) == []
    assert write_rollup(result, out) == "s3://fleet/audits/fleet/r1"
    written = [k for k in s3.keys("fleet") if k.startswith("audits/fleet/")]
    names = [f"{n}.{ext}" for n in ROLLUP_SCHEMAS for ext in ("csv", "parquet")]
    assert written == sorted(f"audits/fleet/r1/{n}" for n in [*names, "rollup.json"])
    # The roll-up is not a run; the next roll-up reads the same two runs.
    assert rows(rollup(out, now=NOW, rollup_id="r2").hosts, "host") == [
        ("render-01",),
        ("render-02",),
    ]


def test_a_missing_bucket_is_an_input_error_without_credentials(s3: S3Server) -> None:
    with pytest.raises(InputError) as caught:
        rollup("s3://no-such-bucket/audits", now=NOW)
    assert str(caught.value) == "s3://no-such-bucket/audits: no such folder"

"""The baseline: reading a run folder or findings file, identity, and new vs known."""

from __future__ import annotations

import doctest
from dataclasses import replace
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audit.baseline
from audit.baseline import IDENTITY_COLUMNS, Baseline, identity, load_baseline
from audit.errors import InputError
from audit.model import AuditRun, Finding, FindingSource, Severity, When
from audit.report import FINDINGS_SCHEMA, write_run
from tests.report.conftest import (
    COMFYUI_TOO_OLD,
    ENV_UNKNOWN,
    FETCH_FAILED,
    audited,
    entry,
    finding,
    make_run,
    sample_run,
)

MISSING_NUMPY = finding(
    "dependency.missing",
    Severity.ERROR,
    "numpy>=1.26 is required but not installed",
    expected="numpy>=1.26",
    actual="not installed",
)
MISSING_TORCH = replace(
    MISSING_NUMPY, message="torch is required but not installed", expected="torch"
)


WAIVED_TAG = replace(
    finding("security.tag", actual="any-code-execute"), waived=True, waiver_reason="accepted"
)


def _previous(tmp_path: Path) -> Path:
    run = make_run(
        [audited(entry(), findings=[COMFYUI_TOO_OLD, MISSING_NUMPY, WAIVED_TAG])],
        [ENV_UNKNOWN],
        run_id="previous",
    )
    return write_run(run, tmp_path)


NOW = [
    # the same finding, reworded and less severe: still known
    replace(COMFYUI_TOO_OLD, message="reworded", severity=Severity.WARNING),
    # the node id in another case: registry ids compare case-insensitively
    replace(MISSING_NUMPY, node_id="ComfyUI-Foo"),
    # waived now, counted before; and waived both times
    replace(ENV_UNKNOWN, waived=True, waiver_reason="accepted"),
    replace(WAIVED_TAG, waiver_reason="another reason"),
    # another distribution of the same check on the same pack: new
    MISSING_TORCH,
    # a changed fact, version, host or time: new
    replace(COMFYUI_TOO_OLD, actual="0.3.31"),
    replace(COMFYUI_TOO_OLD, version="1.3.0"),
    replace(COMFYUI_TOO_OLD, host="gpu-02"),
    replace(COMFYUI_TOO_OLD, when=When.AFTER_UPGRADE),
    FETCH_FAILED,
    # newly counting: worse than before, or waived before and not now
    replace(COMFYUI_TOO_OLD, severity=Severity.CRITICAL),
    replace(WAIVED_TAG, waived=False, waiver_reason=None),
]
MARKS = ["known"] * 4 + ["new"] * 8


def _marks(baseline: Baseline) -> list[str | None]:
    return [f.baseline for f in baseline.mark(NOW)]


def test_a_run_folder_as_baseline(tmp_path: Path) -> None:
    folder = _previous(tmp_path)
    baseline = load_baseline(folder)
    assert baseline.path == str(folder)
    assert _marks(baseline) == MARKS
    marked = baseline.mark(NOW)
    assert [replace(f, baseline=None) for f in marked] == NOW


@pytest.mark.parametrize("name", ["findings.parquet", "findings.csv"])
def test_a_findings_file_as_baseline(tmp_path: Path, name: str) -> None:
    assert _marks(load_baseline(_previous(tmp_path) / name)) == MARKS


def test_empty_text_and_null_are_the_same(tmp_path: Path) -> None:
    previous = write_run(make_run([], [replace(ENV_UNKNOWN, actual="")], run_id="p"), tmp_path)
    for path in (previous, previous / "findings.csv"):
        assert [f.baseline for f in load_baseline(path).mark([ENV_UNKNOWN])] == ["known"]


def test_a_csv_baseline_reads_neutralised_cells_as_their_values(tmp_path: Path) -> None:
    formula = replace(ENV_UNKNOWN, expected="=1+1", actual="'-x")
    previous = write_run(make_run([], [formula], run_id="p"), tmp_path)
    assert '"\'=1+1","\'\'-x"' in (previous / "findings.csv").read_text(encoding="utf-8")
    marked = load_baseline(previous / "findings.csv").mark([formula, ENV_UNKNOWN])
    assert [f.baseline for f in marked] == ["known", "new"]


def test_mark_run_marks_every_finding(tmp_path: Path) -> None:
    run = sample_run("now")
    marked = load_baseline(write_run(sample_run("before"), tmp_path)).mark_run(run)
    assert [f.baseline for f in marked.findings] == ["known"] * len(run.findings)
    assert [replace(f, baseline=None) for f in marked.findings] == list(run.findings)
    assert marked.exit_code == run.exit_code
    assert [a.entry for a in marked.entries] == [a.entry for a in run.entries]


def test_an_empty_baseline_marks_everything_new(tmp_path: Path) -> None:
    empty = write_run(make_run(run_id="empty"), tmp_path)
    assert _marks(load_baseline(empty)) == ["new"] * len(NOW)


def _error(path: Path) -> str:
    with pytest.raises(InputError) as caught:
        load_baseline(path)
    return str(caught.value)


def test_bad_baselines(tmp_path: Path) -> None:
    assert _error(tmp_path / "gone") == f"{tmp_path / 'gone'}: no such file or folder"
    assert _error(tmp_path) == f"{tmp_path}: not a run folder: it has no findings.parquet"
    (tmp_path / "run.json").write_text("{}")
    assert _error(tmp_path / "run.json") == (
        f"{tmp_path / 'run.json'}: not a baseline: give a run folder, or a .parquet or .csv file"
    )
    (tmp_path / "junk.parquet").write_text("not parquet")
    assert _error(tmp_path / "junk.parquet").startswith(
        f"{tmp_path / 'junk.parquet'}: cannot read the baseline: "
    )
    (tmp_path / "latin1.csv").write_bytes(b"host\n\xe9\n")
    assert _error(tmp_path / "latin1.csv").startswith(
        f"{tmp_path / 'latin1.csv'}: cannot read the baseline: 'utf-8' codec"
    )
    (tmp_path / "empty.csv").write_text("")
    assert _error(tmp_path / "empty.csv") == (
        f"{tmp_path / 'empty.csv'}: not a findings table: it has no column 'host'"
    )
    (tmp_path / "nodes.csv").write_text("host,node_id,version,check,when,expected\n")
    assert _error(tmp_path / "nodes.csv") == (
        f"{tmp_path / 'nodes.csv'}: not a findings table: it has no column 'actual'"
    )
    columns = "host,node_id,version,check,when,expected,actual,severity,waived"
    (tmp_path / "nodes.csv").write_text(f"{columns}\nh,,,c,now,,,bad,false\n")
    assert _error(tmp_path / "nodes.csv") == (
        f"{tmp_path / 'nodes.csv'}: not a findings table: unknown severity 'bad'"
    )
    (tmp_path / "nodes.csv").write_text("host,node_id,version,check,when,expected,actual\n")
    assert _error(tmp_path / "nodes.csv") == (
        f"{tmp_path / 'nodes.csv'}: not a findings table: it has no column 'severity'"
    )
    pq.write_table(pa.table({"host": ["a"]}), tmp_path / "nodes.parquet")
    assert _error(tmp_path / "nodes.parquet") == (
        f"{tmp_path / 'nodes.parquet'}: not a findings table: it has no column 'node_id'"
    )


def test_a_folder_whose_findings_are_a_folder(tmp_path: Path) -> None:
    (tmp_path / "findings.parquet").mkdir()
    assert _error(tmp_path) == f"{tmp_path}: not a run folder: it has no findings.parquet"


def test_doctests() -> None:
    assert doctest.testmod(audit.baseline).failed == 0


texts = st.none() | st.text(max_size=6)
findings_strategy = st.builds(
    Finding,
    host=st.sampled_from(["gpu-01", "gpu-02"]),
    node_id=st.none() | st.sampled_from(["foo", "Foo", "bar"]),
    version=st.none() | st.sampled_from(["1.0", "2.0"]),
    check=st.sampled_from(["status.flagged", "security.tag"]),
    severity=st.sampled_from(Severity),
    message=st.text(max_size=6),
    source=st.sampled_from(FindingSource),
    expected=texts,
    actual=texts,
    when=st.sampled_from(When),
    waived=st.booleans(),
    workflow=st.none() | st.sampled_from(["a.json", "b.json"]),
    vuln_id=st.none() | st.sampled_from(["PYSEC-2025-41", "GHSA-53q9-r3pm-6pq6"]),
)


@settings(deadline=None, max_examples=50)
@given(st.lists(findings_strategy, max_size=6), st.lists(findings_strategy, max_size=6))
def test_a_run_knows_its_own_findings_after_a_round_trip(
    tmp_path_factory: pytest.TempPathFactory, before: list[Finding], after: list[Finding]
) -> None:
    folder = write_run(_run(before), tmp_path_factory.mktemp("runs"))
    for path in (folder, folder / "findings.csv"):
        baseline = load_baseline(path)
        assert all(f.baseline == "known" for f in baseline.mark(before))
        assert [f.baseline for f in baseline.mark(after)] == [_reference(before, f) for f in after]


def _reference(before: list[Finding], f: Finding) -> str:
    """The definition of "known", written out plainly."""
    same = [b for b in before if identity(b) == identity(f)]
    if any(f.waived or (not b.waived and b.severity >= f.severity) for b in same):
        return "known"
    return "new"


def _run(findings: list[Finding]) -> AuditRun:
    return make_run([], findings, run_id="r")


def test_identity_columns_are_findings_columns() -> None:
    assert set(IDENTITY_COLUMNS) <= set(FINDINGS_SCHEMA.names)


TORCH_CVE = finding(
    "vulnerability.known",
    Severity.CRITICAL,
    "torch 2.5.1 has a known vulnerability: PYSEC-2025-41: RCE; fixed in 2.6.0",
    node_id=None,
    version=None,
    source=FindingSource.OSV,
    expected="2.6.0",
    actual="2.5.1",
)
MISSING_IN_A = replace(
    finding("workflow.missing-pack", Severity.ERROR, source=FindingSource.WORKFLOW),
    expected="comfyui-foo",
    workflow="a.json",
)


def test_the_advisory_and_the_workflow_tell_findings_apart(tmp_path: Path) -> None:
    known = [replace(TORCH_CVE, vuln_id="PYSEC-2025-41"), MISSING_IN_A]
    baseline = load_baseline(write_run(_run(known), tmp_path))
    now = [
        *known,
        # another advisory of the same installed version, with the same fix
        replace(TORCH_CVE, vuln_id="GHSA-aaaa-bbbb-cccc", message="another"),
        # the same finding about another workflow
        replace(MISSING_IN_A, workflow="b.json"),
    ]
    assert [f.baseline for f in baseline.mark(now)] == ["known", "known", "new", "new"]


@pytest.mark.parametrize("name", ["findings.parquet", "findings.csv"])
def test_a_baseline_written_before_the_later_columns(tmp_path: Path, name: str) -> None:
    known = [replace(TORCH_CVE, vuln_id="PYSEC-2025-41"), MISSING_IN_A, MISSING_NUMPY]
    folder = write_run(_run(known), tmp_path)
    old = tmp_path / f"old-{name}"
    table = pq.read_table(folder / "findings.parquet").drop_columns(["workflow", "vuln_id"])
    if name.endswith(".csv"):
        table.to_pandas().to_csv(old, index=False)
    else:
        pq.write_table(table, old)
    baseline = load_baseline(old)
    # NOTE: compared without the columns the baseline lacks, so an upgrade marks nothing new.
    renamed = replace(TORCH_CVE, vuln_id="GHSA-aaaa-bbbb-cccc")
    now = [*known, renamed, replace(MISSING_NUMPY, actual="1.0")]
    assert [f.baseline for f in baseline.mark(now)] == ["known"] * 4 + ["new"]

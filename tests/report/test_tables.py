"""The rows of the report tables, and what pandas reads back from their Parquet."""

from __future__ import annotations

import glob
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.model import AuditRun, Found, NodeVersion, NotFound, Severity, When
from audit.report import findings_table, nodes_table, requirements_table, tables, write_run
from tests.report.conftest import (
    DEPENDENCIES_NOTE,
    audited,
    entry,
    finding,
    make_run,
    read_frame,
    sample_run,
)

LABELS = ["info", "warning", "error", "critical"]
FETCHED = datetime(2024, 4, 30, 8, 15, tzinfo=UTC)
NO_REGISTRY = {
    "status": None,
    "deprecated": None,
    "supported_os": None,
    "supported_accelerators": None,
    "supported_comfyui_version": None,
    "supported_comfyui_frontend_version": None,
    "dependencies": None,
    "tags_admin": None,
    "fetched_at": None,
}
NO_NODE = dict.fromkeys(
    ("node_status", "publisher_id", "publisher_status", "latest_version", "outdated")
)


#: The sample run's second finding, as a row of the findings table.
SECOND_FINDING: dict[str, object] = {
    "run_id": "run-1",
    "host": "gpu-01",
    "node_id": "comfyui-foo",
    "version": "1.2.0",
    "check": "comfyui.version",
    "severity": "error",
    "message": "needs ComfyUI >=0.4.0, installed 0.3.30",
    "expected": ">=0.4.0",
    "actual": "0.3.30",
    "source": "registry",
    "when": "now",
    "waived": False,
    "waiver_reason": None,
    "baseline": None,
    "workflow": None,
    "vuln_id": None,
}


def _severities(values: list[str | None]) -> pd.Categorical:
    return pd.Categorical(values, categories=LABELS, ordered=True)


def test_nodes_rows(run: AuditRun) -> None:
    ids = {"run_id": "run-1", "host": "gpu-01"}
    assert nodes_table(run).to_pylist() == [
        {
            **ids,
            "node_id": "comfyui-foo",
            "version": "1.2.0",
            "source": "registry",
            "status": "NodeVersionStatusActive",
            "deprecated": False,
            "supported_os": ["linux", "windows"],
            "supported_accelerators": ["cuda"],
            "supported_comfyui_version": ">=0.4.0",
            "supported_comfyui_frontend_version": None,
            "dependencies": ["numpy>=1.26", "torch"],
            "tags_admin": [],
            "fetched_at": FETCHED,
            "cache_hit": True,
            "disabled": False,
            "url": None,
            "hash": None,
            "compatible_now": False,
            "compatible_after_upgrade": None,
            "worst_severity": "error",
            "finding_count": 2,
            **NO_NODE,
        },
        {
            **ids,
            "node_id": "my-node",
            "version": "0123abc",
            "source": "git",
            **NO_REGISTRY,
            "cache_hit": None,
            "disabled": True,
            "url": "https://github.com/me/my-node",
            "hash": "0123abc",
            "compatible_now": True,
            "compatible_after_upgrade": None,
            "worst_severity": None,
            "finding_count": 0,
            **NO_NODE,
        },
        {
            **ids,
            "node_id": "bar",
            "version": "2.0",
            "source": "registry",
            **NO_REGISTRY,
            "cache_hit": False,
            "disabled": False,
            "url": None,
            "hash": None,
            "compatible_now": None,
            "compatible_after_upgrade": None,
            "worst_severity": "error",
            "finding_count": 1,
            **NO_NODE,
        },
    ]


@pytest.mark.parametrize("build", [nodes_table, findings_table], ids=["nodes", "findings"])
@pytest.mark.parametrize("size", [1, 2])
def test_items_read_a_slice_at_a_time_make_the_same_table(
    build: Any, size: int, run: AuditRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = build(run)
    monkeypatch.setattr(tables, "_SLICE", size)
    sliced = build(run)
    assert sliced.equals(whole)


def test_findings_repeated_on_hosts_keep_each_row_its_own_cells() -> None:
    # NOTE: cells are converted once per distinct combination; rows that differ in one cell
    # (the host, the message, the severity, a null) must still each get their own.
    fleet = [
        audited(
            entry(host=host),
            findings=[
                finding(host=host),
                finding(host=host, message="another message"),
                finding(host=host, severity=Severity.ERROR),
                finding(host=host, expected=">=1" if host == "gpu-02" else None),
            ],
        )
        for host in ("gpu-01", "gpu-02", "gpu-01")
    ]
    run = make_run(fleet, [finding(host="gpu-03", node_id=None, version=None)])

    rows = findings_table(run).to_pylist()

    expected = [(f.host, f.node_id, f.message, f.severity.label, f.expected) for f in run.findings]
    assert [
        (r["host"], r["node_id"], r["message"], r["severity"], r["expected"]) for r in rows
    ] == expected
    assert len(rows) == 13


@pytest.mark.parametrize("build", [nodes_table, findings_table], ids=["nodes", "findings"])
def test_a_run_without_rows_makes_an_empty_table_of_the_schema(build: Any) -> None:
    table = build(make_run())
    assert table.num_rows == 0
    assert table.schema.names == build(sample_run()).schema.names


def test_findings_rows_put_host_findings_first(run: AuditRun) -> None:
    rows = findings_table(run).to_pylist()
    assert [(r["node_id"], r["check"]) for r in rows] == [
        (None, "env.unknown"),
        ("comfyui-foo", "comfyui.version"),
        ("comfyui-foo", "dependency.info"),
        ("bar", "registry.fetch-failed"),
    ]
    assert rows[1] == SECOND_FINDING


def test_not_found_is_looked_up_but_has_no_registry_fields() -> None:
    row = nodes_table(make_run([audited(entry(), NotFound())])).to_pylist()[0]
    assert {k: row[k] for k in NO_REGISTRY} == NO_REGISTRY
    assert row["cache_hit"] is False


@pytest.mark.parametrize(
    ("fetched_at", "expected"),
    [
        (datetime(2024, 4, 30, 10, 15, tzinfo=timezone(timedelta(hours=2))), FETCHED),
        (datetime(2024, 4, 30, 8, 15), FETCHED),
    ],
    ids=["offset", "naive-is-utc"],
)
def test_fetched_at_is_stored_in_utc(fetched_at: datetime, expected: datetime) -> None:
    version = NodeVersion("comfyui-foo", "1.2.0", fetched_at=fetched_at)
    table = nodes_table(make_run([audited(entry(), Found(version))]))
    assert table.column("fetched_at").to_pylist() == [expected]


def test_severity_dictionary_holds_every_level_when_one_occurs() -> None:
    only_info = make_run([audited(entry(), None, [DEPENDENCIES_NOTE])])
    for column in (
        findings_table(only_info).column("severity"),
        nodes_table(only_info).column("worst_severity"),
    ):
        (chunk,) = column.chunks
        assert chunk.dictionary.to_pylist() == LABELS
        assert chunk.type.ordered


def test_parquet_nodes_read_by_pandas_equal_the_expected_frame(
    run: AuditRun, tmp_path: Path
) -> None:
    pq.write_table(nodes_table(run), tmp_path / "nodes.parquet")
    expected = pd.DataFrame(
        {
            "run_id": ["run-1"] * 3,
            "host": ["gpu-01"] * 3,
            "node_id": ["comfyui-foo", "my-node", "bar"],
            "version": ["1.2.0", "0123abc", "2.0"],
            "source": ["registry", "git", "registry"],
            "status": ["NodeVersionStatusActive", None, None],
            "deprecated": pd.Series([False, None, None], dtype=object),
            "supported_os": [["linux", "windows"], None, None],
            "supported_accelerators": [["cuda"], None, None],
            "supported_comfyui_version": [">=0.4.0", None, None],
            "supported_comfyui_frontend_version": pd.Series([None] * 3, dtype="str"),
            "dependencies": [["numpy>=1.26", "torch"], None, None],
            "tags_admin": [[], None, None],
            "fetched_at": pd.Series([FETCHED, None, None], dtype="datetime64[us, UTC]"),
            "cache_hit": pd.Series([True, None, False], dtype=object),
            "disabled": [False, True, False],
            "url": [None, "https://github.com/me/my-node", None],
            "hash": [None, "0123abc", None],
            "compatible_now": pd.Series([False, True, None], dtype=object),
            "compatible_after_upgrade": pd.Series([None] * 3, dtype=object),
            "worst_severity": _severities(["error", None, "error"]),
            "finding_count": pd.Series([2, 0, 1], dtype="int32"),
            "node_status": pd.Series([None] * 3, dtype="str"),
            "publisher_id": pd.Series([None] * 3, dtype="str"),
            "publisher_status": pd.Series([None] * 3, dtype="str"),
            "latest_version": pd.Series([None] * 3, dtype="str"),
            "outdated": pd.Series([None] * 3, dtype=object),
        }
    )
    pd.testing.assert_frame_equal(read_frame(tmp_path / "nodes.parquet"), expected)


def test_parquet_findings_read_by_pandas_equal_the_expected_frame(
    run: AuditRun, tmp_path: Path
) -> None:
    pq.write_table(findings_table(run), tmp_path / "findings.parquet")
    nulls = pd.Series([None] * 4, dtype="str")
    expected = pd.DataFrame(
        {
            "run_id": ["run-1"] * 4,
            "host": ["gpu-01"] * 4,
            "node_id": [None, "comfyui-foo", "comfyui-foo", "bar"],
            "version": [None, "1.2.0", "1.2.0", "2.0"],
            "check": [
                "env.unknown",
                "comfyui.version",
                "dependency.info",
                "registry.fetch-failed",
            ],
            "severity": _severities(["warning", "error", "info", "error"]),
            "message": [
                "installed packages are unknown",
                "needs ComfyUI >=0.4.0, installed 0.3.30",
                "2 requirements",
                "timed out after 3 attempts",
            ],
            "expected": [None, ">=0.4.0", None, None],
            "actual": [None, "0.3.30", None, None],
            "source": ["environment", "registry", "registry", "registry"],
            "when": ["now"] * 4,
            "waived": [False] * 4,
            "waiver_reason": nulls,
            "baseline": nulls,
            "workflow": nulls,
            "vuln_id": nulls,
        }
    )
    frame = read_frame(tmp_path / "findings.parquet")
    pd.testing.assert_frame_equal(frame, expected)
    assert frame.sort_values("severity", ascending=False)["check"].tolist()[:2] == [
        "comfyui.version",
        "registry.fetch-failed",
    ]


def test_requirements_rows_follow_the_run_order(run: AuditRun) -> None:
    ids = {"run_id": "run-1", "host": "gpu-01"}
    foo = {**ids, "node_id": "comfyui-foo", "version": "1.2.0"}
    assert requirements_table(run).to_pylist() == [
        {
            **foo,
            "requirement": "numpy>=1.26",
            "distribution": "numpy",
            "specifier": ">=1.26",
            "marker": None,
            "source": "registry",
            "installed_version": "1.26.4",
            "satisfied": True,
        },
        {
            **foo,
            "requirement": "torch<2",
            "distribution": "torch",
            "specifier": "<2",
            "marker": None,
            "source": "local",
            "installed_version": "2.9.1+cu126",
            "satisfied": False,
        },
        {
            **foo,
            "requirement": 'pywin32; python_version < "3.12"',
            "distribution": "pywin32",
            "specifier": None,
            "marker": 'python_version < "3.12"',
            "source": "local",
            "installed_version": None,
            "satisfied": None,
        },
        {
            **ids,
            "node_id": "bar",
            "version": "2.0",
            "requirement": "numpy<1.24>=1.18",
            "distribution": None,
            "specifier": None,
            "marker": None,
            "source": "local",
            "installed_version": None,
            "satisfied": None,
        },
    ]


def test_parquet_requirements_read_by_pandas_equal_the_expected_frame(
    run: AuditRun, tmp_path: Path
) -> None:
    pq.write_table(requirements_table(run), tmp_path / "requirements.parquet")
    expected = pd.DataFrame(
        {
            "run_id": ["run-1"] * 4,
            "host": ["gpu-01"] * 4,
            "node_id": ["comfyui-foo"] * 3 + ["bar"],
            "version": ["1.2.0"] * 3 + ["2.0"],
            "requirement": [
                "numpy>=1.26",
                "torch<2",
                'pywin32; python_version < "3.12"',
                "numpy<1.24>=1.18",
            ],
            "distribution": ["numpy", "torch", "pywin32", None],
            "specifier": [">=1.26", "<2", None, None],
            "marker": [None, None, 'python_version < "3.12"', None],
            "source": ["registry", "local", "local", "local"],
            "installed_version": ["1.26.4", "2.9.1+cu126", None, None],
            "satisfied": pd.Series([True, False, None, None], dtype=object),
        }
    )
    frame = read_frame(tmp_path / "requirements.parquet")
    pd.testing.assert_frame_equal(frame, expected)
    unmet = frame[frame["satisfied"].eq(False)]
    assert unmet["distribution"].tolist() == ["torch"]


def test_pandas_severity_is_ordered_and_complete_when_one_level_occurs(tmp_path: Path) -> None:
    critical = finding("dependency.compromised", Severity.CRITICAL, "bad wheel", node_id=None)
    pq.write_table(findings_table(make_run([], [critical])), tmp_path / "f.parquet")
    severity = pd.read_parquet(tmp_path / "f.parquet")["severity"]
    assert severity.cat.ordered
    assert severity.cat.categories.tolist() == LABELS
    assert (severity >= "error").tolist() == [True]


def test_a_glob_of_run_folders_loads_into_one_frame(tmp_path: Path) -> None:
    upgrade = finding("comfyui.version", Severity.ERROR, "too old", when=When.AFTER_UPGRADE)
    runs = [
        sample_run("run-a"),
        make_run(run_id="run-b"),  # NOTE: a clean run with empty tables must not break the load.
        make_run([audited(entry(), None, [upgrade])], run_id="run-c"),
    ]
    for each in runs:
        write_run(each, tmp_path / "outputs")
    # NOTE: pandas-stubs type ``path`` as one path; the pyarrow engine takes a list as well.
    paths: Any = sorted(glob.glob(str(tmp_path / "outputs" / "*" / "findings.parquet")))
    frame = pd.read_parquet(paths)
    assert frame["run_id"].tolist() == ["run-a"] * 4 + ["run-c"]
    assert frame["severity"].cat.categories.tolist() == LABELS
    assert frame["severity"].cat.ordered
    assert frame.groupby("run_id")["severity"].max().tolist() == ["error", "error"]
    node_paths: Any = sorted(glob.glob(str(tmp_path / "outputs" / "*" / "nodes.parquet")))
    nodes = pd.read_parquet(node_paths)
    assert len(nodes) == 4
    pattern = str(tmp_path / "outputs" / "*" / "requirements.parquet")
    requirement_paths: Any = sorted(glob.glob(pattern))
    requirements = pd.read_parquet(requirement_paths)
    assert requirements["run_id"].tolist() == ["run-a"] * 4
    assert requirements["satisfied"].tolist() == [True, False, None, None]


def test_non_empty_runs_concatenate_as_one_categorical(tmp_path: Path) -> None:
    for run_id in ("run-a", "run-b"):
        write_run(sample_run(run_id), tmp_path)
    frames = [pd.read_parquet(tmp_path / r / "findings.parquet") for r in ("run-a", "run-b")]
    severity = pd.concat(frames, ignore_index=True)["severity"]
    assert isinstance(severity.dtype, pd.CategoricalDtype)
    assert severity.cat.categories.tolist() == LABELS


def test_wrong_types_in_a_node_version_raise_arrow_errors() -> None:
    bad = NodeVersion("comfyui-foo", "1.2.0", supported_os=(1,))  # type: ignore[arg-type]
    with pytest.raises(pa.ArrowException):
        nodes_table(make_run([audited(entry(), Found(bad))]))


def test_an_empty_file_alone_reads_without_categories_but_a_list_restores_them(
    tmp_path: Path,
) -> None:
    # NOTE: Parquet stores a dictionary only alongside data, so pandas cannot know the four
    # levels of a file with no rows; reading the files as one list (the glob idiom) unifies them.
    empty = write_run(make_run(run_id="empty"), tmp_path) / "findings.parquet"
    full = write_run(sample_run("full"), tmp_path) / "findings.parquet"
    alone = pd.read_parquet(empty)["severity"]
    assert alone.cat.ordered
    assert alone.cat.categories.tolist() == []
    assert pq.read_table(empty).schema.field("severity").type.ordered
    both: Any = [empty, full]
    together = pd.read_parquet(both)["severity"]
    assert together.cat.categories.tolist() == LABELS

"""Properties over random findings: Parquet→pandas keeps rows, CSV agrees, summaries stay tidy."""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.model import Finding, FindingSource, Severity, When
from audit.report import findings_table, render_summary, write_run
from audit.report.csvout import FORMULA_START, restore_cell
from tests.report.conftest import audited, entry, make_run

names = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40) | st.builds(
    "{}{}".format, st.sampled_from([*FORMULA_START, "'", "''"]), names
)
findings_strategy = st.builds(
    Finding,
    host=st.sampled_from(["gpu-01", "gpu-02"]),
    node_id=st.none() | names,
    version=st.none() | names,
    check=names,
    severity=st.sampled_from(Severity),
    message=texts,
    source=st.sampled_from(FindingSource),
    expected=st.none() | texts,
    actual=st.none() | texts,
    when=st.sampled_from(When),
)
findings_lists = st.lists(findings_strategy, max_size=8)


def _expected_rows(findings: list[Finding]) -> list[tuple[object, ...]]:
    return [
        (
            f.host,
            f.node_id,
            f.version,
            f.check,
            f.severity.label,
            f.message,
            f.expected,
            f.actual,
            f.source.value,
            f.when.value,
        )
        for f in findings
    ]


def _none(value: object) -> object:
    # NOTE: every compared column is a string column, whose nulls pandas reads as NaN.
    return None if isinstance(value, float) and math.isnan(value) else value


@settings(deadline=None)
@given(host_findings=findings_lists, entry_findings=findings_lists)
def test_parquet_to_pandas_round_trip_keeps_every_row(
    host_findings: list[Finding], entry_findings: list[Finding]
) -> None:
    run = make_run([audited(entry(), None, entry_findings)], host_findings)
    buffer = io.BytesIO()
    pq.write_table(findings_table(run), buffer)
    frame = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    columns = ["host", "node_id", "version", "check", "severity", "message"]
    columns += ["expected", "actual", "source", "when"]
    rows = [tuple(_none(v) for v in row) for row in frame[columns].itertuples(index=False)]
    assert rows == _expected_rows(host_findings + entry_findings)
    assert frame["severity"].cat.ordered
    if rows:  # NOTE: an empty file stores no dictionary; see test_tables for the empty case.
        assert frame["severity"].cat.categories.tolist() == ["info", "warning", "error", "critical"]


@settings(deadline=None, max_examples=50)
@given(findings=findings_lists)
def test_csv_cells_equal_parquet_values_as_text(findings: list[Finding]) -> None:
    run = make_run([], findings)
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_run(run, Path(tmp))
        parquet = pq.read_table(folder / "findings.parquet").to_pylist()
        from_csv = pd.read_csv(folder / "findings.csv", dtype=str, keep_default_na=False)
    expected = [
        ["" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in r.values()]
        for r in parquet
    ]
    cells: list[list[str]] = from_csv.to_numpy().tolist()
    assert [[restore_cell(cell) for cell in row] for row in cells] == expected
    assert not [cell for row in cells for cell in row if cell and cell[0] in FORMULA_START]


@settings(deadline=None)
@given(findings=findings_lists)
def test_summary_lists_each_serious_finding_on_one_printable_line(findings: list[Finding]) -> None:
    run = make_run([], findings)
    text = render_summary(run, Path("out") / "r")
    lines = text.splitlines()
    serious = [f for f in findings if f.severity >= Severity.WARNING]
    assert sum(line.startswith("  ") for line in lines) == len(serious)
    assert all(line.isprintable() for line in lines)
    assert lines[-1] == f"reports: {Path('out') / 'r'}"
    assert render_summary(run, Path("out") / "r") == text

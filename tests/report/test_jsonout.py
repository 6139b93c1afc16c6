"""The findings as JSON: columns of the findings table, parsed back, safe on any terminal."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings

from audit.model import AuditRun, Finding
from audit.report import FINDINGS_SCHEMA, findings_json, write_run
from tests.report.conftest import finding, make_run, parquet_rows
from tests.report.test_properties import findings_lists
from tests.report.test_tables import SECOND_FINDING


def test_parsed_back(run: AuditRun) -> None:
    records = json.loads(findings_json(run))
    assert [list(r) for r in records] == [FINDINGS_SCHEMA.names] * 4
    assert records[1] == SECOND_FINDING


def test_waivers_and_baseline_are_columns(run: AuditRun) -> None:
    first = replace(run.host_findings[0], waived=True, waiver_reason="ok", baseline="known")
    record = json.loads(findings_json(replace(run, host_findings=(first,))))[0]
    assert (record["waived"], record["waiver_reason"], record["baseline"]) == (True, "ok", "known")


def test_an_empty_run_is_an_empty_array() -> None:
    assert findings_json(make_run()) == "[]\n"


def test_the_text_is_ascii() -> None:
    text = findings_json(make_run([], [finding(message="caf\u00e9 \u202e\x1b[31m")]))
    assert text.isascii()
    assert json.loads(text)[0]["message"] == "caf\u00e9 \u202e\x1b[31m"


@settings(deadline=None, max_examples=50)
@given(findings_lists)
def test_json_agrees_with_the_parquet_table(findings: list[Finding]) -> None:
    run = make_run([], findings, run_id="r")
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_run(run, Path(tmp))
        assert json.loads(findings_json(run)) == parquet_rows(folder / "findings.parquet")

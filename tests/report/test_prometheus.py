"""The node_exporter textfile: exact text, and a parse back with Prometheus' own parser."""

from __future__ import annotations

import doctest
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

import audit.report.prometheus
from audit.model import AuditRun, Severity
from audit.report import prometheus_text
from tests.report.conftest import audited, entry, finding, make_run

Sample = tuple[str, dict[str, str], float]


def _samples(text: str) -> dict[str, list[Sample]]:
    families = text_string_to_metric_families(text)
    return {
        f.name: [(s.name, s.labels, s.value) for s in f.samples]
        for f in families
        if f.type == "gauge"
    }


def _fleet_run(exit_code: int) -> AuditRun:
    flagged = finding("status.flagged", Severity.ERROR, host="gpu-02")
    return make_run(
        [
            audited(entry(), findings=[finding("security.tag", actual="a"), flagged]),
            audited(
                entry("bar", "2.0"),
                findings=[
                    finding("security.tag", node_id="bar", actual="b"),
                    finding("status.banned", Severity.CRITICAL, node_id="bar"),
                    replace(
                        finding("status.flagged", Severity.ERROR, node_id="bar"),
                        waived=True,
                        waiver_reason="ok",
                    ),
                ],
            ),
        ],
        [finding("env.unknown", Severity.INFO, node_id=None, version=None)],
        exit_code=exit_code,
    )


def test_exact_text() -> None:
    assert prometheus_text(_fleet_run(1)) == (
        "# HELP comfy_audit_findings Findings of the last audit that are not waived, "
        "by severity, check code and host.\n"
        "# TYPE comfy_audit_findings gauge\n"
        'comfy_audit_findings{severity="critical",check="status.banned",host="gpu-01"} 1\n'
        'comfy_audit_findings{severity="error",check="status.flagged",host="gpu-02"} 1\n'
        'comfy_audit_findings{severity="warning",check="security.tag",host="gpu-01"} 2\n'
        'comfy_audit_findings{severity="info",check="env.unknown",host="gpu-01"} 1\n'
        "# HELP comfy_audit_run_success 1 when the last audit completed (exit code 0 or 1), "
        "0 when it was incomplete.\n"
        "# TYPE comfy_audit_run_success gauge\n"
        "comfy_audit_run_success 1\n"
        "# HELP comfy_audit_run_duration_seconds How long the last audit took.\n"
        "# TYPE comfy_audit_run_duration_seconds gauge\n"
        "comfy_audit_run_duration_seconds 2.5\n"
        "# HELP comfy_audit_last_run_timestamp_seconds When the last audit finished, "
        "in seconds since the Unix epoch.\n"
        "# TYPE comfy_audit_last_run_timestamp_seconds gauge\n"
        "comfy_audit_last_run_timestamp_seconds 1714564802.5\n"
    )


@pytest.mark.parametrize(("exit_code", "success"), [(0, 1), (1, 1), (2, 0), (3, 0)])
def test_parsed_back(exit_code: int, success: int) -> None:
    assert _samples(prometheus_text(_fleet_run(exit_code))) == {
        "comfy_audit_findings": [
            (
                "comfy_audit_findings",
                {"severity": "critical", "check": "status.banned", "host": "gpu-01"},
                1.0,
            ),
            (
                "comfy_audit_findings",
                {"severity": "error", "check": "status.flagged", "host": "gpu-02"},
                1.0,
            ),
            (
                "comfy_audit_findings",
                {"severity": "warning", "check": "security.tag", "host": "gpu-01"},
                2.0,
            ),
            (
                "comfy_audit_findings",
                {"severity": "info", "check": "env.unknown", "host": "gpu-01"},
                1.0,
            ),
        ],
        "comfy_audit_run_success": [("comfy_audit_run_success", {}, float(success))],
        "comfy_audit_run_duration_seconds": [("comfy_audit_run_duration_seconds", {}, 2.5)],
        "comfy_audit_last_run_timestamp_seconds": [
            ("comfy_audit_last_run_timestamp_seconds", {}, 1714564802.5)
        ],
    }


def test_a_run_without_findings_still_has_every_metric() -> None:
    samples = _samples(prometheus_text(make_run(exit_code=0)))
    assert samples["comfy_audit_findings"] == []
    assert samples["comfy_audit_run_success"] == [("comfy_audit_run_success", {}, 1.0)]
    assert len(samples) == 4


def test_whole_seconds_are_written_as_integers() -> None:
    run = replace(make_run(), finished_at=make_run().started_at)
    text = prometheus_text(run)
    assert "comfy_audit_run_duration_seconds 0\n" in text
    assert "comfy_audit_last_run_timestamp_seconds 1714564800\n" in text


def test_doctests() -> None:
    assert doctest.testmod(audit.report.prometheus).failed == 0


label_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1)


@settings(deadline=None)
@example(hosts=['gpu "01"\\\n', "gpu-02\r"], check='status.flagged"}\n x 1')
@given(hosts=st.lists(label_text, min_size=1, max_size=4), check=label_text)
def test_any_label_value_reads_back(hosts: list[str], check: str) -> None:
    findings = [finding(check, Severity.ERROR, host=h) for h in hosts]
    samples = _samples(prometheus_text(make_run([], findings)))["comfy_audit_findings"]
    read = {(s[1]["host"], s[1]["check"]): s[2] for s in samples}
    assert read == {(h, check): float(hosts.count(h)) for h in hosts}

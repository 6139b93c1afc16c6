"""The terminal summary: exact text for small runs, grouping, ordering, and one-line safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.model import AuditRun, Failed, FindingSource, Found, Invalid, NotFound, Severity, When
from audit.report import render_summary
from audit.report.summary import one_line
from tests.report.conftest import FOO_VERSION, audited, entry, finding, make_run


def test_exact_summary_of_the_sample_run(run: AuditRun) -> None:
    assert render_summary(run, Path("outputs/run-1")) == (
        "run run-1: 1 host, 3 entries; registry lookups: 1 answered, 1 failed, 1 not looked up\n"
        "environment: os linux; accelerators cpu, cuda; ComfyUI 0.3.30; frontend unknown\n"
        "findings: 0 critical, 2 error, 1 warning, 1 info\n"
        "\n"
        "(host-level)\n"
        "  warning   env.unknown  installed packages are unknown\n"
        "bar@2.0\n"
        "  error     registry.fetch-failed  timed out after 3 attempts\n"
        "comfyui-foo@1.2.0\n"
        "  error     comfyui.version  needs ComfyUI >=0.4.0, installed 0.3.30\n"
        "\n"
        "reports: outputs/run-1"
    )


def _fleet_upgrade_run() -> AuditRun:
    banned = finding(
        "registry.banned", Severity.CRITICAL, "banned:\n\x1b[31mmalware\x1b[0m", host="b-host"
    )
    too_old = finding(
        "comfyui.version", Severity.ERROR, "needs >=0.5", host="b-host", when=When.AFTER_UPGRADE
    )
    deprecated = finding("registry.deprecated", Severity.WARNING, "deprecated", host="b-host")
    note = finding("os.unknown", Severity.INFO, "not shown", host="a-host", node_id="zeta")
    pip = finding(
        "dependency.compromised",
        Severity.CRITICAL,
        "numpy 9.9 is compromised",
        host="a-host",
        node_id=None,
        version=None,
        source=FindingSource.ENVIRONMENT,
    )
    return make_run(
        [
            audited(entry("zeta", None, host="a-host"), None, [note]),
            audited(
                entry(host="b-host"),
                Found(FOO_VERSION),
                [deprecated, too_old, banned],
                compatible_now=False,
                compatible_after_upgrade=False,
            ),
            audited(entry("Alpha", "1.0", host="b-host"), NotFound(), compatible_now=True),
            audited(entry("beta", "2", host="b-host"), Invalid("html"), compatible_now=True),
        ],
        [pip],
        host_environments={},
    )


def test_exact_summary_of_a_fleet_upgrade_run() -> None:
    assert render_summary(_fleet_upgrade_run(), None) == (
        "run run-1: 2 hosts, 4 entries; registry lookups: 2 answered, 1 failed, 1 not looked up\n"
        "environment: os linux; accelerators cpu, cuda; ComfyUI 0.3.30; frontend unknown\n"
        "findings: 2 critical, 1 error, 1 warning, 1 info\n"
        "\n"
        "a-host  (host-level)\n"
        "  critical  dependency.compromised  numpy 9.9 is compromised\n"
        "b-host  comfyui-foo@1.2.0\n"
        "  critical  registry.banned  banned: [31mmalware [0m\n"
        "  error     comfyui.version  needs >=0.5 (after upgrade)\n"
        "  warning   registry.deprecated  deprecated\n"
        "\n"
        "after upgrade: 1 pack incompatible (now: 1)\n"
        "reports: not written"
    )


def test_a_clean_run_says_so() -> None:
    clean = make_run([audited(entry(), Found(FOO_VERSION), compatible_now=True)])
    assert render_summary(clean, Path("out/r")) == (
        "run run-1: 1 host, 1 entry; registry lookups: 1 answered, 0 failed, 0 not looked up\n"
        "environment: os linux; accelerators cpu, cuda; ComfyUI 0.3.30; frontend unknown\n"
        "findings: 0 critical, 0 error, 0 warning, 0 info\n"
        "\n"
        "no findings at warning or above\n"
        "\n"
        "reports: out/r"
    )


def test_an_upgrade_run_without_findings_still_reports_the_upgrade() -> None:
    fine = audited(entry(), Failed("timeout"), compatible_after_upgrade=True)
    text = render_summary(make_run([fine, fine]), Path("r"))
    assert text.endswith("\n\nafter upgrade: 0 packs incompatible (now: 0)\nreports: r")


def test_packs_are_ordered_worst_first_then_by_name() -> None:
    run = make_run(
        [
            audited(entry(n, "1"), None, [finding("c", s, "m", node_id=n, version="1")])
            for n, s in [
                ("b", Severity.WARNING),
                ("A", Severity.WARNING),
                ("c", Severity.CRITICAL),
            ]
        ]
    )
    heads = [line for line in render_summary(run, None).splitlines() if "@" in line]
    assert heads == ["c@1", "A@1", "b@1"]


def test_every_line_is_one_line_and_free_of_escapes() -> None:
    message = "line1\nline2\r\x1b]0;title\x07\u2028\u202eevil\t" + "x" * 1000
    nasty = finding("chk\n", Severity.ERROR, message, node_id="id\nx", version=None)
    lines = render_summary(make_run([], [nasty]), Path("out\n/r")).splitlines()
    assert "id x" in lines
    assert "reports: out /r" in lines
    shown = next(line for line in lines if line.startswith("  error"))
    assert shown.startswith("  error     chk  line1 line2 ]0;title evil xxx")
    assert shown.endswith("x...")
    for line in lines:
        assert all(c.isprintable() for c in line)


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("plain", None, "plain"),
        ("a\n\nb", None, "a b"),
        ("  padded\t", None, "padded"),
        ("abcdefgh", 6, "abc..."),
        ("abcdef", 6, "abcdef"),
        ("bidi\u202eoverride", None, "bidi override"),
    ],
)
def test_one_line(text: str, limit: int | None, expected: str) -> None:
    assert one_line(text, limit) == expected


def test_a_long_listing_is_cut_at_whole_packs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("audit.report.summary.MAX_FINDING_LINES", 10)
    two = [("os.unsupported", Severity.ERROR), ("status.pending", Severity.WARNING)]
    run = make_run(
        [
            audited(
                entry(f"p{i:02d}", "1"),
                None,
                [finding(c, s, node_id=f"p{i:02d}", version="1") for c, s in two],
            )
            for i in range(30)
        ]
    )
    listed = render_summary(run, None).split("\n\n")[1].splitlines()
    assert len(listed) == 13  # four packs of three lines (10 reached), then the count
    assert listed[-1] == "... and 52 more in 26 more packs: see findings.csv"

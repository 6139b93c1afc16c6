"""The Markdown summary for CI job pages: exact text, waived and baseline columns, escaping."""

from __future__ import annotations

import doctest
from dataclasses import replace

import pytest

import audit.report.markdown
from audit.model import AuditRun, Found, Severity, When
from audit.report import markdown_summary
from audit.report.markdown import markdown_text
from tests.report.conftest import FOO_VERSION, audited, entry, finding, make_run

COUNTS_HEADER = "| severity | findings | waived |\n| --- | ---: | ---: |\n"


def test_exact_summary_of_the_sample_run(run: AuditRun) -> None:
    assert markdown_summary(run) == (
        "## comfy-audit: incomplete (exit code 3)\n"
        "\n"
        "run run-1: 1 host, 3 entries; registry lookups: 1 answered, 1 failed, "
        "1 not looked up\n"
        "\n"
        f"{COUNTS_HEADER}"
        "| critical | 0 | 0 |\n"
        "| error | 2 | 0 |\n"
        "| warning | 1 | 0 |\n"
        "| info | 1 | 0 |\n"
        "\n"
        "### Findings at warning and above\n"
        "\n"
        "| severity | host | pack | check | message |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| error | `gpu-01` | `bar@2.0` | `registry.fetch-failed` | timed out after 3 attempts |\n"
        "| error | `gpu-01` | `comfyui-foo@1.2.0` | `comfyui.version` | "
        "needs ComfyUI >=0.4.0, installed 0.3.30 |\n"
        "| warning | `gpu-01` | (host-level) | `env.unknown` | installed packages are unknown |\n"
    )


def _policy_run() -> AuditRun:
    flagged = finding("status.flagged", Severity.ERROR, "flagged | by the\nscanner")
    waived = replace(
        finding("security.tag", Severity.WARNING, "tag <b>x</b>", actual="x"),
        waived=True,
        waiver_reason="reviewed: see [ticket](http://x)",
    )
    too_old = finding("comfyui.incompatible", Severity.ERROR, "needs <0.4", when=When.AFTER_UPGRADE)
    marked = [
        replace(flagged, baseline="new"),
        replace(waived, baseline="known"),
        replace(too_old, baseline="known"),
        replace(finding("env.unknown", Severity.INFO, node_id=None, version=None), baseline="new"),
    ]
    foo = audited(
        entry(),
        Found(FOO_VERSION),
        marked[:3],
        compatible_now=True,
        compatible_after_upgrade=False,
    )
    return make_run([foo], marked[3:], exit_code=1)


def test_exact_summary_with_waivers_a_baseline_and_an_upgrade() -> None:
    assert markdown_summary(_policy_run()) == (
        "## comfy-audit: failed (exit code 1)\n"
        "\n"
        "run run-1: 1 host, 1 entry; registry lookups: 1 answered, 0 failed, 0 not looked up; "
        "baseline: 2 new, 2 known\n"
        "\n"
        "after upgrade: 1 pack incompatible (now: 0)\n"
        "\n"
        f"{COUNTS_HEADER}"
        "| critical | 0 | 0 |\n"
        "| error | 2 | 0 |\n"
        "| warning | 0 | 1 |\n"
        "| info | 1 | 0 |\n"
        "\n"
        "### Findings at warning and above\n"
        "\n"
        "| severity | host | pack | check | message | baseline |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| error | `gpu-01` | `comfyui-foo@1.2.0` | `comfyui.incompatible` | "
        "needs \\<0.4 (after upgrade) | known |\n"
        "| error | `gpu-01` | `comfyui-foo@1.2.0` | `status.flagged` | "
        "flagged \\| by the scanner | new |\n"
        "\n"
        "### Waived findings\n"
        "\n"
        "| severity | host | pack | check | message | reason |\n"
        "| --- | --- | --- | --- | --- | --- |\n"
        "| warning | `gpu-01` | `comfyui-foo@1.2.0` | `security.tag` | tag \\<b>x\\</b> | "
        "reviewed: see \\[ticket\\](http://x) |\n"
    )


def test_a_clean_run() -> None:
    text = markdown_summary(make_run(exit_code=0))
    assert text.startswith("## comfy-audit: passed (exit code 0)\n")
    assert text.endswith("### Findings at warning and above\n\nNone.\n")
    assert "Waived" not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a | b", "a \\| b"),
        ("line\nbreak\r\nand\u2028more", "line break and more"),
        ("![img](http://t/x.png)", "!\\[img\\](http://t/x.png)"),
        ("<script>x</script>", "\\<script>x\\</script>"),
        ("*not* _em_ ~~del~~ `code`", "\\*not\\* \\_em\\_ \\~\\~del\\~\\~ \\`code\\`"),
        ("$x^2$ &amp; a\\b", "\\$x^2\\$ \\&amp; a\\\\b"),
        (">=1.0,<2", ">=1.0,\\<2"),
    ],
    ids=["pipe", "newlines", "image", "html", "emphasis", "maths-entities-backslash", "range"],
)
def test_text_is_escaped(text: str, expected: str) -> None:
    assert markdown_text(text) == expected


@pytest.mark.parametrize(
    ("node_id", "cell"),
    [
        ("comfyui_foo", "`comfyui_foo@1.2.0`"),
        ("a|b", "`a\\|b@1.2.0`"),
        ("`tick", "`` `tick@1.2.0 ``"),
        ("a``b", "```a``b@1.2.0```"),
    ],
    ids=["underscore", "pipe", "leading-backtick", "double-backtick"],
)
def test_names_are_code_spans(node_id: str, cell: str) -> None:
    run = make_run([], [finding(node_id=node_id)], exit_code=0)
    assert f"| warning | `gpu-01` | {cell} | `os.unsupported` |" in markdown_summary(run)


def test_every_table_row_has_as_many_cells_as_its_header() -> None:
    for line in markdown_summary(_policy_run()).splitlines():
        if line.startswith("|"):
            assert line.replace("\\|", "").count("|") in (4, 7)


def test_doctests() -> None:
    assert doctest.testmod(audit.report.markdown).failed == 0

"""Render a run as Markdown for CI job pages (a GitHub step summary, a merge-request note).

Registry data reaches the messages, so nothing from a finding is trusted as Markdown: names go
into code spans, and other text is flattened to one line with every character that could start
a link, an image, HTML, emphasis, maths or a table cell escaped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from audit.errors import ExitCode
from audit.model import AuditRun, Finding, Severity, When
from audit.report.summary import _header, _upgrade_line, one_line
from audit.report.tables import run_hosts

__all__ = ["markdown_summary", "markdown_text"]

_VERDICTS: dict[int, str] = {
    ExitCode.CLEAN: "passed",
    ExitCode.FAILED: "failed",
    ExitCode.INCOMPLETE: "incomplete",
}
_SPECIAL = re.compile(r"([\\`*_\[\]<|~&$])")
_TICKS = re.compile(r"`+")


def markdown_text(text: str) -> str:
    """Return ``text`` on one line, safe as plain text in a Markdown table cell.

    >>> markdown_text("a|b\\n[x](y)")
    'a\\\\|b \\\\[x\\\\](y)'
    """
    return _SPECIAL.sub(r"\\\1", one_line(text))


def _code(text: str) -> str:
    """``text`` as a code span, which is never a link; a pipe still needs escaping in a table."""
    flat = one_line(text, limit=None).replace("|", "\\|")
    ticks = "`" * (max((len(run) for run in _TICKS.findall(flat)), default=0) + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}" if flat else ""


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], right: int = 0) -> list[str]:
    """A table whose last ``right`` columns are numbers, aligned right."""
    rule = ["---"] * (len(header) - right) + ["---:"] * right
    return [_row(header), _row(rule), *(_row(r) for r in rows)]


def _pack(finding: Finding) -> str:
    if finding.node_id is None:
        return "(host-level)"
    shown = finding.node_id if finding.version is None else f"{finding.node_id}@{finding.version}"
    return _code(shown)


def _order(f: Finding) -> tuple[object, ...]:
    name = f.node_id or ""
    return (-f.severity, f.host, f.node_id is not None, name.casefold(), f.version or "", f.check)


def _cells(f: Finding) -> list[str]:
    upgrade = " (after upgrade)" if f.when is When.AFTER_UPGRADE else ""
    message = markdown_text(f.message) + upgrade
    return [f.severity.label, _code(f.host), _pack(f), _code(f.check), message]


_COLUMNS = ("severity", "host", "pack", "check", "message")


def _findings_section(findings: list[Finding], with_baseline: bool) -> list[str]:
    title = "### Findings at warning and above"
    if not findings:
        return [title, "", "None."]
    ordered = sorted(findings, key=_order)
    if with_baseline:
        rows = [[*_cells(f), f.baseline or ""] for f in ordered]
        return [title, "", *_table([*_COLUMNS, "baseline"], rows)]
    return [title, "", *_table(_COLUMNS, [_cells(f) for f in ordered])]


def _waived_section(findings: list[Finding]) -> list[str]:
    if not findings:
        return []
    ordered = sorted(findings, key=_order)
    rows = [[*_cells(f), markdown_text(f.waiver_reason or "")] for f in ordered]
    return ["### Waived findings", "", *_table([*_COLUMNS, "reason"], rows)]


def _counts(findings: Sequence[Finding]) -> list[str]:
    open_ = Counter(f.severity for f in findings if not f.waived)
    waived = Counter(f.severity for f in findings if f.waived)
    rows = [[s.label, str(open_[s]), str(waived[s])] for s in reversed(Severity)]
    return _table(["severity", "findings", "waived"], rows, right=2)


def _run_line(run: AuditRun, findings: Sequence[Finding]) -> str:
    line = markdown_text(_header(run, len(run_hosts(run))))
    marks = Counter(f.baseline for f in findings if f.baseline is not None)
    if marks:
        line += f"; baseline: {marks['new']} new, {marks['known']} known"
    return line


def markdown_summary(run: AuditRun) -> str:
    """Return a Markdown summary of ``run``: the verdict, counts by severity (waived apart), the
    findings at warning and above, the waived ones, and the upgrade verdict when one was planned.
    """
    findings = run.findings
    verdict = _VERDICTS.get(run.exit_code, "error")
    upgrade = _upgrade_line(run)
    shown = [f for f in findings if f.severity >= Severity.WARNING]
    open_ = [f for f in shown if not f.waived]
    waived = [f for f in shown if f.waived]
    with_baseline = any(f.baseline is not None for f in findings)
    sections = [
        [f"## comfy-audit: {verdict} (exit code {run.exit_code})"],
        [_run_line(run, findings)],
        [upgrade] if upgrade else [],
        _counts(findings),
        _findings_section(open_, with_baseline),
        _waived_section(waived),
    ]
    return "\n\n".join("\n".join(s) for s in sections if s) + "\n"

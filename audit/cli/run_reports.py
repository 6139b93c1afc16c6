"""The reports of ``comfy-audit run``: the run folder, the extra outputs and the terminal."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import click

from audit import terminal
from audit.cli.core import error, write_atomically
from audit.errors import ExitCode, ReportError
from audit.model import AuditRun

__all__ = ["write_reports"]


def write_reports(
    audit_run: AuditRun,
    output: str,
    prometheus: str | None,
    markdown: str | None,
    *,
    as_json: bool,
    quiet: bool,
) -> int:
    """Write the run folder and the extra outputs; print the findings and the summary; the
    exit code."""
    # NOTE: imported here so that --help and scan never load pandas or pyarrow.
    from audit import report

    extras = ((prometheus, report.prometheus_text), (markdown, report.markdown_summary))
    wanted = [(path, render) for path, render in extras if path]
    # NOTE: written before run.json, so that its exit_code is the one this process exits with.
    audit_run = _write_extras(audit_run, wanted)
    # NOTE: most of the summary is rendered first, while the advice may still be in the making,
    # and its advice while the last table's files are written.
    summary = None if quiet else report.summarise(audit_run)
    advise = summary.advise if summary is not None else lambda: None
    run_dir = report.write_run(audit_run, output, meanwhile=advise)
    if as_json:
        click.echo(report.findings_json(audit_run), nl=False)
    if summary is not None:
        terminal.echo(summary(run_dir), err=as_json)
    return audit_run.exit_code


def _write_extras(
    audit_run: AuditRun, extras: Sequence[tuple[str, Callable[[AuditRun], str]]]
) -> AuditRun:
    """Write the extra outputs; one that fails is named and counts like a failed lookup."""
    failed = False
    for path, render in extras:
        try:
            write_atomically(Path(path), render(audit_run))
        except ReportError as e:
            error(str(e))
            failed = True
    if failed and audit_run.exit_code == 0:
        return replace(audit_run, exit_code=ExitCode.INCOMPLETE)
    return audit_run

"""Render a run as a node_exporter textfile (Prometheus text exposition format 0.0.4).

The metrics are those DESIGN.md names. ``comfy_audit_findings`` counts the findings that are not
waived, by ``severity``, ``check`` and ``host``: one run may audit several hosts, and a fleet's
dashboards group by the audited host rather than by the machine that ran the audit (which is the
scrape's ``instance``). A combination with no finding has no series, so absent means zero.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from audit.errors import ExitCode
from audit.model import AuditRun, Severity
from audit.report.tables import to_utc

__all__ = ["escape_label", "prometheus_text"]

_SUCCESSFUL_EXITS = frozenset({ExitCode.CLEAN, ExitCode.FAILED})


def escape_label(value: str) -> str:
    """Escape a label value as the exposition format asks: backslash, double quote, newline.

    >>> print(escape_label('a "b"\\\\c'))
    a \\"b\\"\\\\c
    """
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _metric(name: str, help_text: str, samples: Iterable[str]) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]


def _number(value: float) -> str:
    """``2`` for a whole number, else the shortest text that reads back exactly (``2.5``)."""
    return str(int(value)) if value.is_integer() else repr(value)


def _finding_samples(run: AuditRun) -> Iterator[str]:
    counts = Counter((f.severity, f.check, f.host) for f in run.findings if not f.waived)
    for (severity, check, host), n in sorted(counts.items(), key=_sample_order):
        labels = (
            f'severity="{severity.label}",check="{escape_label(check)}",host="{escape_label(host)}"'
        )
        yield f"comfy_audit_findings{{{labels}}} {n}"


def _sample_order(item: tuple[tuple[Severity, str, str], int]) -> tuple[int, str, str]:
    (severity, check, host), _ = item
    return (-severity, check, host)


def prometheus_text(run: AuditRun) -> str:
    """Return the textfile of ``run``: findings by severity, check and host, whether the run
    completed (exit code 0 or 1), its duration, and when it finished (Unix seconds)."""
    started, finished = to_utc(run.started_at), to_utc(run.finished_at)
    success = 1 if run.exit_code in _SUCCESSFUL_EXITS else 0
    lines = [
        *_metric(
            "comfy_audit_findings",
            "Findings of the last audit that are not waived, by severity, check code and host.",
            _finding_samples(run),
        ),
        *_metric(
            "comfy_audit_run_success",
            "1 when the last audit completed (exit code 0 or 1), 0 when it was incomplete.",
            [f"comfy_audit_run_success {success}"],
        ),
        *_metric(
            "comfy_audit_run_duration_seconds",
            "How long the last audit took.",
            [f"comfy_audit_run_duration_seconds {_number((finished - started).total_seconds())}"],
        ),
        *_metric(
            "comfy_audit_last_run_timestamp_seconds",
            "When the last audit finished, in seconds since the Unix epoch.",
            [f"comfy_audit_last_run_timestamp_seconds {_number(finished.timestamp())}"],
        ),
    ]
    return "\n".join(lines) + "\n"

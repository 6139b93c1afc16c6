"""Render a run's findings as JSON, for ``--json`` on stdout and for scripts that read it."""

from __future__ import annotations

import json

from audit.model import AuditRun
from audit.report.tables import findings_table

__all__ = ["findings_json", "findings_records"]


def findings_records(run: AuditRun) -> list[dict[str, object]]:
    """Return one object per finding with the columns of the ``findings`` table, in its order;
    the severity is its label (``"error"``) and nulls are ``None``."""
    rows: list[dict[str, object]] = findings_table(run).to_pylist()
    return rows


def findings_json(run: AuditRun) -> str:
    """Return the findings of ``run`` as a JSON array (see `findings_records`), one line per
    key, ending in a newline.

    Everything outside ASCII is escaped, so the text is safe on any terminal and in any stdout
    encoding, and control or bidi characters from registry data never reach a terminal raw.
    """
    text = json.dumps(findings_records(run), indent=2, ensure_ascii=True, allow_nan=False)
    return text + "\n"

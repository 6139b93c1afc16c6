"""The report stage: the public Parquet/CSV tables, ``run.json`` and the terminal summary."""

from audit.report.schema import (
    FINDINGS_SCHEMA,
    NODES_SCHEMA,
    REQUIREMENTS_SCHEMA,
    SCHEMA_VERSION,
    SEVERITY_LABELS,
    SEVERITY_TYPE,
)
from audit.report.summary import render_summary
from audit.report.tables import findings_table, nodes_table, requirements_table
from audit.report.write import run_document, write_run

__all__ = [
    "FINDINGS_SCHEMA",
    "NODES_SCHEMA",
    "REQUIREMENTS_SCHEMA",
    "SCHEMA_VERSION",
    "SEVERITY_LABELS",
    "SEVERITY_TYPE",
    "findings_table",
    "nodes_table",
    "render_summary",
    "requirements_table",
    "run_document",
    "write_run",
]

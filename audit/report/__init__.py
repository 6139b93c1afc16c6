"""The report stage: the public Parquet/CSV tables, ``run.json`` and the terminal summary; its
storage layer (local folders or ``s3://`` object stores) is shared with `audit.fleet`."""

from audit.report.jsonout import findings_json, findings_records
from audit.report.markdown import markdown_summary
from audit.report.prometheus import prometheus_text
from audit.report.schema import (
    FINDINGS_SCHEMA,
    NODES_SCHEMA,
    RECOMMENDATIONS_SCHEMA,
    REQUIREMENTS_SCHEMA,
    SCHEMA_VERSION,
    SEVERITY_LABELS,
    SEVERITY_TYPE,
    WORKFLOWS_SCHEMA,
)
from audit.report.storage import is_uri
from audit.report.summary import render_summary, summarise
from audit.report.tables import (
    findings_table,
    nodes_table,
    recommendations_table,
    requirements_table,
    vulnerabilities_table,
    workflows_table,
)
from audit.report.write import run_document, write_run

__all__ = [
    "FINDINGS_SCHEMA",
    "NODES_SCHEMA",
    "RECOMMENDATIONS_SCHEMA",
    "REQUIREMENTS_SCHEMA",
    "SCHEMA_VERSION",
    "SEVERITY_LABELS",
    "SEVERITY_TYPE",
    "WORKFLOWS_SCHEMA",
    "findings_json",
    "findings_records",
    "findings_table",
    "is_uri",
    "markdown_summary",
    "nodes_table",
    "prometheus_text",
    "recommendations_table",
    "render_summary",
    "requirements_table",
    "run_document",
    "summarise",
    "vulnerabilities_table",
    "workflows_table",
    "write_run",
]

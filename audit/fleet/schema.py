"""The explicit Arrow schemas of the fleet roll-up tables (``OUTPUT/fleet/<rollup_id>/``)."""

from __future__ import annotations

import pyarrow as pa

from audit.report.schema import SEVERITY_TYPE, STRING_LIST, UTC_TIMESTAMP

__all__ = [
    "BLOCKERS_SCHEMA",
    "COUNT_LIST",
    "DRIFT_SCHEMA",
    "HOSTS_SCHEMA",
    "INCOMPLETE_SCHEMA",
    "PACKS_SCHEMA",
    "ROLLUP_SCHEMAS",
    "ROLLUP_SCHEMA_VERSION",
    "STALE_SCHEMA",
    "VULNERABILITIES_ROLLUP_SCHEMA",
    "WORKFLOWS_ROLLUP_SCHEMA",
]

#: Version of the roll-up layout (tables, columns, ``rollup.json`` keys); bumped on any change.
ROLLUP_SCHEMA_VERSION = "2"

#: A list of counts; the item field is "element", as Parquet's compliant nested types store it.
COUNT_LIST = pa.list_(pa.field("element", pa.int64()))

_METADATA = {"comfy-audit.rollup_schema_version": ROLLUP_SCHEMA_VERSION}


def _schema(*fields: tuple[str, pa.DataType, bool]) -> pa.Schema:
    columns = [pa.field("rollup_id", pa.string(), nullable=False)]
    columns += [pa.field(name, type_, nullable=nullable) for name, type_, nullable in fields]
    return pa.schema(columns, metadata=_METADATA)


HOSTS_SCHEMA = _schema(
    ("host", pa.string(), False),
    ("run_id", pa.string(), False),
    ("started_at", UTC_TIMESTAMP, False),
    ("info", pa.int64(), False),
    ("warning", pa.int64(), False),
    ("error", pa.int64(), False),
    ("critical", pa.int64(), False),
    ("waived", pa.int64(), False),
    ("exit_code", pa.int32(), False),
)
"""One row per host and run used: findings by severity (waived ones counted apart only)."""

PACKS_SCHEMA = _schema(
    ("node_id", pa.string(), False),
    ("version", pa.string(), True),
    ("host_count", pa.int64(), False),
    ("worst_severity", SEVERITY_TYPE, False),
    ("checks", STRING_LIST, False),
)
"""One row per node@version with a finding at warning or above now (not waived)."""

BLOCKERS_SCHEMA = _schema(
    ("target_comfyui", pa.string(), True),
    ("node_id", pa.string(), False),
    ("version", pa.string(), True),
    ("host_count", pa.int64(), False),
    ("hosts", STRING_LIST, False),
)
"""One row per node@version that the planned upgrade to ``target_comfyui`` breaks."""

DRIFT_SCHEMA = _schema(
    ("node_id", pa.string(), False),
    ("host_count", pa.int64(), False),
    ("versions", STRING_LIST, False),
    ("host_counts", COUNT_LIST, False),
)
"""One row per node installed at several versions; ``host_counts[i]`` hosts have
``versions[i]``, most common first."""

STALE_SCHEMA = _schema(
    ("host", pa.string(), False),
    ("run_id", pa.string(), True),
    ("started_at", UTC_TIMESTAMP, True),
    ("exit_code", pa.int32(), True),
    ("reasons", STRING_LIST, False),
)
"""One row per host whose newest complete run (``run_id``, null if none) is not to be trusted:
``reasons`` holds ``old``, ``lookups-failed`` and/or ``incomplete``."""

INCOMPLETE_SCHEMA = _schema(
    ("run_id", pa.string(), False),
    ("started_at", UTC_TIMESTAMP, True),
    ("hosts", STRING_LIST, True),
)
"""One row per run folder without ``run.json``; ``hosts`` is null when it names none."""

VULNERABILITIES_ROLLUP_SCHEMA = _schema(
    ("vuln_id", pa.string(), False),
    ("aliases", STRING_LIST, False),
    ("distribution", pa.string(), False),
    ("severity", SEVERITY_TYPE, False),
    ("fixed_in", pa.string(), True),
    ("hosts_exposed", pa.int64(), False),
)
"""One row per known vulnerability of an installed distribution: its worst severity, the highest
nearest fixed version among the hosts, and how many hosts have it (runs written before this
table count as having none)."""

WORKFLOWS_ROLLUP_SCHEMA = _schema(
    ("workflow", pa.string(), False),
    ("hosts", pa.int64(), False),
    ("hosts_runnable_now", pa.int64(), False),
    ("hosts_runnable_after_upgrade", pa.int64(), True),
    ("top_blockers", STRING_LIST, False),
)
"""One row per workflow the chosen runs judged (``run --workflow``): on how many hosts, how many
can run it now and after the upgrade (null when no host was given a target), and the packs that
stop it most often (``node_id (status): N hosts``). Runs written before workflows have none."""

#: Every roll-up table, by file stem, in the order they are written.
ROLLUP_SCHEMAS = {
    "hosts": HOSTS_SCHEMA,
    "packs": PACKS_SCHEMA,
    "blockers": BLOCKERS_SCHEMA,
    "drift": DRIFT_SCHEMA,
    "stale": STALE_SCHEMA,
    "incomplete": INCOMPLETE_SCHEMA,
    "vulnerabilities": VULNERABILITIES_ROLLUP_SCHEMA,
    "workflows": WORKFLOWS_ROLLUP_SCHEMA,
}

"""The explicit Arrow schemas of the public report tables, and their version."""

from __future__ import annotations

import os

import pyarrow as pa

__all__ = [
    "FINDINGS_SCHEMA",
    "NODES_SCHEMA",
    "RECOMMENDATIONS_SCHEMA",
    "REQUIREMENTS_SCHEMA",
    "SCHEMA_VERSION",
    "SEVERITY_LABELS",
    "SEVERITY_TYPE",
    "STRING_LIST",
    "UTC_TIMESTAMP",
    "VULNERABILITIES_SCHEMA",
    "WORKFLOWS_SCHEMA",
]


def _use_jemalloc() -> None:
    """Make jemalloc the pool of Arrow's buffers, where pyarrow has it and the environment
    names no pool (``ARROW_DEFAULT_MEMORY_POOL``).

    NOTE: with pyarrow's default, mimalloc, a 500-host run spent 0.35 s more in the kernel,
    faulting pages in, and took 5.26 s against 5.05 s. The pool is set here, in the module
    every report and roll-up imports first, before Arrow allocates for them.
    """
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # NOTE: a pyarrow built without jemalloc keeps its default.
        return


_use_jemalloc()

#: Version of the report layout (columns, types, ``run.json`` keys); bumped on any change.
SCHEMA_VERSION = "3"

#: The severity dictionary, in order; every severity column holds all four, used or not.
SEVERITY_LABELS = ("info", "warning", "error", "critical")

#: An ordered dictionary, so that pandas reads it as an ordered Categorical that sorts by badness.
SEVERITY_TYPE = pa.dictionary(pa.int8(), pa.string(), ordered=True)

# NOTE: the item field is called "element" because that is what Parquet's compliant nested
# types store; an in-memory table then has exactly the schema a reader gets back.
STRING_LIST = pa.list_(pa.field("element", pa.string()))
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

_METADATA = {"comfy-audit.schema_version": SCHEMA_VERSION}


def _required(name: str, type_: pa.DataType) -> pa.Field:
    return pa.field(name, type_, nullable=False)


def _optional(name: str, type_: pa.DataType) -> pa.Field:
    return pa.field(name, type_, nullable=True)


NODES_SCHEMA = pa.schema(
    [
        _required("run_id", pa.string()),
        _required("host", pa.string()),
        _required("node_id", pa.string()),
        _optional("version", pa.string()),
        _required("source", pa.string()),
        _optional("status", pa.string()),
        _optional("deprecated", pa.bool_()),
        _optional("supported_os", STRING_LIST),
        _optional("supported_accelerators", STRING_LIST),
        _optional("supported_comfyui_version", pa.string()),
        _optional("supported_comfyui_frontend_version", pa.string()),
        _optional("dependencies", STRING_LIST),
        _optional("tags_admin", STRING_LIST),
        _optional("fetched_at", UTC_TIMESTAMP),
        _optional("cache_hit", pa.bool_()),
        _required("disabled", pa.bool_()),
        _optional("url", pa.string()),
        _optional("hash", pa.string()),
        _optional("compatible_now", pa.bool_()),
        _optional("compatible_after_upgrade", pa.bool_()),
        _optional("worst_severity", SEVERITY_TYPE),
        _required("finding_count", pa.int32()),
        _optional("node_status", pa.string()),
        _optional("publisher_id", pa.string()),
        _optional("publisher_status", pa.string()),
        _optional("latest_version", pa.string()),
        _optional("outdated", pa.bool_()),
    ],
    metadata=_METADATA,
)
"""One row per manifest entry."""

FINDINGS_SCHEMA = pa.schema(
    [
        _required("run_id", pa.string()),
        _required("host", pa.string()),
        _optional("node_id", pa.string()),
        _optional("version", pa.string()),
        _required("check", pa.string()),
        _required("severity", SEVERITY_TYPE),
        _required("message", pa.string()),
        _optional("expected", pa.string()),
        _optional("actual", pa.string()),
        _required("source", pa.string()),
        _required("when", pa.string()),
        _required("waived", pa.bool_()),
        _optional("waiver_reason", pa.string()),
        _optional("baseline", pa.string()),
        _optional("workflow", pa.string()),
        _optional("vuln_id", pa.string()),
    ],
    metadata=_METADATA,
)
"""One row per finding; ``node_id`` is null for findings about a host rather than a pack."""

REQUIREMENTS_SCHEMA = pa.schema(
    [
        _required("run_id", pa.string()),
        _required("host", pa.string()),
        _required("node_id", pa.string()),
        _optional("version", pa.string()),
        _required("requirement", pa.string()),
        _optional("distribution", pa.string()),
        _optional("specifier", pa.string()),
        _optional("marker", pa.string()),
        _required("source", pa.string()),
        _optional("installed_version", pa.string()),
        _optional("satisfied", pa.bool_()),
    ],
    metadata=_METADATA,
)
"""One row per requirement line of a pack on a host; ``distribution`` is null for a line that is
not a PEP 508 requirement, ``satisfied`` when it cannot be decided."""

RECOMMENDATIONS_SCHEMA = pa.schema(
    [
        _required("run_id", pa.string()),
        _required("host", pa.string()),
        _optional("node_id", pa.string()),
        _optional("version", pa.string()),
        _optional("recommended_version", pa.string()),
        _required("clears", STRING_LIST),
        _required("blocked_by", STRING_LIST),
        _required("installs", STRING_LIST),
        _optional("distribution", pa.string()),
    ],
    metadata=_METADATA,
)
"""One row per entry the upgrade advisor looked at: the version to move to (null when none fits),
the check codes the move clears, and, when none fits, the constraints no version meets;
``installs`` lists the requirements the move would newly install or upgrade. A row about a
vulnerable Python distribution has ``distribution`` set and ``node_id`` null."""

VULNERABILITIES_SCHEMA = pa.schema(
    [
        _required("run_id", pa.string()),
        _required("host", pa.string()),
        _required("distribution", pa.string()),
        _required("installed_version", pa.string()),
        _required("vuln_id", pa.string()),
        _required("aliases", STRING_LIST),
        _required("severity", SEVERITY_TYPE),
        _optional("score", pa.float64()),
        _optional("fixed_in", pa.string()),
        _required("summary", pa.string()),
        _required("required_by", STRING_LIST),
    ],
    metadata=_METADATA,
)
"""One row per host, installed distribution and known vulnerability (aliases merged)."""

WORKFLOWS_SCHEMA = pa.schema(
    [
        _required("run_id", pa.string()),
        _required("host", pa.string()),
        _required("workflow", pa.string()),
        _optional("node_id", pa.string()),
        _required("class_types", STRING_LIST),
        _optional("made_with_version", pa.string()),
        _optional("installed_version", pa.string()),
        _required("bypassed", pa.bool_()),
        _required("status", pa.string()),
        _optional("runnable_now", pa.bool_()),
        _optional("runnable_after_upgrade", pa.bool_()),
    ],
    metadata=_METADATA,
)
"""One row per host x workflow x needed pack (``node_id`` null for its unresolved classes);
``runnable_*`` are per host x workflow, repeated on each of its rows."""

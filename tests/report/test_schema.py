"""The exact Arrow schemas of the public tables, for full and empty runs, in memory and on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.model import AuditRun
from audit.report import (
    FINDINGS_SCHEMA,
    NODES_SCHEMA,
    REQUIREMENTS_SCHEMA,
    SCHEMA_VERSION,
    findings_table,
    nodes_table,
    requirements_table,
)
from audit.report.schema import VULNERABILITIES_SCHEMA
from tests.fresh import python_lines
from tests.report.conftest import make_run

SEVERITY = pa.dictionary(pa.int8(), pa.string(), ordered=True)
STRINGS = pa.list_(pa.field("element", pa.string()))
WHEN = pa.timestamp("us", tz="UTC")
METADATA = {b"comfy-audit.schema_version": b"3"}

# NOTE: written out by hand, not derived from the module, so that any change to the public
# layout fails here first.
EXPECTED_NODES = [
    ("run_id", pa.string(), False),
    ("host", pa.string(), False),
    ("node_id", pa.string(), False),
    ("version", pa.string(), True),
    ("source", pa.string(), False),
    ("status", pa.string(), True),
    ("deprecated", pa.bool_(), True),
    ("supported_os", STRINGS, True),
    ("supported_accelerators", STRINGS, True),
    ("supported_comfyui_version", pa.string(), True),
    ("supported_comfyui_frontend_version", pa.string(), True),
    ("dependencies", STRINGS, True),
    ("tags_admin", STRINGS, True),
    ("fetched_at", WHEN, True),
    ("cache_hit", pa.bool_(), True),
    ("disabled", pa.bool_(), False),
    ("url", pa.string(), True),
    ("hash", pa.string(), True),
    ("compatible_now", pa.bool_(), True),
    ("compatible_after_upgrade", pa.bool_(), True),
    ("worst_severity", SEVERITY, True),
    ("finding_count", pa.int32(), False),
    ("node_status", pa.string(), True),
    ("publisher_id", pa.string(), True),
    ("publisher_status", pa.string(), True),
    ("latest_version", pa.string(), True),
    ("outdated", pa.bool_(), True),
]
EXPECTED_FINDINGS = [
    ("run_id", pa.string(), False),
    ("host", pa.string(), False),
    ("node_id", pa.string(), True),
    ("version", pa.string(), True),
    ("check", pa.string(), False),
    ("severity", SEVERITY, False),
    ("message", pa.string(), False),
    ("expected", pa.string(), True),
    ("actual", pa.string(), True),
    ("source", pa.string(), False),
    ("when", pa.string(), False),
    ("waived", pa.bool_(), False),
    ("waiver_reason", pa.string(), True),
    ("baseline", pa.string(), True),
    ("workflow", pa.string(), True),
    ("vuln_id", pa.string(), True),
]
EXPECTED_REQUIREMENTS = [
    ("run_id", pa.string(), False),
    ("host", pa.string(), False),
    ("node_id", pa.string(), False),
    ("version", pa.string(), True),
    ("requirement", pa.string(), False),
    ("distribution", pa.string(), True),
    ("specifier", pa.string(), True),
    ("marker", pa.string(), True),
    ("source", pa.string(), False),
    ("installed_version", pa.string(), True),
    ("satisfied", pa.bool_(), True),
]


EXPECTED_VULNERABILITIES = [
    ("run_id", pa.string(), False),
    ("host", pa.string(), False),
    ("distribution", pa.string(), False),
    ("installed_version", pa.string(), False),
    ("vuln_id", pa.string(), False),
    ("aliases", STRINGS, False),
    ("severity", SEVERITY, False),
    ("score", pa.float64(), True),
    ("fixed_in", pa.string(), True),
    ("summary", pa.string(), False),
    ("required_by", STRINGS, False),
]


def _described(schema: pa.Schema) -> list[tuple[str, pa.DataType, bool]]:
    return [(field.name, field.type, field.nullable) for field in schema]


def _list_items(schema: pa.Schema) -> list[tuple[str, bool]]:
    types = (field.type for field in schema)
    return [(t.value_field.name, t.value_field.nullable) for t in types if pa.types.is_list(t)]


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (NODES_SCHEMA, EXPECTED_NODES),
        (FINDINGS_SCHEMA, EXPECTED_FINDINGS),
        (REQUIREMENTS_SCHEMA, EXPECTED_REQUIREMENTS),
        (VULNERABILITIES_SCHEMA, EXPECTED_VULNERABILITIES),
    ],
    ids=["nodes", "findings", "requirements", "vulnerabilities"],
)
def test_schema_is_exactly_the_public_layout(
    schema: pa.Schema, expected: list[tuple[str, pa.DataType, bool]]
) -> None:
    assert _described(schema) == expected
    assert schema.metadata == METADATA
    assert SCHEMA_VERSION == "3"


def test_list_items_are_named_like_parquet_names_them() -> None:
    assert set(_list_items(NODES_SCHEMA)) == {("element", True)}
    assert str(NODES_SCHEMA.field("supported_os").type) == "list<element: string>"


def test_severity_type_is_ordered_int8_dictionary() -> None:
    severity = FINDINGS_SCHEMA.field("severity").type
    assert pa.types.is_dictionary(severity)
    assert severity.ordered
    assert severity.index_type == pa.int8()
    assert severity.value_type == pa.string()


@pytest.mark.parametrize(
    ("build", "schema"),
    [
        (nodes_table, NODES_SCHEMA),
        (findings_table, FINDINGS_SCHEMA),
        (requirements_table, REQUIREMENTS_SCHEMA),
    ],
    ids=["nodes", "findings", "requirements"],
)
@pytest.mark.parametrize("which", ["sample", "empty"])
def test_tables_have_the_full_schema_even_when_empty(
    build: Callable[[AuditRun], pa.Table], schema: pa.Schema, which: str, run: AuditRun
) -> None:
    source = run if which == "sample" else make_run()
    table = build(source)
    assert table.schema.equals(schema, check_metadata=True)
    assert (table.num_rows == 0) == (which == "empty")


@pytest.mark.parametrize(
    ("build", "schema"),
    [
        (nodes_table, NODES_SCHEMA),
        (findings_table, FINDINGS_SCHEMA),
        (requirements_table, REQUIREMENTS_SCHEMA),
    ],
    ids=["nodes", "findings", "requirements"],
)
@pytest.mark.parametrize("which", ["sample", "empty"])
def test_parquet_keeps_the_exact_schema(
    build: Callable[[AuditRun], pa.Table],
    schema: pa.Schema,
    which: str,
    run: AuditRun,
    tmp_path: Path,
) -> None:
    source = run if which == "sample" else make_run()
    path = tmp_path / "table.parquet"
    pq.write_table(build(source), path)
    back = pq.read_table(path)
    assert back.schema.equals(schema, check_metadata=True)
    assert _described(back.schema) == _described(schema)
    assert _list_items(back.schema) == _list_items(schema)


@pytest.mark.parametrize(("named", "expected"), [(None, "jemalloc"), ("system", "system")])
def test_arrow_s_buffers_come_from_jemalloc_unless_the_environment_names_a_pool(
    named: str | None, expected: str
) -> None:
    # NOTE: mimalloc, pyarrow's default, cost a 500-host run 0.35 s in the kernel.
    naming = [] if named is None else [f"os.environ['ARROW_DEFAULT_MEMORY_POOL'] = {named!r}"]
    printed = python_lines(
        "import os",
        "os.environ.pop('ARROW_DEFAULT_MEMORY_POOL', None)",
        *naming,
        "import audit.report.schema",
        "import pyarrow as pa",
        "print(pa.default_memory_pool().backend_name)",
    )
    assert printed == [expected]

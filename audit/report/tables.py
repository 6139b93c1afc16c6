"""Build the Arrow tables (``nodes``, ``findings``, ``requirements``, ``recommendations``) and
counts of an AuditRun."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, TypeVar, cast

import pyarrow as pa

from audit.model import (
    REQUIREMENT_FIELDS,
    AuditedEntry,
    AuditRun,
    DistributionAdvice,
    Found,
    LookupResult,
    NodeVersion,
    NotFound,
    Recommendation,
    RequirementRows,
    Severity,
)
from audit.report.node_columns import NODE_COLUMNS, node_columns
from audit.report.schema import (
    FINDINGS_SCHEMA,
    NODES_SCHEMA,
    RECOMMENDATIONS_SCHEMA,
    REQUIREMENTS_SCHEMA,
    SEVERITY_LABELS,
    SEVERITY_TYPE,
    VULNERABILITIES_SCHEMA,
    WORKFLOWS_SCHEMA,
)

__all__ = [
    "findings_table",
    "iso_utc",
    "nodes_table",
    "recommendations_table",
    "requirements_table",
    "run_hosts",
    "severity_array",
    "severity_counts",
    "to_utc",
    "vulnerabilities_table",
    "workflows_table",
]

Row = dict[str, object]
_T = TypeVar("_T")


def to_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """Return ``moment`` as fixed-width ISO-8601 UTC text.

    >>> iso_utc(datetime(2024, 5, 1, 12, 0, tzinfo=UTC))
    '2024-05-01T12:00:00.000000Z'
    """
    return to_utc(moment).isoformat(timespec="microseconds").replace("+00:00", "Z")


_SEVERITY_INDEX: dict[Severity | None, int] = {
    severity: SEVERITY_LABELS.index(severity.label) for severity in Severity
}


def severity_array(values: Sequence[Severity | None]) -> pa.DictionaryArray:
    """Return ``values`` as a severity column whose dictionary always holds all four levels."""
    indices = list(map(_SEVERITY_INDEX.get, values))
    return pa.DictionaryArray.from_arrays(
        pa.array(indices, type=SEVERITY_TYPE.index_type),
        pa.array(SEVERITY_LABELS, type=SEVERITY_TYPE.value_type),
        ordered=True,
    )


def _column(field: pa.Field, values: list[object]) -> pa.Array:
    if field.type == SEVERITY_TYPE:
        return severity_array(cast("list[Severity | None]", values))
    return pa.array(values, type=field.type)


@dataclass(frozen=True)
class _Constant:
    """Represents a column whose every cell is ``value`` (the run's id), made without reading
    the items."""

    value: object


_Getter = Callable[[_T], object] | _Constant
"""How a column's cells are read from an item."""


def _columnar(
    items: Sequence[_T], schema: pa.Schema, getters: Mapping[str, _Getter[_T]]
) -> pa.Table:
    """A table of one row per item: a column is the attribute of its name (`_attributes`), or
    what its getter in ``getters`` gives."""
    read = _attributes(items, [field for field in schema if field.name not in getters])
    columns = [
        read[field.name]
        if field.name in read
        else _from_source(field, (items, getters[field.name]))
        for field in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


#: Items whose attributes are read at once, the Arrow arrays of each slice made before the next.
_SLICE = 1 << 16


#: The columns whose cells differ from row to row; a fleet's other cells repeat over its hosts.
_OWN_COLUMNS = frozenset({"host"})


def _attributes(items: Sequence[object], fields: Sequence[pa.Field]) -> dict[str, pa.Array]:
    """Each of ``fields`` as a column of the attribute of its name of every item.

    The host is read item by item; the other attributes are converted once per distinct
    combination of their values, then spread over the items with Arrow's ``take``: a fleet's
    findings are the same few tens of thousands on every host but for the host.

    NOTE: the other attributes of an item are read at once, in one pass over the items: a pass
    per column cost three times as much, each reading a fleet's items, spread over memory,
    again. A slice at a time, so that only one slice's values are held at once.
    """
    own = [field for field in fields if field.name in _OWN_COLUMNS]
    shared = [field for field in fields if field.name not in _OWN_COLUMNS]
    columns = {field.name: _column(field, [getattr(i, field.name) for i in items]) for field in own}
    if not shared:
        return columns
    get = attrgetter(*(field.name for field in shared))
    slices = (map(get, items[start : start + _SLICE]) for start in range(0, len(items), _SLICE))
    numbers, distinct = _numbered(slices)
    values = zip(*distinct, strict=True) if len(shared) > 1 else [distinct]
    read = dict(zip((field.name for field in shared), values, strict=False))
    return columns | {
        field.name: _column(field, list(read.get(field.name, ()))).take(numbers) for field in shared
    }


def _numbered(parts: Iterable[Iterable[Hashable]]) -> tuple[pa.Array, list[Hashable]]:
    """The number of each key of ``parts`` (in order), and the distinct keys by number: a key
    is numbered when first seen."""
    number: dict[Hashable, int] = {}
    numbers = [
        pa.array([number.setdefault(key, len(number)) for key in part], pa.int32())
        for part in parts
    ]
    return pa.concat_arrays(numbers or [pa.array([], pa.int32())]), list(number)


def _spread(
    items: Sequence[_T],
    markers: Sequence[Hashable],
    build: Callable[[_T], Row],
    fields: Sequence[pa.Field],
) -> dict[str, pa.Array]:
    """Each of ``fields`` as a column of the rows ``build`` makes of ``items``, made once per
    distinct marker (``markers[i]`` is ``items[i]``'s, and says all that its row depends on):
    a fleet has the same few thousand registry records and Node answers on every host."""
    numbers, _ = _numbered([markers])
    # NOTE: a dict keeps each marker where it was first seen, with the last of its items.
    rows = [build(item) for item in dict(zip(markers, items, strict=True)).values()]
    return {
        field.name: _column(field, [row[field.name] for row in rows]).take(numbers)
        for field in fields
    }


_Source = tuple[Sequence[Any], _Getter[Any] | None]
"""Where a column's cells come from: what to read them from, and how (``None``: they are the
cells)."""


def _from_sources(sources: Mapping[str, _Source], schema: pa.Schema) -> pa.Table:
    # NOTE: one column's list at a time: a fleet's columns are millions of cells each.
    columns = [_from_source(field, sources[field.name]) for field in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _from_source(field: pa.Field, source: _Source) -> pa.Array:
    items, get = source
    if isinstance(get, _Constant):
        return pa.repeat(pa.scalar(get.value, field.type), len(items))
    return _column(field, list(items) if get is None else list(map(get, items)))


def _strings(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)


_REGISTRY_COLUMNS = (
    "status",
    "deprecated",
    "supported_os",
    "supported_accelerators",
    "supported_comfyui_version",
    "supported_comfyui_frontend_version",
    "dependencies",
    "tags_admin",
    "fetched_at",
)


def _registry_fields(nv: NodeVersion | None) -> Row:
    if nv is None:
        return dict.fromkeys(_REGISTRY_COLUMNS)
    return {
        "status": nv.status,
        "deprecated": nv.deprecated,
        "supported_os": _strings(nv.supported_os),
        "supported_accelerators": _strings(nv.supported_accelerators),
        "supported_comfyui_version": nv.supported_comfyui_version,
        "supported_comfyui_frontend_version": nv.supported_comfyui_frontend_version,
        "dependencies": _strings(nv.dependencies),
        "tags_admin": _strings(nv.tags_admin),
        "fetched_at": None if nv.fetched_at is None else to_utc(nv.fetched_at),
    }


def _result_fields(result: LookupResult | None) -> Row:
    """The registry columns of an entry whose lookup gave ``result``, with when the registry
    answered (its record's time, or, for its "no such version", an answer too, when that was
    given) and whether the answer came from the cache."""
    fields = _registry_fields(result.node_version if isinstance(result, Found) else None)
    if isinstance(result, NotFound) and result.fetched_at is not None:
        fields["fetched_at"] = to_utc(result.fetched_at)
    # NOTE: failed and invalid lookups are never cached, so they are never cache hits.
    hit = None if result is None else isinstance(result, Found | NotFound) and result.cache_hit
    return {**fields, "cache_hit": hit}


_RESULT_COLUMNS = (*_REGISTRY_COLUMNS, "cache_hit")
# NOTE: the enums are text already (StrEnum): pyarrow converts them as they are.
_ENTRY_COLUMNS = ("host", "node_id", "version", "source", "disabled", "url", "hash")
_entry_of = attrgetter("entry")
_result_of = attrgetter("result")


def _entry_result_fields(audited: AuditedEntry) -> Row:
    return _result_fields(audited.result)


def _pack_columns(audited: AuditedEntry) -> Row:
    return node_columns(audited.node, audited.entry.version, audited.entry.source)


_AUDITED_COLUMNS = ("compatible_now", "compatible_after_upgrade", "worst_severity")


def nodes_table(run: AuditRun) -> pa.Table:
    """Return one row per audited entry, in run order, with ``NODES_SCHEMA``."""
    entries = run.entries
    # NOTE: answers by identity (they are alive in the run), cheaper than by value; the source
    # itself, not its value: an enum's value is a Python-level lookup.
    results = list(map(id, map(_result_of, entries)))
    packs = [(id(a.node), a.entry.version, a.entry.source) for a in entries]
    field = NODES_SCHEMA.field
    columns = {
        **_attributes(list(map(_entry_of, entries)), list(map(field, _ENTRY_COLUMNS))),
        **_attributes(entries, list(map(field, _AUDITED_COLUMNS))),
        **_spread(entries, results, _entry_result_fields, list(map(field, _RESULT_COLUMNS))),
        **_spread(entries, packs, _pack_columns, list(map(field, NODE_COLUMNS))),
        "run_id": _from_source(field("run_id"), (entries, _Constant(run.run_id))),
        "finding_count": _column(field("finding_count"), [len(a.findings) for a in entries]),
    }
    return pa.Table.from_arrays([columns[name] for name in NODES_SCHEMA.names], schema=NODES_SCHEMA)


def findings_table(run: AuditRun) -> pa.Table:
    """Return one row per finding (host findings first, then by entry) with ``FINDINGS_SCHEMA``."""
    return _columnar(run.findings, FINDINGS_SCHEMA, {"run_id": _Constant(run.run_id)})


def requirements_table(run: AuditRun) -> pa.Table:
    """Return one row per requirement line, in run order, with ``REQUIREMENTS_SCHEMA``."""
    rows = RequirementRows.of(run.requirements)
    sources: dict[str, _Source] = {name: (rows.column(name), None) for name in REQUIREMENT_FIELDS}
    return _from_sources({**sources, "run_id": (rows, _Constant(run.run_id))}, REQUIREMENTS_SCHEMA)


def recommendations_table(run: AuditRun) -> pa.Table:
    """Return one row per recommendation, in run order, then one per vulnerable distribution,
    with ``RECOMMENDATIONS_SCHEMA``."""
    rows: list[Recommendation | DistributionAdvice] = [*run.recommendations, *run.upgrades]
    getters: dict[str, _Getter[Recommendation | DistributionAdvice]] = {
        "run_id": _Constant(run.run_id),
        "node_id": lambda r: getattr(r, "node_id", None),
        "installs": lambda r: getattr(r, "installs", ()),
        "distribution": lambda r: getattr(r, "distribution", None),
    }
    return _columnar(rows, RECOMMENDATIONS_SCHEMA, getters)


def vulnerabilities_table(run: AuditRun) -> pa.Table:
    """Return one row per known vulnerability of an installed distribution, in run order, with
    ``VULNERABILITIES_SCHEMA`` (the full schema when there are none)."""
    return _columnar(run.vulnerabilities, VULNERABILITIES_SCHEMA, {"run_id": _Constant(run.run_id)})


def workflows_table(run: AuditRun) -> pa.Table:
    """Return one row per host x workflow x needed pack with ``WORKFLOWS_SCHEMA``."""
    return _columnar(run.workflows, WORKFLOWS_SCHEMA, {"run_id": _Constant(run.run_id)})


def run_hosts(run: AuditRun) -> list[str]:
    """Return every host the run knows of (environments, entries, host findings), sorted."""
    return sorted(run.hosts)


def severity_counts(run: AuditRun) -> dict[str, int]:
    """Return the number of findings at each severity, all four labels present, info first."""
    # NOTE: counted as severities, labelled once: a label is computed, and fleets have 100,000s.
    counted = run.severities
    by_label = {severity.label: counted.get(severity, 0) for severity in Severity}
    return {label: by_label[label] for label in SEVERITY_LABELS}

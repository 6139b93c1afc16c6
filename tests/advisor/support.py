"""Builders shared by the advisor tests: entries audited with the real checks, version lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from audit import checks
from audit.dependencies import PackRequirements, audit_dependencies
from audit.model import (
    AuditedEntry,
    EntrySource,
    Environment,
    Found,
    LookupResult,
    ManifestEntry,
    NodeKey,
    NodeVersion,
)
from audit.registry import parse_node_version
from tests.registry_server import node_version_record

HOST = "gpu-01"
ENV = Environment(
    os="linux", accelerators=frozenset({"cuda", "cpu"}), comfyui_version="0.3.30", installed={}
)


def entry(
    node_id: str,
    version: str | None,
    *,
    host: str = HOST,
    source: EntrySource = EntrySource.REGISTRY,
    **fields: Any,
) -> ManifestEntry:
    return ManifestEntry(host, node_id, version, source, f"{host}.json", **fields)


def record(node_id: str, version: str, **fields: Any) -> dict[str, Any]:
    """A NodeVersion as the registry sends it: Active, nothing declared, ``fields`` overriding."""
    return node_version_record(node_id, version, **fields)


def node_version(node_id: str, version: str, **fields: Any) -> NodeVersion:
    parsed = parse_node_version(record(node_id, version, **fields))
    assert isinstance(parsed, NodeVersion), parsed
    return parsed


def listing(records: Sequence[Mapping[str, Any]]) -> tuple[NodeVersion, ...]:
    parsed = (parse_node_version(dict(r)) for r in records)
    return tuple(nv for nv in parsed if isinstance(nv, NodeVersion))


def audit_entries(
    entries: Sequence[ManifestEntry],
    results: Mapping[NodeKey, LookupResult],
    environments: Mapping[str, Environment],
) -> list[AuditedEntry]:
    """Audit ``entries`` as the pipeline does: the checks, then each host's dependency audit."""
    audited = []
    for e in entries:
        result = results.get(e.key) if e.key is not None else None
        evaluation = checks.evaluate(e, result, environments[e.host])
        audited.append(
            AuditedEntry(
                e,
                result,
                evaluation.findings,
                evaluation.compatible_now,
                evaluation.compatible_after_upgrade,
            )
        )
    for host, env in environments.items():
        mine = [a for a in audited if a.entry.host == host]
        packs = [
            PackRequirements(a.entry, a.node_version.dependencies if a.node_version else None)
            for a in mine
        ]
        found = [f for f in audit_dependencies(host, packs, env).findings if f.node_id]
        for index, a in enumerate(audited):
            extra = tuple(
                f for f in found if (f.node_id, f.version) == (a.entry.node_id, a.entry.version)
            )
            if a.entry.host == host and extra:
                audited[index] = replace(a, findings=(*a.findings, *extra))
    return audited


def installed(
    packs: Sequence[tuple[ManifestEntry, NodeVersion | None]],
    environments: Mapping[str, Environment] | None = None,
) -> list[AuditedEntry]:
    """Audit packs whose registry answer is given (``None``: not looked up)."""
    results: dict[NodeKey, LookupResult] = {
        e.key: Found(nv) for e, nv in packs if e.key is not None and nv is not None
    }
    return audit_entries([e for e, _ in packs], results, environments or {HOST: ENV})

"""The summary's lines about pack-level data: packs without a Node record, and outdated packs."""

from __future__ import annotations

from audit.model import AuditRun, EntrySource, NodeAnswer, NotFound, RegistryNode
from audit.report.node_columns import node_columns

__all__ = ["pack_lines"]


def pack_lines(run: AuditRun) -> list[str]:
    """One line per reason some packs got no Node record (each pack counted once), then the
    number of outdated packs when the registry named any newest version."""
    missing: dict[str, set[str]] = {}
    for audited in run.entries:
        if isinstance(audited.node, NotFound):
            missing.setdefault(audited.node.reason, set()).add(audited.entry.node_id.lower())
    lines = [
        f"pack-level checks: {_packs(len(ids))} without a Node record: {reason}"
        for reason, ids in sorted(missing.items())
    ]
    # NOTE: a fleet has the same Node answers on many hosts: each pack version is compared once.
    outdated: dict[tuple[int, str | None, EntrySource], object] = {}
    compared = [
        _outdated(outdated, a.node, a.entry.version, a.entry.source)
        for a in run.entries
        if _has_latest(a.node)
    ]
    if compared:
        outdated_count = sum(value is True for value in compared)
        lines.append(f"outdated: {_packs(outdated_count)} older than the registry's newest version")
    return lines


def _outdated(
    seen: dict[tuple[int, str | None, EntrySource], object],
    node: NodeAnswer | None,
    version: str | None,
    source: EntrySource,
) -> object:
    """Whether ``version`` is older than ``node``'s newest, asked once per distinct question
    (``node`` by identity: the run holds it alive)."""
    key = (id(node), version, source)
    if key not in seen:
        seen[key] = node_columns(node, version, source)["outdated"]
    return seen[key]


def _has_latest(node: object) -> bool:
    return isinstance(node, RegistryNode) and node.latest_version is not None


def _packs(n: int) -> str:
    return f"{n} pack" if n == 1 else f"{n} packs"

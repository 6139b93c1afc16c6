"""The summary's lines about pack-level data: packs without a Node record, and outdated packs."""

from __future__ import annotations

from collections import Counter
from operator import attrgetter

from audit.model import AuditRun, NotFound, RegistryNode
from audit.report.node_columns import node_columns

__all__ = ["pack_lines"]


def pack_lines(run: AuditRun) -> list[str]:
    """One line per reason some packs got no Node record (each pack counted once), then the
    number of outdated packs when the registry named any newest version."""
    # NOTE: a fleet's 100,000s of entries hold a few thousand distinct Node answers and packs:
    # they are counted in C first, and each distinct one is looked at once.
    entries = run.entries
    answers = list(map(_node_of, entries))
    nodes = dict(zip(map(id, answers), answers, strict=True))
    counted = Counter(zip(map(id, answers), map(_pack_of, entries), strict=True))
    missing: dict[str, set[str]] = {}
    outdated_count, compared = 0, False
    for (node_key, (node_id, version, source)), count in counted.items():
        node = nodes[node_key]
        if isinstance(node, NotFound):
            missing.setdefault(node.reason, set()).add(node_id.lower())
        elif _has_latest(node):
            compared = True
            outdated = node_columns(node, version, source)["outdated"] is True
            outdated_count += count if outdated else 0
    lines = [
        f"pack-level checks: {_packs(len(ids))} without a Node record: {reason}"
        for reason, ids in sorted(missing.items())
    ]
    if compared:
        lines.append(f"outdated: {_packs(outdated_count)} older than the registry's newest version")
    return lines


_node_of = attrgetter("node")
_pack_of = attrgetter("entry.node_id", "entry.version", "entry.source")


def _has_latest(node: object) -> bool:
    return isinstance(node, RegistryNode) and node.latest_version is not None


def _packs(n: int) -> str:
    return f"{n} pack" if n == 1 else f"{n} packs"

"""What a mirror file holds for workflows: the packs of their unresolved classes, and the class
lists of the installed pack versions they need."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from audit.model import AuditedEntry, Failed, ManifestEntry, NodeKey
from audit.registry.comfy_nodes import ComfyNodesSource, mirror_lines
from audit.workflows.matching import HostPacks, needed_keys
from audit.workflows.prepare import Resolved, resolve_workflows
from audit.workflows.resolve import registry_packs

__all__ = ["class_list_lines", "mirror_workflows", "with_class_lists", "workflow_lines"]


def workflow_lines(
    resolved: Resolved, entries: Sequence[ManifestEntry], source: ComfyNodesSource
) -> tuple[list[dict[str, Any]], int]:
    """The comfy-nodes mirror lines ``resolved`` needs on the hosts of ``entries``, and how
    many lookups failed."""
    by_host: dict[str, list[AuditedEntry]] = {}
    for entry in entries:
        by_host.setdefault(entry.host, []).append(AuditedEntry(entry, None, (), None, None))
    hosts = {host: HostPacks.of(listed) for host, listed in by_host.items()}
    keys = needed_keys(resolved.needs, hosts)
    lines, failed = class_list_lines(keys, source)
    lines += mirror_lines({}, resolved.packs)
    return lines, failed + len(resolved.failed)


def class_list_lines(
    keys: Iterable[NodeKey], source: ComfyNodesSource
) -> tuple[list[dict[str, Any]], int]:
    """The ``comfy_nodes_of`` lines of ``keys``, and how many lookups failed."""
    wanted = {key.normalized: key for key in keys}
    answers = source.classes_of(list(wanted.values())) if wanted else {}
    by_key: Mapping[NodeKey, Any] = {wanted[pair]: answer for pair, answer in answers.items()}
    failed = sum(isinstance(answer, Failed) for answer in answers.values())
    return mirror_lines(by_key, {}), failed


def mirror_workflows(
    paths: Sequence[str], entries: Sequence[ManifestEntry], source: ComfyNodesSource
) -> tuple[list[dict[str, Any]], int, list[str]]:
    """`workflow_lines` of the workflows ``paths`` name (read and resolved here), and the
    registry packs they name, whose Node records the mirror holds too."""
    resolved = resolve_workflows(paths, source)
    return (*workflow_lines(resolved, entries, source), registry_packs(resolved.needs))


def with_class_lists(
    records: Iterable[Mapping[str, Any]], source: ComfyNodesSource
) -> list[Mapping[str, Any]]:
    """NodeVersion records followed by the class list of each (``mirror --all --comfy-nodes``);
    failed lookups are left out, as any failed answer is."""
    listed = list(records)
    keys = [
        NodeKey(r["node_id"], r["version"])
        for r in listed
        if isinstance(r.get("node_id"), str) and isinstance(r.get("version"), str)
    ]
    lines, _ = class_list_lines(keys, source)
    return [*listed, *lines]

"""Pack-level checks: what the registry's Node record says about the whole pack (bans of the
pack or its publisher, removal), whichever version, nightly or git checkout is installed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from audit.checks.interface import finding, quote
from audit.model import (
    ID_PATTERN,
    EntrySource,
    Failed,
    Finding,
    Invalid,
    ManifestEntry,
    NodeAnswer,
    RegistryNode,
)

__all__ = ["BAN_CHECKS", "bans", "check_node", "node_id_of", "pack_ids"]

#: Findings that keep their severity when the pack is disabled: a banned pack on disk is still
#: malware, whether ComfyUI loads it or not.
BAN_CHECKS = frozenset({"status.banned", "node.banned", "publisher.banned"})


def node_id_of(entry: ManifestEntry) -> str | None:
    """The registry id whose Node record ``entry`` needs, or ``None`` when it needs none."""
    if entry.problem is not None or ID_PATTERN.fullmatch(entry.node_id) is None:
        return None
    in_registry = entry.source in (EntrySource.REGISTRY, EntrySource.LOCAL)
    return entry.node_id if in_registry or entry.registry_pack else None


def pack_ids(entries: Iterable[ManifestEntry], named: Iterable[str] = ()) -> list[str]:
    """The distinct registry ids (first spelling kept) whose Node records ``entries`` need,
    then those of the packs ``named`` (what workflows need, installed or not) that are ids."""
    ids: dict[str, str] = {}
    for entry in entries:
        node_id = node_id_of(entry)
        if node_id is not None:
            ids.setdefault(node_id.lower(), node_id)
    for node_id in named:
        if ID_PATTERN.fullmatch(node_id) is not None:
            ids.setdefault(node_id.lower(), node_id)
    return list(ids.values())


def bans(node: RegistryNode) -> list[tuple[str, str | None]]:
    """The bans of ``node`` as ``(check, status)``: ``node.banned``, ``publisher.banned``."""
    found = []
    if _word(node.status, "nodestatus") == "banned":
        found.append(("node.banned", node.status))
    if _word(node.publisher_status, "publisherstatus") == "banned":
        found.append(("publisher.banned", node.publisher_status))
    return found


def check_node(entry: ManifestEntry, answer: NodeAnswer) -> Iterator[Finding]:
    """The findings of the pack's Node answer; none when the registry has no record."""
    if isinstance(answer, Failed):
        message = f"registry lookup of the pack failed: {answer.reason}"
        yield finding(entry, "registry.fetch-failed", message)
    elif isinstance(answer, Invalid):
        message = f"registry answered with something that is not a Node: {answer.reason}"
        yield finding(entry, "registry.invalid-response", message)
    elif isinstance(answer, RegistryNode):
        yield from _node_findings(entry, answer)


def _node_findings(entry: ManifestEntry, node: RegistryNode) -> Iterator[Finding]:
    if node.invalid_fields:
        fields = "; ".join(node.invalid_fields)
        message = f"registry sent a Node with malformed {fields}; the other fields were checked"
        yield finding(entry, "registry.invalid-response", message, actual=fields)
    name = f"the pack {quote(node.node_id)}"
    word = _word(node.status, "nodestatus")
    if word == "banned":
        message = f"the registry banned {name}, whatever its version's status says"
        yield finding(entry, "node.banned", message, actual=node.status)
    elif word == "deleted":
        yield finding(
            entry, "node.deleted", f"{name} was removed from the registry", actual=node.status
        )
    elif word not in (None, "active"):
        yield _unknown(entry, node.status, name)
    publisher = f"the publisher {quote(node.publisher_id or '(unnamed)')}"
    word = _word(node.publisher_status, "publisherstatus")
    if word == "banned":
        message = f"the registry banned {publisher} of this pack, and so all its packs"
        yield finding(entry, "publisher.banned", message, actual=node.publisher_status)
    elif word not in (None, "active"):
        yield _unknown(entry, node.publisher_status, publisher)


def _word(status: str | None, prefix: str) -> str | None:
    """``banned`` for ``NodeStatusBanned`` (and for the database's own word ``banned``)."""
    return None if status is None else status.lower().removeprefix(prefix)


def _unknown(entry: ManifestEntry, status: str | None, who: str) -> Finding:
    message = f"registry status {quote(status or '')} of {who} is unknown to comfy-audit"
    return finding(entry, "status.unknown", message, actual=status)

"""An offline registry: a mirror file of NodeVersion records, one JSON object per line."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from audit import safeio
from audit.errors import MirrorError
from audit.model import (
    Found,
    Invalid,
    LookupResult,
    NodeAnswer,
    NodeKey,
    NodeVersion,
    NotFound,
    RegistryNode,
)
from audit.registry.comfy_nodes import is_side_line
from audit.registry.interface import VersionListing
from audit.registry.nodes import is_node_line, parse_node
from audit.registry.parse import parse_node_version

__all__ = ["MirrorRegistry"]

# NOTE: a mirror of the whole registry is tens of MiB; a file far past that is not a mirror.
_MAX_MIRROR_BYTES = 256 * 1024 * 1024


class MirrorRegistry:
    """An implementation of `Registry` that answers from NodeVersion records held in memory.

    A mirror line is a NodeVersion object as the API sends it, optionally with one extra key,
    ``fetched_at`` (an ISO timestamp). When a pair appears twice, the later line wins: mirrors
    grow by appending newer fetches.

    A node's version list is every record of that node in the file: a mirror written from a
    lookup holds only the versions that were installed, so write it from the full listing
    for the advisor to see the others.
    """

    def __init__(
        self,
        records: Iterable[NodeVersion],
        *,
        name: str = "mirror",
        nodes: Iterable[RegistryNode] | None = None,
    ) -> None:
        """:param nodes: the file's Node records; ``None`` for a file that holds none (written
        before pack-level checks), whose packs then get no pack-level checks."""
        self._name = name
        self._records = {record.key.normalized: record for record in records}
        self._nodes = None if nodes is None else {n.node_id.lower(): n for n in nodes}

    @property
    def in_memory(self) -> bool:
        """Always: the file was read whole when the mirror was made (`InMemory`)."""
        return True

    @classmethod
    def from_file(cls, path: str | Path) -> MirrorRegistry:
        """Read a mirror file.

        :raises MirrorError: naming the file (and line) when it is unreadable or a line is
            not a NodeVersion object.
        """
        path = Path(path)
        try:
            text = safeio.read_bytes(path, limit=_MAX_MIRROR_BYTES).decode("utf-8-sig")
        except safeio.Refused as error:
            raise MirrorError(f"{path}: cannot read the mirror file: {error}") from error
        except UnicodeDecodeError as error:
            raise MirrorError(f"{path}: not UTF-8 text (byte {error.start})") from error
        # NOTE: not splitlines(): JSON strings may hold U+2028, which splitlines() breaks on.
        lines = enumerate(text.split("\n"), start=1)
        read = (_parse_line(path, n, line) for n, line in lines if line.strip())
        parsed = [p for p in read if p is not None]
        versions = [p for p in parsed if isinstance(p, NodeVersion)]
        nodes = [p for p in parsed if isinstance(p, RegistryNode)]
        return cls(versions, name=path.name, nodes=nodes or None)

    def lookup_nodes(self, node_ids: Sequence[str]) -> dict[str, NodeAnswer]:
        """See `NodeLookup.lookup_nodes`; a file without Node lines runs no pack-level checks."""
        if self._nodes is None:
            reason = f"the mirror file {self._name} holds none (written before pack-level checks)"
            return dict.fromkeys(node_ids, NotFound(reason))
        missing = NotFound(f"not in the mirror file {self._name}")
        return {node_id: self._nodes.get(node_id.lower(), missing) for node_id in node_ids}

    @property
    def oldest_fetched_at(self) -> datetime | None:
        """When the stalest record was fetched, among records that say; ``None`` if none do."""
        moments = [r.fetched_at for r in self._records.values() if r.fetched_at is not None]
        return min(moments, default=None)

    def lookup(self, keys: Sequence[NodeKey]) -> dict[NodeKey, LookupResult]:
        """See `Registry.lookup`."""
        missing = NotFound(f"not in the mirror file {self._name}")
        return {key: self._answer(key, missing) for key in keys}

    def list_versions_of(self, node_ids: Sequence[str]) -> dict[str, VersionListing]:
        """See `VersionLister.list_versions_of`; a node the file does not hold has none."""
        by_node = self._by_node
        return {node_id: by_node.get(node_id.lower(), ()) for node_id in node_ids}

    @functools.cached_property
    def _by_node(self) -> dict[str, tuple[NodeVersion, ...]]:
        """Every node's records, in the file's order; built once, as the advisor asks for the
        lists one node at a time (`audit.registry.streaming`)."""
        by_node: dict[str, list[NodeVersion]] = {}
        for (node_id, _), record in self._records.items():
            by_node.setdefault(node_id, []).append(record)
        return {node_id: tuple(records) for node_id, records in by_node.items()}

    def _answer(self, key: NodeKey, missing: NotFound) -> LookupResult:
        record = self._records.get(key.normalized)
        return missing if record is None else Found(record)


def _parse_line(path: Path, number: int, line: str) -> NodeVersion | RegistryNode | None:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as error:
        raise MirrorError(
            f"{path}:{number}: not JSON: {error.msg} (column {error.colno})"
        ) from None
    except RecursionError:
        raise MirrorError(f"{path}:{number}: not JSON: nested too deeply") from None
    if is_side_line(obj):
        return None  # NOTE: comfy-nodes lines, read by MirrorComfyNodes
    parsed = parse_node(obj["node"]) if is_node_line(obj) else parse_node_version(obj)
    if isinstance(parsed, Invalid):
        raise MirrorError(f"{path}:{number}: {parsed.reason}")
    return parsed

"""Node records (the registry's record of a whole pack): what a lookup gives, how a record is
read, stored in the cache and written to a mirror line.

``GET /nodes?node_id=a&node_id=b…&include_banned=true&limit=N`` answers up to 100 ids in one
request (registry.md §1.6); an id the list leaves out is asked with ``GET /nodes/{id}`` (§1.4);
see `audit.registry.node_http`. HTTP, cache, offline and mirror registries all parse records
with `parse_node`, so a record means the same wherever it comes from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from audit.model import Invalid, NodeAnswer, NotFound, RegistryNode

__all__ = [
    "MAX_IDS",
    "NO_LIST_ROUTE",
    "FetchedNode",
    "NodeEntry",
    "NodeLookup",
    "NodeRecordSource",
    "distinct_ids",
    "is_node_line",
    "parse_node",
]

#: Ids in one list request: the API's largest page.
MAX_IDS = 100
NO_LIST_ROUTE = "the registry has no node list (GET /nodes)"

Record = Mapping[str, Any]


@dataclass(frozen=True)
class FetchedNode:
    """Represents one answer about a pack together with the Node JSON it was parsed from."""

    result: NodeAnswer
    record: Record | None = None
    """The Node object exactly as the registry sent it; only for `RegistryNode` answers."""

    def mirror_line(self) -> dict[str, Any] | None:
        """The mirror line for the record (``{"node": …}`` with ``fetched_at``), or ``None``."""
        if self.record is None or not isinstance(self.result, RegistryNode):
            return None
        node = dict(self.record)
        if self.result.fetched_at is not None:
            node["fetched_at"] = self.result.fetched_at.isoformat()
        return {"node": node}


class NodeLookup(Protocol):
    """Anything that can say what the registry knows about whole packs."""

    def lookup_nodes(self, node_ids: Sequence[str]) -> Mapping[str, NodeAnswer]:
        """Answer every id as given (ids compare case-insensitively); never raises."""
        ...


@runtime_checkable
class NodeRecordSource(NodeLookup, Protocol):
    """A node lookup that also hands back the raw records (to cache or mirror them)."""

    def fetch_nodes(self, node_ids: Sequence[str]) -> Mapping[str, FetchedNode]:
        """Like `NodeLookup.lookup_nodes`, with the record behind every found answer."""
        ...


def distinct_ids(node_ids: Sequence[str]) -> dict[str, str]:
    """Lower-cased id → the first spelling given."""
    unique: dict[str, str] = {}
    for node_id in node_ids:
        unique.setdefault(node_id.lower(), node_id)
    return unique


def parse_node(
    payload: object, *, fetched_at: datetime | None = None, cache_hit: bool = False
) -> RegistryNode | Invalid:
    """Read a Node object; only a missing or non-string ``id`` makes it no Node at all.

    >>> node = parse_node({"id": "a", "status": "", "publisher": {"id": "p",
    ...     "status": "PublisherStatusBanned"}, "latest_version": {"version": "1.0.0"}})
    >>> node.status, node.publisher_id, node.publisher_status, node.latest_version
    (None, 'p', 'PublisherStatusBanned', '1.0.0')
    """
    if not isinstance(payload, dict):
        return Invalid(f"a Node must be a JSON object, not {type(payload).__name__}")
    node_id = payload.get("id")
    if not isinstance(node_id, str) or not node_id:
        return Invalid("a Node must have a string id")
    bad: list[str] = []
    publisher = _object(payload, "publisher", bad)
    latest = _object(payload, "latest_version", bad)
    return RegistryNode(
        node_id=node_id,
        status=_text(payload, "status", bad),
        publisher_id=_text(publisher, "id", bad, "publisher."),
        publisher_status=_text(publisher, "status", bad, "publisher."),
        latest_version=_text(latest, "version", bad, "latest_version."),
        invalid_fields=tuple(bad),
        fetched_at=fetched_at or _stamp(payload.get("fetched_at")),
        cache_hit=cache_hit,
    )


def _stamp(value: object) -> datetime | None:
    """A mirror line's ``fetched_at``; a bad one is as good as none."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def _object(payload: Record, name: str, bad: list[str]) -> Record:
    value = payload.get(name)
    if value is None or isinstance(value, dict):
        return value or {}
    bad.append(name)
    return {}


def _text(payload: Record, name: str, bad: list[str], prefix: str = "") -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None  # NOTE: real pages hold "" for a status nobody set
    bad.append(prefix + name)
    return None


def is_node_line(obj: object) -> bool:
    """Whether a mirror line is ``{"node": Node}`` (and not a NodeVersion)."""
    return isinstance(obj, dict) and list(obj) == ["node"]


@dataclass(frozen=True)
class NodeEntry:
    """Represents one stored Node answer of one registry (a record, or none: 404/403)."""

    node_id: str
    """Lower-cased."""
    fetched_at: datetime
    record: Record | None

    def answer(self) -> FetchedNode | None:
        """The answer as a lookup gives it (``cache_hit``), or ``None`` if the record is bad."""
        if self.record is None:
            reason = "the registry had none (cached)"
            return FetchedNode(NotFound(reason, fetched_at=self.fetched_at, cache_hit=True))
        parsed = parse_node(self.record, fetched_at=self.fetched_at, cache_hit=True)
        if isinstance(parsed, Invalid) or parsed.node_id.lower() != self.node_id:
            return None
        return FetchedNode(parsed, self.record)

    @classmethod
    def of(cls, node_id: str, fetched: FetchedNode, now: datetime) -> NodeEntry | None:
        """The entry to store, or ``None`` for answers that are asked again next time."""
        result = fetched.result
        if isinstance(result, NotFound) and result.fetched_at is not None:
            return cls(node_id.lower(), result.fetched_at, None)
        if isinstance(result, RegistryNode) and fetched.record is not None:
            return cls(node_id.lower(), result.fetched_at or now, fetched.record)
        return None

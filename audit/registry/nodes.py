"""Node records (the registry's record of a whole pack), read in bulk.

``GET /nodes?node_id=a&node_id=b…&include_banned=true&limit=N`` answers up to 100 ids in one
request (registry.md §1.6); an id the list leaves out is asked with ``GET /nodes/{id}``
(§1.4). HTTP, cache, offline and mirror registries all parse records with `parse_node`, so a
record means the same wherever it comes from.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from audit.model import ID_PATTERN, Failed, Invalid, NodeAnswer, NotFound, RegistryNode
from audit.registry.interface import RegistryError
from audit.registry.listing import in_order
from audit.registry.transport import Failure, NotJson, Outcome, Reply

__all__ = [
    "MAX_IDS",
    "NO_LIST_ROUTE",
    "FetchedNode",
    "NodeEntry",
    "NodeLookup",
    "NodeRecordSource",
    "distinct_ids",
    "fetch_nodes",
    "is_node_line",
    "list_node_pages",
    "node_pages_allowed",
    "node_urls_allowed",
    "parse_node",
]

#: Ids in one list request: the API's largest page.
MAX_IDS = 100
NO_LIST_ROUTE = "the registry has no node list (GET /nodes)"
#: Statuses by which a server says it has no such route at all.
_NO_ROUTE = frozenset({404, 405, 501})
#: Answers of ``GET /nodes/{id}`` that say "no record for you" rather than "try again".
_NO_RECORD = frozenset({403, 404})
_PAGE_QUERY = re.compile(r"page=\d{1,7}&limit=\d{1,3}&include_banned=true")
_LIST_QUERY = re.compile(
    r"(?:node_id=[A-Za-z0-9._-]{1,128}&){1,100}include_banned=true&limit=\d{1,3}"
)

Record = Mapping[str, Any]
Send = Callable[[str], Outcome]


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


def node_urls_allowed(base: str) -> Callable[[str], bool]:
    """Whether a URL is one of the two node routes (where a request or a redirect may go)."""
    list_prefix, one_prefix = base + "/nodes?", base + "/nodes/"

    def allowed(url: str) -> bool:
        if url.startswith(list_prefix):
            return _LIST_QUERY.fullmatch(url.removeprefix(list_prefix)) is not None
        rest = url.removeprefix(one_prefix)
        return url.startswith(one_prefix) and ID_PATTERN.fullmatch(rest) is not None

    return allowed


def fetch_nodes(
    send: Send, base: str, node_ids: Sequence[str], *, concurrency: int
) -> dict[str, FetchedNode]:
    """Answer every id (lower-cased in the result): list requests of `MAX_IDS` ids at most
    ``concurrency`` at a time, then ``GET /nodes/{id}`` for ids a list answer left out."""
    unsafe = FetchedNode(Failed("not looked up: the id is not safe to put in a URL"))
    wanted = [n for n in node_ids if ID_PATTERN.fullmatch(n) is not None]
    answers = {n.lower(): unsafe for n in node_ids if ID_PATTERN.fullmatch(n) is None}
    chunks = [wanted[i : i + MAX_IDS] for i in range(0, len(wanted), MAX_IDS)]
    lister = _Lister(send, base)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="nodes") as pool:
        left: list[str] = []
        for found, omitted in pool.map(lister.chunk, chunks):
            answers.update(found)
            left += omitted
        answers.update(pool.map(lambda n: (n.lower(), _get(send, base, n)), left))
    return answers


class _Lister:
    """Sends list requests; after one says there is no list route, sends no more."""

    def __init__(self, send: Send, base: str) -> None:
        self._send = send
        self._base = base
        self._absent = threading.Event()

    def chunk(self, ids: Sequence[str]) -> tuple[dict[str, FetchedNode], list[str]]:
        """The answers a list request gives for ``ids``, and the ids it left out."""
        # NOTE: dated, so that it is cached like any answer: a warm run asks nothing again.
        if self._absent.is_set():
            return _all(ids, NotFound(NO_LIST_ROUTE, fetched_at=datetime.now(UTC))), []
        query = "".join(f"node_id={n}&" for n in ids)
        outcome = self._send(f"{self._base}/nodes?{query}include_banned=true&limit={len(ids)}")
        now = datetime.now(UTC)
        if isinstance(outcome, Reply) and outcome.status in _NO_ROUTE:
            self._absent.set()
            return _all(ids, NotFound(NO_LIST_ROUTE, fetched_at=now)), []
        items = _list_items(outcome)
        if not isinstance(items, list):
            return _all(ids, items), []
        found = _match(ids, items, now)
        return found, [n for n in ids if n.lower() not in found]


def _all(ids: Sequence[str], result: NodeAnswer) -> dict[str, FetchedNode]:
    return {n.lower(): FetchedNode(result) for n in ids}


def _list_items(outcome: Outcome) -> list[object] | Failed | Invalid:
    if isinstance(outcome, Failure):
        return Failed(outcome.reason)
    if isinstance(outcome, NotJson):
        return Failed(f"not JSON: {outcome.detail}")
    if outcome.status != 200:
        return Failed(f"HTTP {outcome.status}")
    payload = outcome.payload
    nodes = payload.get("nodes") if isinstance(payload, dict) else None
    if not isinstance(nodes, list):
        return Invalid("the node list answer holds no nodes array")
    return nodes


def _match(ids: Sequence[str], items: list[object], now: datetime) -> dict[str, FetchedNode]:
    """Pair list items with the ids asked; the first record of an id decides it."""
    asked = {n.lower() for n in ids}
    found: dict[str, FetchedNode] = {}
    for item in items:
        parsed = parse_node(item, fetched_at=now)
        if isinstance(parsed, Invalid):
            continue
        low = parsed.node_id.lower()
        if low in asked and low not in found:
            assert isinstance(item, dict)  # NOTE: parse_node accepts nothing else
            found[low] = FetchedNode(parsed, item)
    return found


def _get(send: Send, base: str, node_id: str) -> FetchedNode:
    outcome = send(f"{base}/nodes/{quote(node_id, safe='')}")
    if isinstance(outcome, Failure):
        return FetchedNode(Failed(outcome.reason))
    if isinstance(outcome, NotJson):
        return FetchedNode(Invalid(f"not JSON: {outcome.detail}"))
    now = datetime.now(UTC)
    if outcome.status in _NO_RECORD:
        return FetchedNode(
            NotFound(f"the registry has none (HTTP {outcome.status})", fetched_at=now)
        )
    if outcome.status != 200:
        return FetchedNode(Failed(f"HTTP {outcome.status}"))
    parsed = parse_node(outcome.payload, fetched_at=now)
    if isinstance(parsed, Invalid):
        return FetchedNode(parsed)
    if parsed.node_id.lower() != node_id.lower():
        return FetchedNode(Invalid(f"the registry answered with node {parsed.node_id!r}"))
    assert isinstance(outcome.payload, dict)
    return FetchedNode(parsed, outcome.payload)


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

    def row(self, registry: str) -> tuple[str, str, str, str | None] | None:
        """The cache row of this entry, or ``None`` when it cannot be stored."""
        if ID_PATTERN.fullmatch(self.node_id) is None:
            return None
        try:
            record = None if self.record is None else json.dumps(self.record, ensure_ascii=False)
        except (ValueError, TypeError, RecursionError):
            return None
        moment = self.fetched_at.astimezone(UTC).isoformat(timespec="microseconds")
        return (registry, self.node_id, moment, record)

    @classmethod
    def from_row(cls, node_id: str, fetched_at: object, record: object) -> NodeEntry | None:
        """The entry a row holds, or ``None`` when the row is damaged (then it is a miss)."""
        try:
            moment = datetime.fromisoformat(str(fetched_at))
            decoded = None if record is None else json.loads(str(record))
        except (ValueError, RecursionError):
            return None
        if decoded is not None and not isinstance(decoded, dict):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cls(node_id, moment.astimezone(UTC), decoded)


def list_node_pages(
    send: Send, base: str, *, concurrency: int, max_pages: int = 10_000
) -> Iterator[dict[str, Any]]:
    """Yield every Node of the registry as a mirror line (``{"node": …}`` with ``fetched_at``),
    from ``GET /nodes?page=N&limit=100&include_banned=true``; nothing from a registry without
    the route (its mirror then says that pack-level checks cannot run).

    :raises RegistryError: when a page cannot be fetched or is not a page of Nodes.
    """
    first = send(_page_url(base, 1))
    if isinstance(first, Reply) and first.status in _NO_ROUTE:
        return
    nodes, total_pages = _node_page(first, 1)
    if total_pages > max_pages:
        raise RegistryError(f"registry node listing: {total_pages} pages, more than {max_pages}")
    pages = chain(
        [nodes],
        in_order(
            lambda n: _node_page(send(_page_url(base, n)), n),
            range(2, total_pages + 1),
            concurrency,
        ),
    )
    seen: set[str] = set()
    for page in pages:
        fetched_at = datetime.now(UTC).isoformat()
        for item in page:
            parsed = parse_node(item)
            if isinstance(parsed, Invalid) or parsed.node_id.lower() in seen:
                continue
            seen.add(parsed.node_id.lower())
            assert isinstance(item, dict)
            yield {"node": {**item, "fetched_at": fetched_at}}


def node_pages_allowed(base: str) -> Callable[[str], bool]:
    """Whether a URL is a page of the Node listing (where a request or a redirect may go)."""
    prefix = base + "/nodes?"
    return lambda url: (
        url.startswith(prefix) and _PAGE_QUERY.fullmatch(url[len(prefix) :]) is not None
    )


def _page_url(base: str, page: int) -> str:
    return f"{base}/nodes?page={page}&limit={MAX_IDS}&include_banned=true"


def _node_page(outcome: Outcome, page: int) -> tuple[list[object], int]:
    where = f"registry node listing, page {page}"
    if isinstance(outcome, Failure):
        raise RegistryError(f"{where}: {outcome.reason}")
    if isinstance(outcome, NotJson):
        raise RegistryError(f"{where}: not JSON: {outcome.detail}")
    if outcome.status != 200:
        raise RegistryError(f"{where}: HTTP {outcome.status}")
    payload = outcome.payload
    nodes = payload.get("nodes") if isinstance(payload, dict) else None
    total_pages = payload.get("totalPages") if isinstance(payload, dict) else None
    if not isinstance(nodes, list) or type(total_pages) is not int or total_pages < 0:
        raise RegistryError(f"{where}: not a listing page (no nodes or totalPages)")
    return nodes, total_pages

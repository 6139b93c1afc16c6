"""The Node routes over HTTP: ``GET /nodes?node_id=…`` in chunks of 100 ids with
``GET /nodes/{id}`` for the ids a list answer leaves out, and the paged listing of every Node
(for ``mirror --all``). `HttpRegistry` sends the requests; this module builds and reads them."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import chain
from typing import Any
from urllib.parse import quote

from audit.model import ID_PATTERN, Failed, Invalid, NodeAnswer, NotFound
from audit.registry.interface import RegistryError
from audit.registry.listing import in_order, listing_page
from audit.registry.nodes import MAX_IDS, NO_LIST_ROUTE, FetchedNode, parse_node
from audit.registry.outcomes import answered
from audit.registry.transport import Failure, NotJson, Outcome, Reply

__all__ = ["fetch_nodes", "list_node_pages", "node_pages_allowed", "node_urls_allowed"]

#: Statuses by which a server says it has no such route at all.
_NO_ROUTE = frozenset({404, 405, 501})
#: Answers of ``GET /nodes/{id}`` that say "no record for you" rather than "try again".
_NO_RECORD = frozenset({403, 404})
_PAGE_QUERY = re.compile(r"page=\d{1,7}&limit=\d{1,3}&include_banned=true")
_LIST_QUERY = re.compile(
    r"(?:node_id=[A-Za-z0-9._-]{1,128}&){1,100}include_banned=true&limit=\d{1,3}"
)

Send = Callable[[str], Outcome]


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
    reply = answered(outcome)
    if isinstance(reply, str):
        return Failed(reply)
    payload = reply.payload
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
    return listing_page(outcome, f"registry node listing, page {page}", "nodes")

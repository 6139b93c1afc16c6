"""The Comfy Registry over HTTP: bulk POSTs, per-version GETs as fallback, a node's version list,
the paged listing."""

from __future__ import annotations

import functools
import ipaddress
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import audit
from audit.model import (
    ID_PATTERN,
    VERSION_PATTERN,
    Failed,
    LookupResult,
    NodeAnswer,
    NodeKey,
)
from audit.registry.answers import Answers, bulk_items, get_result, http_reason, match_bulk
from audit.registry.credentials import Token
from audit.registry.interface import (
    DEFAULT_BASE_URL,
    Fetched,
    FetchedVersions,
    VersionListing,
    distinct,
)
from audit.registry.listing import LISTING_QUERY, list_pages
from audit.registry.node_http import (
    fetch_nodes,
    list_node_pages,
    node_pages_allowed,
    node_urls_allowed,
)
from audit.registry.node_versions import parse_version_list
from audit.registry.nodes import FetchedNode, distinct_ids
from audit.registry.streaming import AskVersions, answered
from audit.registry.transport import (
    Failure,
    NotJson,
    Reply,
    RequestCounter,
    RequestStats,
    Transport,
    TransportOptions,
)

__all__ = ["BULK_PATH", "DEFAULT_BASE_URL", "HttpRegistry", "is_loopback_host"]

BULK_PATH = "/bulk/nodes/versions"
#: Version-list GETs in flight per ``concurrency`` slot (see `HttpRegistry.stream_versions`).
_LIST_WORKERS_PER_SLOT = 2
#: Statuses by which a server says it has no bulk route at all (rather than no such pairs).
_NO_BULK_ROUTE = frozenset({404, 405, 501})


class HttpRegistry:
    """An implementation of `Registry` (and `VersionLister`) that asks the Comfy Registry API.

    Pairs go out in bulk requests of ``chunk_size``, at most ``concurrency`` at a time; a pair
    the bulk answer leaves open (an ``error`` item, a missing item, a failed or absent bulk
    route) is asked again with the per-version GET. Transient faults (connection errors,
    timeouts, cut or non-JSON bodies, 429, 5xx) are retried ``retries`` more times with
    jittered exponential back-off from ``backoff_base`` seconds, honouring ``Retry-After``;
    no single wait exceeds ``retry_after_cap`` seconds.

    ``token`` is sent as ``Authorization: Bearer`` to this registry's origin only; TLS is
    always verified, against ``ca_bundle`` instead of the default trust store when given.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        chunk_size: int = 100,
        concurrency: int = 8,
        timeout: float = 10.0,
        retries: int = 4,
        backoff_base: float = 0.5,
        retry_after_cap: float = 60.0,
        max_response_bytes: int = 32 * 1024 * 1024,
        user_agent: str = audit.USER_AGENT,
        token: str | None = None,
        ca_bundle: str | Path | None = None,
    ) -> None:
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"registry base URL must be http(s): {base_url!r}")
        if min(chunk_size, concurrency, max_response_bytes) < 1 or retries < 0 or timeout <= 0:
            raise ValueError("chunk_size, concurrency, timeout and max_response_bytes must be > 0")
        if ca_bundle is not None and not Path(ca_bundle).is_file():
            raise ValueError(f"CA bundle {str(ca_bundle)!r}: no such file")
        self._base = base_url.rstrip("/")
        self._chunk_size = chunk_size
        self._concurrency = concurrency
        self._options = TransportOptions(
            timeout=timeout,
            retries=retries,
            backoff_base=backoff_base,
            retry_after_cap=retry_after_cap,
            max_response_bytes=max_response_bytes,
            user_agent=user_agent,
            token=None if token is None else Token(token),
            ca_bundle=None if ca_bundle is None else str(ca_bundle),
        )
        self._counter = RequestCounter()
        self._bulk_absent = threading.Event()

    @property
    def base_url(self) -> str:
        return self._base

    @property
    def concurrency(self) -> int:
        return self._concurrency

    def side_transport(self, allow: Callable[[str], bool]) -> Transport:
        """A transport to this registry for another module's routes (comfy-nodes): ``allow``
        says which URLs it may request, redirects included; same options, same counter."""
        return self._transport(lambda url: url.startswith(self._base + "/") and allow(url))

    @property
    def stats(self) -> RequestStats:
        """Totals of every request sent so far, retries included."""
        return self._counter.stats

    def lookup(self, keys: Sequence[NodeKey]) -> dict[NodeKey, LookupResult]:
        """See `Registry.lookup`."""
        return {key: fetched.result for key, fetched in self.fetch(keys).items()}

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, Fetched]:
        """See `RecordSource.fetch`."""
        unique = distinct(keys)
        answers: Answers = {p: Fetched(_UNSAFE) for p, k in unique.items() if not _is_safe(k)}
        wanted = [k for k in unique.values() if _is_safe(k)]
        chunks = [wanted[i : i + self._chunk_size] for i in range(0, len(wanted), self._chunk_size)]
        with (
            self._transport() as transport,
            ThreadPoolExecutor(self._concurrency, thread_name_prefix="registry") as pool,
        ):
            pending: list[NodeKey] = []
            for found, left in pool.map(lambda chunk: self._bulk(transport, chunk), chunks):
                answers.update(found)
                pending += left
            answers.update(
                pool.map(lambda key: (key.normalized, self._get(transport, key)), pending)
            )
        return {key: answers[key.normalized] for key in keys}

    def list_versions_of(self, node_ids: Sequence[str]) -> dict[str, VersionListing]:
        """See `VersionLister.list_versions_of`."""
        return {
            node_id: fetched.result for node_id, fetched in self.fetch_versions_of(node_ids).items()
        }

    def fetch_versions_of(self, node_ids: Sequence[str]) -> dict[str, FetchedVersions]:
        """See `VersionRecordSource.fetch_versions_of`.

        One ``GET /nodes/{id}/versions`` per distinct id (ids compare case-insensitively), at
        most twice ``concurrency`` at a time (`stream_versions`), with the retries and limits
        of every request. A 404 is an empty list: the registry knows no such node.
        """
        unique: dict[str, str] = {}
        for node_id in node_ids:
            unique.setdefault(node_id.lower(), node_id)
        with self.stream_versions() as ask:
            answers = {low: ask(node_id) for low, node_id in unique.items()}
        return {node_id: answers[node_id.lower()].result() for node_id in node_ids}

    @contextmanager
    def stream_versions(self, candidates: Sequence[str] = ()) -> Iterator[AskVersions]:
        """See `VersionStreamSource.stream_versions`: each list is requested as it is asked for,
        at most twice ``concurrency`` at a time, all over one transport (its connections are
        kept alive between the requests)."""
        # NOTE: a version list is one small GET of one node (a few kB, read-only and cached
        # for --max-age), unlike a bulk POST of 100 pairs; twice as many in flight keep the
        # advisor's lists from waiting on each other, and 429s and Retry-After still slow them.
        workers = _LIST_WORKERS_PER_SLOT * self._concurrency
        with (
            self._transport() as transport,
            ThreadPoolExecutor(workers, thread_name_prefix="registry") as pool,
        ):

            def ask(node_id: str) -> Future[FetchedVersions]:
                if ID_PATTERN.fullmatch(node_id) is None:
                    return answered(FetchedVersions(_UNSAFE_NODE))
                return pool.submit(self._versions_of, transport, node_id)

            try:
                yield ask
            except BaseException:
                # NOTE: a run that stops (Ctrl-C, a bug) sends none of the lists still queued.
                pool.shutdown(wait=False, cancel_futures=True)
                raise

    def lookup_nodes(self, node_ids: Sequence[str]) -> dict[str, NodeAnswer]:
        """See `NodeLookup.lookup_nodes`."""
        return {node_id: f.result for node_id, f in self.fetch_nodes(node_ids).items()}

    def fetch_nodes(self, node_ids: Sequence[str]) -> dict[str, FetchedNode]:
        """See `NodeRecordSource.fetch_nodes` and `audit.registry.node_http.fetch_nodes`: list
        requests of 100 ids, with the retries, limits and token of every request."""
        wanted = list(distinct_ids(node_ids).values())
        with self._transport(node_urls_allowed(self._base)) as transport:
            send = functools.partial(transport.send, "GET")
            answers = fetch_nodes(send, self._base, wanted, concurrency=self._concurrency)
        return {node_id: answers[node_id.lower()] for node_id in node_ids}

    def list_nodes(self, *, max_pages: int = 10_000) -> Iterator[dict[str, Any]]:
        """Yield every Node of the registry as a mirror line, from the paginated ``GET /nodes``;
        see `audit.registry.node_http.list_node_pages`.

        :raises RegistryError: when a page cannot be fetched.
        """
        with self._transport(node_pages_allowed(self._base)) as transport:
            send = functools.partial(transport.send, "GET")
            yield from list_node_pages(
                send, self._base, concurrency=self._concurrency, max_pages=max_pages
            )

    def list_versions(
        self, *, page_size: int = 100, max_pages: int = 10_000
    ) -> Iterator[dict[str, Any]]:
        """Yield every NodeVersion record of the registry, from the paginated ``GET /versions``.

        See `list_pages`: the first page says how many there are, the rest are fetched at
        most ``concurrency`` at a time, with the retries and limits of every request.

        :raises RegistryError: when a page cannot be fetched.
        """
        with self._transport(self._listing_allowed) as transport:
            yield from list_pages(
                lambda url: transport.send("GET", url),
                self._base,
                page_size=page_size,
                concurrency=self._concurrency,
                max_pages=max_pages,
            )

    def _transport(self, allow: Callable[[str], bool] | None = None) -> Transport:
        host = urlsplit(self._base).hostname or ""
        # NOTE: a loopback registry (tests, a local mirror server) must never go via a proxy.
        return Transport(
            self._options,
            self._counter,
            allow=allow or self._allowed,
            trust_env=not is_loopback_host(host),
            origin=self._base,
        )

    def _listing_allowed(self, url: str) -> bool:
        """Whether ``url`` is a page of the version listing (where a redirect may lead)."""
        prefix = self._base + "/versions?"
        return (
            url.startswith(prefix) and LISTING_QUERY.fullmatch(url.removeprefix(prefix)) is not None
        )

    def _allowed(self, url: str) -> bool:
        """Whether ``url`` is one of the three routes this client may ever request."""
        prefix = self._base + "/"
        if not url.startswith(prefix):
            return False
        parts = url.removeprefix(prefix).split("/")
        if parts == ["bulk", "nodes", "versions"]:
            return True
        odd = any(p in ("", ".", "..") or "?" in p or "#" in p for p in parts)
        # NOTE: /nodes/{id}/versions/{version} (one version) and /nodes/{id}/versions (all).
        return len(parts) in (3, 4) and parts[0] == "nodes" and parts[2] == "versions" and not odd

    def _bulk(
        self, transport: Transport, chunk: Sequence[NodeKey]
    ) -> tuple[Answers, list[NodeKey]]:
        """Ask for one chunk in one request; return the answers and the keys left open."""
        if self._bulk_absent.is_set():
            return {}, list(chunk)
        body = {"node_versions": [{"node_id": k.node_id, "version": k.version} for k in chunk]}
        outcome = transport.send("POST", self._base + BULK_PATH, body)
        if isinstance(outcome, Reply) and outcome.status in _NO_BULK_ROUTE:
            self._bulk_absent.set()
        items = bulk_items(outcome)
        if items is None:
            return {}, list(chunk)
        answers = match_bulk(chunk, items, datetime.now(UTC))
        return answers, [k for k in chunk if k.normalized not in answers]

    def _get(self, transport: Transport, key: NodeKey) -> Fetched:
        node, version = quote(key.node_id, safe=""), quote(key.version, safe="")
        outcome = transport.send("GET", f"{self._base}/nodes/{node}/versions/{version}")
        return get_result(outcome, key)

    def _versions_of(self, transport: Transport, node_id: str) -> FetchedVersions:
        outcome = transport.send("GET", f"{self._base}/nodes/{quote(node_id, safe='')}/versions")
        if isinstance(outcome, Failure):
            return FetchedVersions(Failed(outcome.reason))
        if isinstance(outcome, NotJson):
            return FetchedVersions(Failed(f"not JSON: {outcome.detail}"))
        if outcome.status == 200:
            return parse_version_list(node_id, outcome.payload, datetime.now(UTC))
        if outcome.status == 404:
            return FetchedVersions((), (), datetime.now(UTC))
        return FetchedVersions(Failed(http_reason(outcome)))


_UNSAFE = Failed("not looked up: the id or version is not safe to put in a URL")
_UNSAFE_NODE = Failed("not listed: the id is not safe to put in a URL")


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a URL's hostname) is this machine: 127.0.0.0/8, ::1 or localhost."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_safe(key: NodeKey) -> bool:
    # NOTE: callers filter already; this guards the URL, where quoting alone is not enough
    # (HTTP clients drop a `..` segment).
    id_ok = ID_PATTERN.fullmatch(key.node_id) is not None
    return id_ok and VERSION_PATTERN.fullmatch(key.version) is not None

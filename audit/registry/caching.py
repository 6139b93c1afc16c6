"""Registries in front of the cache: `CachingRegistry` (online) and `OfflineRegistry`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta

from audit.errors import InputError
from audit.model import Failed, LookupResult, NodeAnswer, NodeKey, NotFound
from audit.registry.cache import DEFAULT_MAX_AGE, CacheEntry, CacheError, ListEntry, RegistryCache
from audit.registry.interface import (
    Fetched,
    FetchedVersions,
    Pair,
    RecordSource,
    VersionListing,
    VersionRecordSource,
    distinct,
)
from audit.registry.nodes import (
    NO_LIST_ROUTE,
    FetchedNode,
    NodeEntry,
    NodeRecordSource,
    distinct_ids,
)
from audit.registry.streaming import AskVersions, VersionStreamSource, answered

__all__ = ["CachingRegistry", "OfflineRegistry"]

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _lower_ids(node_ids: Iterable[str]) -> dict[str, None]:
    return dict.fromkeys(node_id.lower() for node_id in node_ids)


class CachingRegistry:
    """An implementation of `Registry` that answers from the cache when it can.

    An answer younger than ``max_age`` comes from the cache, a `Found` with ``cache_hit``
    and the ``fetched_at`` of the original answer. Every other pair goes to ``inner`` in a
    single lookup, and its `Found` and `NotFound` answers are stored. With ``refresh`` the
    cache is only written, never read.

    Version lists (`list_versions_of`) follow the same rules, by registry and node id.
    """

    def __init__(
        self,
        inner: RecordSource,
        cache: RegistryCache,
        *,
        max_age: timedelta = DEFAULT_MAX_AGE,
        refresh: bool = False,
        clock: Clock = _utc_now,
    ) -> None:
        if max_age < timedelta(0):
            raise ValueError("max_age must not be negative")
        self._inner = inner
        self._cache = cache
        self._max_age = max_age
        self._refresh = refresh
        self._clock = clock

    @property
    def base_url(self) -> str:
        return self._inner.base_url

    @property
    def inner(self) -> RecordSource:
        """The registry asked on a miss (an `HttpRegistry`, with its request ``stats``)."""
        return self._inner

    @property
    def cache(self) -> RegistryCache:
        return self._cache

    def lookup(self, keys: Sequence[NodeKey]) -> dict[NodeKey, LookupResult]:
        """See `Registry.lookup`."""
        return {key: fetched.result for key, fetched in self.fetch(keys).items()}

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, Fetched]:
        """See `RecordSource.fetch`."""
        unique = distinct(keys)
        answers = {} if self._refresh else self._fresh(list(unique))
        missing = [key for pair, key in unique.items() if pair not in answers]
        if missing:
            fetched = self._inner.fetch(missing)
            self._store(fetched)
            answers.update((key.normalized, answer) for key, answer in fetched.items())
        return {key: answers[key.normalized] for key in keys}

    def list_versions_of(self, node_ids: Sequence[str]) -> dict[str, VersionListing]:
        """See `VersionLister.list_versions_of`."""
        return {node_id: f.result for node_id, f in self.fetch_versions_of(node_ids).items()}

    def fetch_versions_of(self, node_ids: Sequence[str]) -> dict[str, FetchedVersions]:
        """See `VersionRecordSource.fetch_versions_of`."""
        unique: dict[str, str] = {}
        for node_id in node_ids:
            unique.setdefault(node_id.lower(), node_id)
        answers = {} if self._refresh else self._fresh_lists(list(unique))
        missing = [node_id for low, node_id in unique.items() if low not in answers]
        if missing:
            fetched = self._fetch_lists(missing)
            now = self._clock()
            entries = (ListEntry.of(node_id, f, now) for node_id, f in fetched.items())
            self._cache.put_lists(self.base_url, (e for e in entries if e is not None))
            answers.update((node_id.lower(), f) for node_id, f in fetched.items())
        return {node_id: answers[node_id.lower()] for node_id in node_ids}

    @contextmanager
    def stream_versions(self, candidates: Sequence[str] = ()) -> Iterator[AskVersions]:
        """See `VersionStreamSource.stream_versions`: the lists `fetch_versions_of` would give.

        What the cache holds fresh of the candidates is read at once, in one go, and answered
        from there; any other list is asked of ``inner`` the moment it is asked for, and every
        list fetched is stored when the block ends.
        """
        known = {} if self._refresh else self._fresh_lists(list(_lower_ids(candidates)))
        read = set(_lower_ids(candidates))
        fetched: dict[str, tuple[str, Future[FetchedVersions]]] = {}
        inner: list[AskVersions] = []
        with ExitStack() as stack:

            def ask(node_id: str) -> Future[FetchedVersions]:
                low = node_id.lower()
                if low not in read and not self._refresh:
                    read.add(low)
                    known.update(self._fresh_lists([low]))
                if low in known:
                    return answered(known[low])
                if not inner:  # NOTE: opened on the first miss: a warm run sends nothing
                    inner.append(stack.enter_context(self._inner_lists()))
                if low not in fetched:
                    fetched[low] = (node_id, inner[0](node_id))
                return fetched[low][1]

            yield ask
        now = self._clock()
        entries = (ListEntry.of(node_id, f.result(), now) for node_id, f in fetched.values())
        self._cache.put_lists(self.base_url, (e for e in entries if e is not None))

    def _inner_lists(self) -> AbstractContextManager[AskVersions]:
        if isinstance(self._inner, VersionStreamSource):
            return self._inner.stream_versions()
        return nullcontext(lambda node_id: answered(self._fetch_lists([node_id])[node_id]))

    def lookup_nodes(self, node_ids: Sequence[str]) -> dict[str, NodeAnswer]:
        """See `NodeLookup.lookup_nodes`."""
        return {node_id: f.result for node_id, f in self.fetch_nodes(node_ids).items()}

    def fetch_nodes(self, node_ids: Sequence[str]) -> dict[str, FetchedNode]:
        """See `NodeRecordSource.fetch_nodes`: Node answers follow the rules of all answers."""
        unique = distinct_ids(node_ids)
        now = self._clock()
        stored = {} if self._refresh else self._cache.get_nodes(self.base_url, list(unique))
        answers = {
            low: answer
            for low, entry in stored.items()
            if abs(now - entry.fetched_at) < self._max_age and (answer := entry.answer())
        }
        missing = [node_id for low, node_id in unique.items() if low not in answers]
        if missing:
            fetched = self._fetch_nodes(missing)
            entries = (NodeEntry.of(node_id, f, now) for node_id, f in fetched.items())
            self._cache.put_nodes(self.base_url, (e for e in entries if e is not None))
            answers.update((node_id.lower(), f) for node_id, f in fetched.items())
        return {node_id: answers[node_id.lower()] for node_id in node_ids}

    def _fetch_nodes(self, node_ids: list[str]) -> Mapping[str, FetchedNode]:
        if not isinstance(self._inner, NodeRecordSource):
            return dict.fromkeys(node_ids, FetchedNode(NotFound(NO_LIST_ROUTE)))
        return self._inner.fetch_nodes(node_ids)

    def _fetch_lists(self, node_ids: list[str]) -> Mapping[str, FetchedVersions]:
        if not isinstance(self._inner, VersionRecordSource):
            unable = FetchedVersions(Failed("this registry cannot list versions"))
            return dict.fromkeys(node_ids, unable)
        return self._inner.fetch_versions_of(node_ids)

    def _fresh_lists(self, node_ids: list[str]) -> dict[str, FetchedVersions]:
        now = self._clock()
        stored = self._cache.get_lists(self.base_url, node_ids)
        # NOTE: abs(), as for answers: a list stamped in the future is trusted no longer.
        return {
            node_id: entry.answer()
            for node_id, entry in stored.items()
            if abs(now - entry.fetched_at) < self._max_age
        }

    def _fresh(self, pairs: list[Pair]) -> dict[Pair, Fetched]:
        now = self._clock()
        answers: dict[Pair, Fetched] = {}
        for pair, entry in self._cache.get(self.base_url, pairs).items():
            # NOTE: abs(): an answer stamped in the future (clock skew between machines
            # sharing a cache) is trusted no longer than one stamped in the past.
            answer = entry.answer() if abs(now - entry.fetched_at) < self._max_age else None
            if answer is not None:
                answers[pair] = answer
        return answers

    def _store(self, fetched: Mapping[NodeKey, Fetched]) -> None:
        now = self._clock()
        entries = (CacheEntry.of(key, answer, now) for key, answer in fetched.items())
        self._cache.put(self.base_url, (entry for entry in entries if entry is not None))


class OfflineRegistry:
    """An implementation of `Registry` that answers only from the cache, at any age.

    A pair the cache does not hold is `NotFound` ("not in the cache (offline)"), and a node
    whose version list it does not hold has a `Failed` list; nothing is ever sent over the
    network.

    :raises InputError: when the cache holds nothing from ``base_url`` or cannot be read.
    """

    def __init__(self, cache: RegistryCache, base_url: str) -> None:
        try:
            held = cache.count(base_url)
        except CacheError as error:
            raise InputError(f"offline: {error}") from error
        if held == 0:
            raise InputError(
                f"offline: the cache at {cache.folder} is empty; "
                "run once online or use --registry FILE (a mirror)"
            )
        self._cache = cache
        self._base = base_url
        self._oldest: datetime | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self._base

    @property
    def cache(self) -> RegistryCache:
        return self._cache

    @property
    def oldest_fetched_at(self) -> datetime | None:
        """When the stalest answer given so far was fetched; ``None`` before any was given.

        NOTE: over the answers given, not the whole cache: entries of packs no longer
        installed are never refreshed, and would make every offline run look stale.
        """
        return self._oldest

    def lookup(self, keys: Sequence[NodeKey]) -> dict[NodeKey, LookupResult]:
        """See `Registry.lookup`."""
        return {key: fetched.result for key, fetched in self.fetch(keys).items()}

    def fetch(self, keys: Sequence[NodeKey]) -> dict[NodeKey, Fetched]:
        """See `RecordSource.fetch`."""
        entries = self._cache.get(self._base, {key.normalized for key in keys})
        missing = Fetched(NotFound("not in the cache (offline)"))
        answers: dict[Pair, Fetched] = {}
        for pair, entry in entries.items():
            answer = entry.answer()
            if answer is not None:
                answers[pair] = answer
                self._note(entry.fetched_at)
        return {key: answers.get(key.normalized, missing) for key in keys}

    def _note(self, fetched_at: datetime) -> None:
        # NOTE: a run asks for answers and Node records at the same time, from two threads.
        with self._lock:
            if self._oldest is None or fetched_at < self._oldest:
                self._oldest = fetched_at

    def lookup_nodes(self, node_ids: Sequence[str]) -> dict[str, NodeAnswer]:
        """See `NodeLookup.lookup_nodes`; a node the cache does not hold has no record."""
        return {node_id: f.result for node_id, f in self.fetch_nodes(node_ids).items()}

    def fetch_nodes(self, node_ids: Sequence[str]) -> dict[str, FetchedNode]:
        """See `NodeRecordSource.fetch_nodes`."""
        stored = self._cache.get_nodes(self._base, {node_id.lower() for node_id in node_ids})
        missing = FetchedNode(NotFound("not in the cache (offline)"))
        answers: dict[str, FetchedNode] = {}
        for low, entry in stored.items():
            answer = entry.answer()
            if answer is not None:
                answers[low] = answer
                self._note(entry.fetched_at)
        return {node_id: answers.get(node_id.lower(), missing) for node_id in node_ids}

    def list_versions_of(self, node_ids: Sequence[str]) -> dict[str, VersionListing]:
        """See `VersionLister.list_versions_of`."""
        return {node_id: f.result for node_id, f in self.fetch_versions_of(node_ids).items()}

    def fetch_versions_of(self, node_ids: Sequence[str]) -> dict[str, FetchedVersions]:
        """See `VersionRecordSource.fetch_versions_of`."""
        stored = self._cache.get_lists(self._base, {node_id.lower() for node_id in node_ids})
        missing = FetchedVersions(Failed("no version list in the cache (offline)"))
        for entry in stored.values():
            self._note(entry.fetched_at)
        answers = {node_id: entry.answer() for node_id, entry in stored.items()}
        return {node_id: answers.get(node_id.lower(), missing) for node_id in node_ids}

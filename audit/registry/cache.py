"""An on-disk cache of registry answers: one SQLite file that every run on a machine shares.

Only answers that are facts about the registry are kept: a NodeVersion record (`Found`) and
`NotFound`, a node's whole version list (for the upgrade advisor; ``[]`` when the registry
knows no such node), a Node record (or none: 404/403), and other services' answers
(documents: OSV, comfy-nodes). Failures and invalid answers are asked again next time. Every
kind is one kind of entry of the same store (`audit.registry.store`), with the same codec.

The cache must never cost a run: a file that is damaged, unreadable or unwritable logs one
warning and the run goes on as if there were no cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from audit.model import ID_PATTERN, VERSION_PATTERN, Found, Invalid, NodeKey, NotFound
from audit.registry.interface import Fetched, FetchedVersions
from audit.registry.node_versions import parse_version_list
from audit.registry.nodes import NodeEntry
from audit.registry.parse import parse_node_version
from audit.registry.store import CACHE_FILE, CacheError, EntryStore, Stored, cache_key

__all__ = [
    "CACHE_FILE",
    "DEFAULT_MAX_AGE",
    "CacheEntry",
    "CacheError",
    "ListEntry",
    "NodeEntry",
    "RegistryCache",
    "cache_key",
    "default_cache_dir",
]

DEFAULT_MAX_AGE = timedelta(hours=1)
# NOTE: the kinds of entry; a document's kind is prefixed, so that no service can collide
# with the registry's own.
_ANSWER, _LIST, _NODE, _DOCUMENT = "node-version", "version-list", "node", "document:"

_Pair = tuple[str, str]


def default_cache_dir() -> Path:
    """The user's cache folder for comfy-audit (``~/.cache/comfy-audit`` on Linux)."""
    import platformdirs  # NOTE: here, so that commands without a cache never import it

    return Path(platformdirs.user_cache_dir("comfy-audit", appauthor=False))


@dataclass(frozen=True)
class CacheEntry:
    """Represents one stored answer of one registry."""

    node_id: str
    """Lower-cased."""
    version: str
    fetched_at: datetime
    """When the registry gave the answer (aware, UTC)."""
    record: Mapping[str, Any] | None
    """The NodeVersion JSON for a found pair; ``None`` when the registry had no such pair."""

    @property
    def pair(self) -> _Pair:
        return (self.node_id, self.version)

    def answer(self) -> Fetched | None:
        """The answer as a lookup gives it (``cache_hit``), or ``None`` if the record is bad."""
        if self.record is None:
            return Fetched(NotFound(fetched_at=self.fetched_at, cache_hit=True))
        parsed = parse_node_version(self.record, fetched_at=self.fetched_at)
        if isinstance(parsed, Invalid) or parsed.key.normalized != self.pair:
            return None
        return Fetched(Found(parsed, cache_hit=True), self.record)

    @classmethod
    def of(cls, key: NodeKey, fetched: Fetched, now: datetime) -> CacheEntry | None:
        """The entry to store for an answer, or ``None`` for answers that are not kept."""
        result = fetched.result
        if isinstance(result, NotFound):
            return cls(*key.normalized, now, None)
        if isinstance(result, Found) and fetched.record is not None:
            return cls(*key.normalized, result.node_version.fetched_at or now, fetched.record)
        return None

    @classmethod
    def decoded(cls, pair: _Pair, stored: Stored) -> CacheEntry | None:
        """The entry a row holds, or ``None`` when it is damaged (then it is a miss)."""
        fetched_at, record = stored
        if record is not None and not isinstance(record, dict):
            return None
        return cls(*pair, fetched_at, record)


@dataclass(frozen=True)
class ListEntry:
    """Represents one stored version list of one registry."""

    node_id: str
    """Lower-cased."""
    fetched_at: datetime
    """When the registry sent the list (aware, UTC)."""
    records: tuple[Mapping[str, Any], ...]
    """The NodeVersion objects as the registry sent them; empty when it knew no such node."""

    def answer(self) -> FetchedVersions:
        """The list as `VersionRecordSource.fetch_versions_of` gives it."""
        return parse_version_list(self.node_id, list(self.records), self.fetched_at)

    @classmethod
    def of(cls, node_id: str, fetched: FetchedVersions, now: datetime) -> ListEntry | None:
        """The entry to store for a list, or ``None`` for a failed one (it is asked again)."""
        if not isinstance(fetched.result, tuple):
            return None
        return cls(node_id.lower(), fetched.fetched_at or now, fetched.records)

    @classmethod
    def decoded(cls, node_id: str, stored: Stored) -> ListEntry | None:
        """The list a row holds, or ``None`` when it is damaged (then it is a miss)."""
        fetched_at, records = stored
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            return None
        return cls(node_id, fetched_at, tuple(records))


class RegistryCache(EntryStore):
    """Represents the cache file in ``folder`` (created on first use).

    No method but `count` raises: the first fault logs one warning, and from then on the cache
    answers nothing and stores nothing.
    """

    def get(self, registry: str, pairs: Iterable[_Pair]) -> dict[_Pair, CacheEntry]:
        """The stored answers of ``registry`` (a base URL) for ``pairs`` (lower-cased ids)."""
        wanted = {_pair_key(pair): pair for pair in pairs if _storable(pair)}
        stored = self.read(registry, _ANSWER, list(wanted))
        entries = (CacheEntry.decoded(wanted[key], entry) for key, entry in stored.items())
        return {entry.pair: entry for entry in entries if entry is not None}

    def put(self, registry: str, entries: Iterable[CacheEntry]) -> None:
        """Store ``entries`` for ``registry``, replacing what it held for the same pairs."""
        rows = ((_pair_key(e.pair), e.fetched_at, e.record) for e in entries if _storable(e.pair))
        self.write(registry, _ANSWER, rows)

    def get_lists(self, registry: str, node_ids: Iterable[str]) -> dict[str, ListEntry]:
        """The stored version lists of ``registry`` for ``node_ids`` (lower-cased ids)."""
        stored = self.read(registry, _LIST, _valid_ids(node_ids))
        entries = (ListEntry.decoded(node_id, entry) for node_id, entry in stored.items())
        return {entry.node_id: entry for entry in entries if entry is not None}

    def put_lists(self, registry: str, entries: Iterable[ListEntry]) -> None:
        """Store version lists for ``registry``, replacing what it held for the same nodes."""
        rows = ((e.node_id, e.fetched_at, [dict(r) for r in e.records]) for e in entries)
        self.write(registry, _LIST, (row for row in rows if _valid_id(row[0])))

    def get_nodes(self, registry: str, node_ids: Iterable[str]) -> dict[str, NodeEntry]:
        """The stored Node answers of ``registry`` for ``node_ids`` (lower-cased ids)."""
        stored = self.read(registry, _NODE, _valid_ids(node_ids))
        entries = (_node_entry(node_id, entry) for node_id, entry in stored.items())
        return {entry.node_id: entry for entry in entries if entry is not None}

    def put_nodes(self, registry: str, entries: Iterable[NodeEntry]) -> None:
        """Store Node answers for ``registry``, replacing what it held for the same nodes."""
        rows = ((e.node_id, e.fetched_at, e.record) for e in entries if _valid_id(e.node_id))
        self.write(registry, _NODE, rows)

    def get_documents(
        self, service: str, kind: str, keys: Iterable[str]
    ) -> dict[str, tuple[datetime, Any]]:
        """The stored ``(fetched_at, body)`` of ``service`` (a base URL) for ``kind`` ``keys``."""
        return self.read(service, _DOCUMENT + kind, list(keys))

    def put_documents(
        self, service: str, kind: str, documents: Iterable[tuple[str, datetime, object]]
    ) -> None:
        """Store ``(key, fetched_at, body)`` documents of ``kind`` for ``service``."""
        self.write(service, _DOCUMENT + kind, documents)

    def count(self, registry: str) -> int:
        """How many answers of ``registry`` the cache holds; 0 when there is no cache file.

        :raises CacheError: when the file exists but cannot be read.
        """
        return self.count_of(registry, _ANSWER)


def _pair_key(pair: _Pair) -> str:
    return f"{pair[0]}@{pair[1]}"


def _storable(pair: _Pair) -> bool:
    """Whether a pair may be a key at all: the rest are never looked up, nor cached."""
    node_id, version = pair
    return _valid_id(node_id) and VERSION_PATTERN.fullmatch(version) is not None


def _valid_id(node_id: str) -> bool:
    return ID_PATTERN.fullmatch(node_id) is not None


def _valid_ids(node_ids: Iterable[str]) -> list[str]:
    return [node_id for node_id in node_ids if _valid_id(node_id)]


def _node_entry(node_id: str, stored: Stored) -> NodeEntry | None:
    """The Node answer an entry holds, or ``None`` when it is damaged (then it is a miss)."""
    fetched_at, record = stored
    if record is not None and not isinstance(record, dict):
        return None
    return NodeEntry(node_id, fetched_at, record)

"""An on-disk cache of registry answers: one SQLite file that every run on a machine shares.

Only answers that are facts about the registry are kept: a NodeVersion record (`Found`) and
`NotFound`, and a node's whole version list (for the upgrade advisor; ``[]`` when the registry
knows no such node). Failures and invalid answers are asked again next time. The file is in WAL mode
with a busy timeout, and every write is one short transaction, so concurrent runs sharing a
cache wait for each other instead of corrupting it.

The cache must never cost a run: a file that is damaged, unreadable or unwritable logs one
warning and the run goes on as if there were no cache.
"""

from __future__ import annotations

import functools
import json
import logging
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from audit.errors import AuditError
from audit.model import ID_PATTERN, VERSION_PATTERN, Found, Invalid, NodeKey, NotFound
from audit.registry.interface import Fetched, FetchedVersions
from audit.registry.node_versions import parse_version_list
from audit.registry.nodes import NodeEntry
from audit.registry.parse import parse_node_version

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

CACHE_FILE = "registry-cache.sqlite3"
DEFAULT_MAX_AGE = timedelta(hours=1)
#: Seconds a run waits for another run's write to finish before giving up on the cache.
_BUSY_TIMEOUT = 15.0
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    registry   TEXT NOT NULL,  -- cache_key() of the registry's base URL
    node_id    TEXT NOT NULL,  -- lower-cased: registry ids compare case-insensitively
    version    TEXT NOT NULL,
    fetched_at TEXT NOT NULL,  -- ISO 8601 in UTC
    record     TEXT,           -- the NodeVersion JSON as the registry sent it; NULL: not found
    PRIMARY KEY (registry, node_id, version)
) WITHOUT ROWID
"""
_UPSERT = """
INSERT INTO answers (registry, node_id, version, fetched_at, record) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (registry, node_id, version) DO UPDATE
SET fetched_at = excluded.fetched_at, record = excluded.record
"""
_SELECT = (
    "SELECT fetched_at, record FROM answers WHERE registry = ? AND node_id = ? AND version = ?"
)
# NOTE: a table of its own, created on first use whatever the format version, so that a cache
# file stays readable by comfy-audit versions that predate it (they ignore the table).
_LISTS = "version_lists"
_LISTS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {_LISTS} (
    registry   TEXT NOT NULL,  -- cache_key() of the registry's base URL
    node_id    TEXT NOT NULL,  -- lower-cased
    fetched_at TEXT NOT NULL,  -- ISO 8601 in UTC
    records    TEXT NOT NULL,  -- JSON array of the NodeVersion objects as the registry sent them
    PRIMARY KEY (registry, node_id)
) WITHOUT ROWID
"""
_UPSERT_LIST = f"""
INSERT INTO {_LISTS} (registry, node_id, fetched_at, records) VALUES (?, ?, ?, ?)
ON CONFLICT (registry, node_id) DO UPDATE
SET fetched_at = excluded.fetched_at, records = excluded.records
"""
_SELECT_LIST = f"SELECT fetched_at, records FROM {_LISTS} WHERE registry = ? AND node_id = ?"
# NOTE: Node records (pack-level checks) get a table of their own, for the same reason.
_NODES = "node_records"
_NODES_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {_NODES} (
    registry   TEXT NOT NULL,  -- cache_key() of the registry's base URL
    node_id    TEXT NOT NULL,  -- lower-cased
    fetched_at TEXT NOT NULL,  -- ISO 8601 in UTC
    record     TEXT,           -- the Node JSON as the registry sent it; NULL: no record (404/403)
    PRIMARY KEY (registry, node_id)
) WITHOUT ROWID
"""
_UPSERT_NODE = f"""
INSERT INTO {_NODES} (registry, node_id, fetched_at, record) VALUES (?, ?, ?, ?)
ON CONFLICT (registry, node_id) DO UPDATE
SET fetched_at = excluded.fetched_at, record = excluded.record
"""
_SELECT_NODE = f"SELECT fetched_at, record FROM {_NODES} WHERE registry = ? AND node_id = ?"
# NOTE: other services' answers (OSV: query results and advisories), by kind and key; created on
# first use like the version lists.
_DOCUMENTS = "documents"
_DOCUMENTS_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {_DOCUMENTS} (
    service    TEXT NOT NULL,  -- cache_key() of the service's base URL
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    fetched_at TEXT NOT NULL,  -- ISO 8601 in UTC
    body       TEXT NOT NULL,  -- JSON
    PRIMARY KEY (service, kind, key)
) WITHOUT ROWID
"""
_UPSERT_DOCUMENT = f"""
INSERT INTO {_DOCUMENTS} (service, kind, key, fetched_at, body) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (service, kind, key) DO UPDATE
SET fetched_at = excluded.fetched_at, body = excluded.body
"""
_SELECT_DOCUMENT = (
    f"SELECT fetched_at, body FROM {_DOCUMENTS} WHERE service = ? AND kind = ? AND key = ?"
)

_log = logging.getLogger(__name__)

_Pair = tuple[str, str]


class CacheError(AuditError):
    """The cache file cannot be used (damaged, unreadable, or from a newer comfy-audit)."""


#: What can go wrong with the file; anything else is a bug and should be seen as one.
_FAULTS = (sqlite3.Error, OSError, ValueError, CacheError)


def default_cache_dir() -> Path:
    """The user's cache folder for comfy-audit (``~/.cache/comfy-audit`` on Linux)."""
    import platformdirs  # NOTE: here, so that commands without a cache never import it

    return Path(platformdirs.user_cache_dir("comfy-audit", appauthor=False))


def cache_key(base_url: str) -> str:
    """The registry part of a cache key: the base URL with scheme and host lower-cased.

    >>> cache_key("HTTPS://API.comfy.org/")
    'https://api.comfy.org'
    """
    parts = urlsplit(base_url)
    normal = parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower())
    return normal.geturl().rstrip("/")


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


class RegistryCache:
    """Represents the cache file in ``folder`` (created on first use).

    `get` and `put` never raise: the first fault logs one warning, and from then on the cache
    answers nothing and stores nothing.
    """

    def __init__(self, folder: str | Path) -> None:
        self._folder = Path(folder)
        self._problem: str | None = None

    @property
    def folder(self) -> Path:
        return self._folder

    @property
    def path(self) -> Path:
        return self._folder / CACHE_FILE

    @property
    def problem(self) -> str | None:
        """Why the cache was given up on in this run, or ``None`` while it works."""
        return self._problem

    def get(self, registry: str, pairs: Iterable[_Pair]) -> dict[_Pair, CacheEntry]:
        """The stored answers of ``registry`` (a base URL) for ``pairs`` (lower-cased ids)."""
        wanted = [pair for pair in pairs if _storable(pair)]
        if self._problem is not None or not wanted:
            return {}
        try:
            return self._read(cache_key(registry), wanted)
        except _FAULTS as error:
            self._give_up(error)
            return {}

    def put(self, registry: str, entries: Iterable[CacheEntry]) -> None:
        """Store ``entries`` for ``registry``, replacing what it held for the same pairs."""
        key = cache_key(registry)
        rows = [row for entry in entries if (row := _row(key, entry)) is not None]
        if self._problem is not None or not rows:
            return
        try:
            self._write(rows)
        except _FAULTS as error:
            self._give_up(error)

    def get_lists(self, registry: str, node_ids: Iterable[str]) -> dict[str, ListEntry]:
        """The stored version lists of ``registry`` for ``node_ids`` (lower-cased ids)."""
        wanted = [node_id for node_id in node_ids if ID_PATTERN.fullmatch(node_id) is not None]
        if self._problem is not None or not wanted:
            return {}
        try:
            return self._read_lists(cache_key(registry), wanted)
        except _FAULTS as error:
            self._give_up(error)
            return {}

    def put_lists(self, registry: str, entries: Iterable[ListEntry]) -> None:
        """Store version lists for ``registry``, replacing what it held for the same nodes."""
        key = cache_key(registry)
        rows = [row for entry in entries if (row := _list_row(key, entry)) is not None]
        if self._problem is not None or not rows:
            return
        try:
            with self._connection() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(_UPSERT_LIST, rows)
                db.execute("COMMIT")
        except _FAULTS as error:
            self._give_up(error)

    def get_nodes(self, registry: str, node_ids: Iterable[str]) -> dict[str, NodeEntry]:
        """The stored Node answers of ``registry`` for ``node_ids`` (lower-cased ids)."""
        wanted = [node_id for node_id in node_ids if ID_PATTERN.fullmatch(node_id) is not None]
        if self._problem is not None or not wanted:
            return {}
        try:
            with self._connection() as db:
                select = functools.partial(db.execute, _SELECT_NODE)
                rows = [(n, select((cache_key(registry), n)).fetchone()) for n in wanted]
        except _FAULTS as error:
            self._give_up(error)
            return {}
        entries = (NodeEntry.from_row(n, *row) for n, row in rows if row is not None)
        return {entry.node_id: entry for entry in entries if entry is not None}

    def put_nodes(self, registry: str, entries: Iterable[NodeEntry]) -> None:
        """Store Node answers for ``registry``, replacing what it held for the same nodes."""
        key = cache_key(registry)
        rows = [row for entry in entries if (row := entry.row(key)) is not None]
        if self._problem is not None or not rows:
            return
        try:
            with self._connection() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(_UPSERT_NODE, rows)
                db.execute("COMMIT")
        except _FAULTS as error:
            self._give_up(error)

    def get_documents(
        self, service: str, kind: str, keys: Iterable[str]
    ) -> dict[str, tuple[datetime, Any]]:
        """The stored ``(fetched_at, body)`` of ``service`` (a base URL) for ``kind`` ``keys``."""
        wanted = list(keys)
        if self._problem is not None or not wanted:
            return {}
        try:
            return self._read_documents(cache_key(service), kind, wanted)
        except _FAULTS as error:
            self._give_up(error)
            return {}

    def put_documents(
        self, service: str, kind: str, documents: Iterable[tuple[str, datetime, object]]
    ) -> None:
        """Store ``(key, fetched_at, body)`` documents of ``kind`` for ``service``."""
        rows = [
            (cache_key(service), kind, key, _iso(moment), body)
            for key, moment, document in documents
            if (body := _json_text(document)) is not None
        ]
        if self._problem is not None or not rows:
            return
        try:
            with self._connection() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany(_UPSERT_DOCUMENT, rows)
                db.execute("COMMIT")
        except _FAULTS as error:
            self._give_up(error)

    def get_extra(
        self, registry: str, kind: str, keys: Iterable[str]
    ) -> dict[str, tuple[datetime, str]]:
        """Stored answers of another route (comfy-nodes): ``(fetched_at, JSON text)`` by key."""
        stored = self.get_documents(registry, kind, keys)
        return {key: (at, json.dumps(body)) for key, (at, body) in stored.items()}

    def put_extra(
        self, registry: str, kind: str, answers: Mapping[str, tuple[datetime, str]]
    ) -> None:
        """Store answers of another route, given as JSON text, replacing older ones."""
        documents = ((key, at, json.loads(text)) for key, (at, text) in answers.items())
        self.put_documents(registry, kind, documents)

    def _read_documents(
        self, service: str, kind: str, keys: list[str]
    ) -> dict[str, tuple[datetime, Any]]:
        found: dict[str, tuple[datetime, Any]] = {}
        with self._connection() as db:
            db.execute("BEGIN")
            for key in keys:
                row = db.execute(_SELECT_DOCUMENT, (service, kind, key)).fetchone()
                document = None if row is None else _document(*row)
                if document is not None:
                    found[key] = document
            db.execute("COMMIT")
        return found

    def count(self, registry: str) -> int:
        """How many answers of ``registry`` the cache holds; 0 when there is no cache file.

        :raises CacheError: when the file exists but cannot be read.
        """
        if not self.path.exists():
            return 0
        try:
            with self._connection() as db:
                row = db.execute(
                    "SELECT count(*) FROM answers WHERE registry = ?", (cache_key(registry),)
                ).fetchone()
        except _FAULTS as error:
            message = f"the cache at {self._folder} cannot be read: {_one_line(error)}"
            raise CacheError(message) from error
        return int(row[0])

    def _read(self, registry: str, pairs: list[_Pair]) -> dict[_Pair, CacheEntry]:
        found: dict[_Pair, CacheEntry] = {}
        with self._connection() as db:
            db.execute("BEGIN")
            for pair in pairs:
                row = db.execute(_SELECT, (registry, *pair)).fetchone()
                entry = None if row is None else _entry(pair, *row)
                if entry is not None:
                    found[pair] = entry
            db.execute("COMMIT")
        return found

    def _read_lists(self, registry: str, node_ids: list[str]) -> dict[str, ListEntry]:
        found: dict[str, ListEntry] = {}
        with self._connection() as db:
            db.execute("BEGIN")
            for node_id in node_ids:
                row = db.execute(_SELECT_LIST, (registry, node_id)).fetchone()
                entry = None if row is None else _list_entry(node_id, *row)
                if entry is not None:
                    found[node_id] = entry
            db.execute("COMMIT")
        return found

    def _write(self, rows: list[tuple[str, str, str, str, str | None]]) -> None:
        with self._connection() as db:
            # NOTE: IMMEDIATE takes the write lock at once, so two writers wait on the busy
            # timeout instead of failing when a read lock turns into a write lock.
            db.execute("BEGIN IMMEDIATE")
            db.executemany(_UPSERT, rows)
            db.execute("COMMIT")

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection to the cache file, its folder and table created when missing."""
        self._folder.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT, isolation_level=None)) as db:
            # NOTE: WAL is a property of the file, set once; switching it takes an exclusive lock
            # that fails at once (no busy wait) while another process writes.
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # NOTE: safe in WAL; a cache needs no more
            _ensure_schema(db)
            yield db

    def _give_up(self, error: BaseException) -> None:
        self._problem = _one_line(error)
        _log.warning(
            "registry cache %s is not usable (%s); going on without it", self.path, self._problem
        )


def _ensure_schema(db: sqlite3.Connection) -> None:
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version not in (0, _SCHEMA_VERSION):
        raise CacheError(f"cache format {version} is not format {_SCHEMA_VERSION}")
    if version == 0:
        db.execute("BEGIN IMMEDIATE")
        db.execute(_SCHEMA)
        db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
        db.execute("COMMIT")
    # NOTE: each table is checked first, so that an ordinary run never takes the write lock.
    for name, schema in (
        (_LISTS, _LISTS_SCHEMA),
        (_NODES, _NODES_SCHEMA),
        (_DOCUMENTS, _DOCUMENTS_SCHEMA),
    ):
        found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        if found.fetchone() is None:
            db.execute("BEGIN IMMEDIATE")
            db.execute(schema)
            db.execute("COMMIT")


def _storable(pair: _Pair) -> bool:
    """Whether a pair may be a key at all: the rest are never looked up, nor cached."""
    node_id, version = pair
    return (
        ID_PATTERN.fullmatch(node_id) is not None and VERSION_PATTERN.fullmatch(version) is not None
    )


def _row(registry: str, entry: CacheEntry) -> tuple[str, str, str, str, str | None] | None:
    if not _storable(entry.pair):
        return None
    try:
        record = None if entry.record is None else json.dumps(entry.record, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return None  # NOTE: a record json could read but cannot write is not worth keeping
    fetched_at = entry.fetched_at.astimezone(UTC).isoformat(timespec="microseconds")
    return (registry, entry.node_id, entry.version, fetched_at, record)


def _list_row(registry: str, entry: ListEntry) -> tuple[str, str, str, str] | None:
    if ID_PATTERN.fullmatch(entry.node_id) is None:
        return None
    try:
        records = json.dumps([dict(r) for r in entry.records], ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return None
    fetched_at = entry.fetched_at.astimezone(UTC).isoformat(timespec="microseconds")
    return (registry, entry.node_id, fetched_at, records)


def _list_entry(node_id: str, fetched_at: object, records: object) -> ListEntry | None:
    """The list a row holds, or ``None`` when the row is damaged (then it is a miss)."""
    try:
        moment = datetime.fromisoformat(str(fetched_at))
        decoded = json.loads(str(records))
    except (ValueError, RecursionError):
        return None
    if not isinstance(decoded, list) or not all(isinstance(r, dict) for r in decoded):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return ListEntry(node_id, moment.astimezone(UTC), tuple(decoded))


def _entry(pair: _Pair, fetched_at: object, record: object) -> CacheEntry | None:
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
    return CacheEntry(*pair, moment.astimezone(UTC), decoded)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _json_text(document: object) -> str | None:
    try:
        return json.dumps(document, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return None


def _document(fetched_at: object, body: object) -> tuple[datetime, Any] | None:
    """The document a row holds, or ``None`` when the row is damaged (then it is a miss)."""
    try:
        moment = datetime.fromisoformat(str(fetched_at))
        decoded = json.loads(str(body))
    except (ValueError, RecursionError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC), decoded


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:200] if text else type(error).__name__


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

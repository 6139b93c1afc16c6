"""The cache file: one SQLite table of entries keyed by (registry, kind, key), one entry codec.

Every kind of record (NodeVersion answers, version lists, Node records, other services'
documents) is one row: when the answer was given, and its JSON (``NULL``: the registry had
none). The file is in WAL mode with a busy timeout, and every write is one short transaction,
so concurrent runs sharing a cache wait for each other instead of corrupting it.

The whole file is under one format version (``PRAGMA user_version``). A file of an older
format is rebuilt empty, once, under the write lock: it is only a cache. A file of a newer
format is left alone, and the run goes on without it.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from audit.errors import AuditError
from audit.registry.outcomes import one_line

__all__ = ["CACHE_FILE", "CacheError", "EntryStore", "Stored", "cache_key", "decode", "encode"]

CACHE_FILE = "registry-cache.sqlite3"
#: Seconds a run waits for another run's write to finish before giving up on the cache.
_BUSY_TIMEOUT = 15.0
_WAL_RETRY = 0.02
_SCHEMA_VERSION = 2
#: Every table a file of an older format may hold (format 1 and the tables created beside it),
#: dropped when it is rebuilt.
_OLD_TABLES = ("answers", "version_lists", "node_records", "documents", "entries")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    registry   TEXT NOT NULL,  -- cache_key() of the registry's (or service's) base URL
    kind       TEXT NOT NULL,  -- what the entry is (see RegistryCache)
    key        TEXT NOT NULL,  -- lower-cased id, "id@version", or a document's key
    fetched_at TEXT NOT NULL,  -- ISO 8601 in UTC
    body       TEXT,           -- JSON as the service sent it; NULL: it had none
    PRIMARY KEY (registry, kind, key)
) WITHOUT ROWID
"""
_UPSERT = """
INSERT INTO entries (registry, kind, key, fetched_at, body) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (registry, kind, key) DO UPDATE
SET fetched_at = excluded.fetched_at, body = excluded.body
"""
_SELECT = (
    "SELECT key, fetched_at, body FROM entries WHERE registry = ? AND kind = ? AND key IN ({})"
)
#: Keys asked per SELECT: far below SQLite's limit on parameters (999 in old builds).
_KEYS_PER_SELECT = 500
_COUNT = "SELECT count(*) FROM entries WHERE registry = ? AND kind = ?"

_log = logging.getLogger(__name__)

#: One stored entry: when it was fetched (aware, UTC) and its decoded JSON (``None``: none).
Stored = tuple[datetime, object]
_Row = tuple[str, str, str, str, str | None]


class CacheError(AuditError):
    """The cache file cannot be used (damaged, unreadable, or from a newer comfy-audit)."""


#: What can go wrong with the file; anything else is a bug and should be seen as one.
_FAULTS = (sqlite3.Error, OSError, ValueError, CacheError)


def cache_key(base_url: str) -> str:
    """The registry part of a cache key: the base URL with scheme and host lower-cased.

    >>> cache_key("HTTPS://API.comfy.org/")
    'https://api.comfy.org'
    """
    parts = urlsplit(base_url)
    normal = parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower())
    return normal.geturl().rstrip("/")


def encode(fetched_at: datetime, body: object) -> tuple[str, str | None] | None:
    """The columns of an entry, or ``None`` for a body that cannot be written as JSON.

    >>> encode(datetime(2026, 1, 2, tzinfo=UTC), {"a": 1})
    ('2026-01-02T00:00:00.000000+00:00', '{"a": 1}')
    """
    try:
        text = None if body is None else json.dumps(body, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError):
        return None  # NOTE: a record json could read but cannot write is not worth keeping
    return fetched_at.astimezone(UTC).isoformat(timespec="microseconds"), text


def decode(fetched_at: object, text: object) -> Stored | None:
    """The entry a row holds, or ``None`` when the row is damaged (then it is a miss).

    >>> decode("2026-01-02T00:00:00", None)
    (datetime.datetime(2026, 1, 2, 0, 0, tzinfo=datetime.timezone.utc), None)
    """
    try:
        moment = datetime.fromisoformat(str(fetched_at))
        body = None if text is None else json.loads(str(text))
    except (ValueError, RecursionError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC), body


class EntryStore:
    """Represents the cache file in ``folder`` (created on first use).

    `read` and `write` never raise: the first fault logs one warning, and from then on the
    store answers nothing and stores nothing.
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

    def read(self, registry: str, kind: str, keys: Sequence[str]) -> dict[str, Stored]:
        """The stored entries of ``registry`` (a base URL) of ``kind`` for ``keys``."""
        if self._problem is not None or not keys:
            return {}
        try:
            return self._select(cache_key(registry), kind, keys)
        except _FAULTS as error:
            self._give_up(error)
            return {}

    def write(
        self, registry: str, kind: str, entries: Iterable[tuple[str, datetime, object]]
    ) -> None:
        """Store ``(key, fetched_at, body)`` entries, replacing what the same keys held."""
        rows = _rows(cache_key(registry), kind, entries)
        if self._problem is not None or not rows:
            return
        try:
            with self._connection() as db:
                # NOTE: IMMEDIATE takes the write lock at once, so two writers wait on the busy
                # timeout instead of failing when a read lock turns into a write lock.
                db.execute("BEGIN IMMEDIATE")
                db.executemany(_UPSERT, rows)
                db.execute("COMMIT")
        except _FAULTS as error:
            self._give_up(error)

    def count_of(self, registry: str, kind: str) -> int:
        """How many entries of ``kind`` ``registry`` has; 0 when there is no cache file.

        :raises CacheError: when the file exists but cannot be read.
        """
        if not self.path.exists():
            return 0
        try:
            with self._connection() as db:
                row = db.execute(_COUNT, (cache_key(registry), kind)).fetchone()
        except _FAULTS as error:
            message = f"the cache at {self._folder} cannot be read: {one_line(error)}"
            raise CacheError(message) from error
        return int(row[0])

    def _select(self, registry: str, kind: str, keys: Sequence[str]) -> dict[str, Stored]:
        wanted = list(dict.fromkeys(keys))
        rows: dict[str, tuple[object, object]] = {}
        with self._connection() as db:
            db.execute("BEGIN")
            # NOTE: a few hundred keys a SELECT, not one each: a run asks for hundreds at once.
            for start in range(0, len(wanted), _KEYS_PER_SELECT):
                chunk = wanted[start : start + _KEYS_PER_SELECT]
                query = _SELECT.format(",".join("?" * len(chunk)))
                for key, fetched_at, body in db.execute(query, (registry, kind, *chunk)):
                    rows[key] = (fetched_at, body)
            db.execute("COMMIT")
        found: dict[str, Stored] = {}
        for key in wanted:  # NOTE: in the order asked, as before
            stored = decode(*rows[key]) if key in rows else None
            if stored is not None:
                found[key] = stored
        return found

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection to the cache file, its folder and table created when missing."""
        self._folder.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT, isolation_level=None)) as db:
            _use_wal(db)
            db.execute("PRAGMA synchronous = NORMAL")  # NOTE: safe in WAL; a cache needs no more
            _ensure_schema(db)
            yield db

    def _give_up(self, error: BaseException) -> None:
        self._problem = one_line(error)
        _log.warning(
            "registry cache %s is not usable (%s); going on without it", self.path, self._problem
        )


def _rows(registry: str, kind: str, entries: Iterable[tuple[str, datetime, object]]) -> list[_Row]:
    return [
        (registry, kind, key, *columns)
        for key, fetched_at, body in entries
        if (columns := encode(fetched_at, body)) is not None
    ]


def _use_wal(db: sqlite3.Connection) -> None:
    """Put the file in WAL mode, once; another process may be doing the same."""
    # NOTE: switching takes an exclusive lock that fails at once (no busy wait) while another
    # process holds the file, so the switch is tried again until the busy timeout.
    deadline = time.monotonic() + _BUSY_TIMEOUT
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(_WAL_RETRY)


def _ensure_schema(db: sqlite3.Connection) -> None:
    """Make the file of the current format; an ordinary run never takes the write lock here."""
    if _format(db) == _SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    # NOTE: asked again under the lock: another run may have rebuilt the file meanwhile.
    if _format(db) != _SCHEMA_VERSION:
        for table in _OLD_TABLES:
            db.execute(f"DROP TABLE IF EXISTS {table}")
        db.execute(_SCHEMA)
        db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
    db.execute("COMMIT")


def _format(db: sqlite3.Connection) -> int:
    """The format of the file (0: new), or `CacheError` for a newer comfy-audit's."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > _SCHEMA_VERSION:
        raise CacheError(f"cache format {version} is not format {_SCHEMA_VERSION}")
    return version

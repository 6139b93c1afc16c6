"""Tests of the registry cache and CachingRegistry: request counts, expiry, damage, sharing.

Every test has its own cache folder (`cache_dir`); request counts come from the loopback
registry's log, so a cache hit is proven by a request that never happened.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.model import Failed, Found, Invalid, LookupResult, NodeKey, NotFound
from audit.registry import (
    DEFAULT_MAX_AGE,
    CachingRegistry,
    HttpRegistry,
    Registry,
    RegistryCache,
)
from audit.registry.cache import CACHE_FILE, CacheEntry, cache_key
from tests.registry.support import FakeClock, comparable, fast_registry, found, keys_of, uncached
from tests.registry_server import (
    BULK_PATH,
    SAMPLE_RECORDS,
    LoggedRequest,
    RegistryServer,
    node_version_record,
    version_path,
)

MakeServer = Callable[..., RegistryServer]

MISSING = NodeKey("comfyui-nothing-here", "1.0.0")
KEYS = [*keys_of(SAMPLE_RECORDS), MISSING]
BANNED = SAMPLE_RECORDS[3]
BANNED_KEY = NodeKey(BANNED["node_id"], BANNED["version"])


def caching(
    url: str,
    folder: Path,
    clock: FakeClock | None = None,
    *,
    max_age: timedelta = DEFAULT_MAX_AGE,
    refresh: bool = False,
) -> CachingRegistry:
    """A fresh client: it shares nothing with earlier ones but the cache folder."""
    return CachingRegistry(
        fast_registry(url, retries=0),
        RegistryCache(folder),
        max_age=max_age,
        refresh=refresh,
        clock=clock or FakeClock(),
    )


def asked_pairs(request: LoggedRequest) -> list[tuple[str, str]]:
    """The pairs a logged bulk request asked for."""
    assert isinstance(request.body, dict)
    return [(item["node_id"], item["version"]) for item in request.body["node_versions"]]


def audit_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.split(".")[0] == "audit" and r.levelno >= logging.WARNING
    ]


def expected_sample() -> dict[NodeKey, LookupResult]:
    results: dict[NodeKey, LookupResult] = {
        k: found(r) for k, r in zip(KEYS, SAMPLE_RECORDS, strict=False)
    }
    results[MISSING] = NotFound()
    return results


# -- hits, misses, expiry ----------------------------------------------------------------------


def test_is_a_registry(registry_server: RegistryServer, cache_dir: Path) -> None:
    registry: Registry = caching(registry_server.url, cache_dir)
    assert registry.lookup([]) == {}
    assert registry_server.requests == []


def test_a_repeated_lookup_sends_no_request(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    first = caching(registry_server.url, cache_dir).lookup(KEYS)
    assert registry_server.paths() == [BULK_PATH]
    assert comparable(first) == expected_sample()
    assert not any(isinstance(r, Found) and r.cache_hit for r in first.values())
    registry_server.clear_log()

    second = caching(registry_server.url, cache_dir).lookup(KEYS)

    assert registry_server.requests == []
    assert uncached(second) == first  # fetched_at too: the time of the original answer
    assert all(r.cache_hit for r in second.values() if isinstance(r, Found))
    assert second[MISSING] == NotFound()


def test_only_the_pairs_not_cached_are_asked(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    caching(registry_server.url, cache_dir).lookup(KEYS[:3])
    registry_server.clear_log()

    results = caching(registry_server.url, cache_dir).lookup(KEYS)

    [request] = registry_server.requests
    assert asked_pairs(request) == [(k.node_id, k.version) for k in KEYS[3:]]
    assert comparable(uncached(results)) == expected_sample()
    hits = [isinstance(r, Found) and r.cache_hit for r in results.values()]
    assert hits == [True] * 3 + [False] * (len(KEYS) - 3)


def test_ids_that_differ_in_case_share_an_entry(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    caching(registry_server.url, cache_dir).lookup([BANNED_KEY])
    registry_server.clear_log()
    asked = NodeKey("Banned-PACK", BANNED_KEY.version)

    results = caching(registry_server.url, cache_dir).lookup([asked])

    assert registry_server.requests == []
    assert comparable(uncached(results)) == {asked: found(BANNED)}


@pytest.mark.parametrize(
    ("age", "requests"),
    [
        (timedelta(minutes=59), 0),
        (timedelta(hours=1), 1),
        (timedelta(days=3), 1),
        (-timedelta(minutes=59), 0),
        (-timedelta(hours=2), 1),
    ],
    ids=["fresh", "just-too-old", "old", "slightly-future", "far-future"],
)
def test_answers_older_than_max_age_are_fetched_again(
    registry_server: RegistryServer, cache_dir: Path, age: timedelta, requests: int
) -> None:
    clock = FakeClock()
    caching(registry_server.url, cache_dir, clock).lookup(KEYS)
    registry_server.clear_log()
    clock.advance(age + timedelta(seconds=1 if age > timedelta(0) else 0))

    results = caching(registry_server.url, cache_dir, clock, max_age=timedelta(hours=1)).lookup(
        KEYS
    )

    assert registry_server.paths() == [BULK_PATH] * requests
    assert comparable(uncached(results)) == expected_sample()


def test_a_refetched_answer_replaces_the_old_one(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server([node_version_record("pack", "1.0.0")])
    key = NodeKey("pack", "1.0.0")
    clock = FakeClock()
    caching(server.url, cache_dir, clock).lookup([key])
    banned = node_version_record("pack", "1.0.0", status="NodeVersionStatusBanned")
    server.add(banned)  # banned after the fact
    clock.advance(timedelta(hours=2))

    refetched = caching(server.url, cache_dir, clock).lookup([key])
    server.clear_log()
    # NOTE: a clock at the real time again: the refetched answer is stamped with it.
    again = caching(server.url, cache_dir, FakeClock()).lookup([key])

    assert comparable(refetched) == {key: found(banned)}
    assert server.requests == []
    assert uncached(again) == refetched


def test_max_age_zero_always_asks(registry_server: RegistryServer, cache_dir: Path) -> None:
    caching(registry_server.url, cache_dir).lookup(KEYS)
    caching(registry_server.url, cache_dir, max_age=timedelta(0)).lookup(KEYS)
    assert registry_server.paths() == [BULK_PATH] * 2


def test_refresh_asks_everything_and_writes_the_answers(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server([node_version_record("pack", "1.0.0")])
    key = NodeKey("pack", "1.0.0")
    caching(server.url, cache_dir).lookup([key])
    banned = node_version_record("pack", "1.0.0", status="NodeVersionStatusBanned")
    server.add(banned)

    refreshed = caching(server.url, cache_dir, refresh=True).lookup([key])
    cached = caching(server.url, cache_dir).lookup([key])

    assert server.paths() == [BULK_PATH] * 2
    assert comparable(refreshed) == {key: found(banned)}
    assert uncached(cached) == refreshed


def test_failures_and_invalid_answers_are_never_stored(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(SAMPLE_RECORDS, bulk=False)
    banned_path = version_path(BANNED_KEY.node_id, BANNED_KEY.version)
    server.fail(banned_path, "status", status=503)
    broken = NodeKey("broken-pack", "1.0.0")
    server.answer_with(broken.node_id, broken.version, ["not", "a", "record"])
    keys = [BANNED_KEY, broken, MISSING]

    first = caching(server.url, cache_dir).lookup(keys)
    server.clear_log()
    second = caching(server.url, cache_dir).lookup(keys)

    assert first[BANNED_KEY] == Failed("HTTP 503 after 1 attempt")
    assert isinstance(first[broken], Invalid) and isinstance(second[broken], Invalid)
    assert comparable(second)[BANNED_KEY] == found(BANNED)
    assert sorted(server.paths("GET")) == sorted(
        [banned_path, version_path(broken.node_id, broken.version)]
    )


def test_registries_do_not_share_answers(make_registry_server: MakeServer, cache_dir: Path) -> None:
    one, other = make_registry_server(), make_registry_server([])
    caching(one.url, cache_dir).lookup(KEYS)

    results = caching(other.url, cache_dir).lookup(KEYS)

    assert set(results.values()) == {NotFound()}
    assert other.paths() == [BULK_PATH]


def test_keys_that_are_not_safe_are_not_cached(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    odd = NodeKey("../etc", "1.0")
    registry = caching(registry_server.url, cache_dir)
    results = registry.lookup([odd, BANNED_KEY])
    assert isinstance(results[odd], Failed)
    assert RegistryCache(cache_dir).count(registry_server.url) == 1


def test_the_cache_key_is_the_normalised_base_url() -> None:
    assert cache_key("HTTP://LocalHost:8080/api/") == "http://localhost:8080/api"
    assert cache_key("https://api.comfy.org") == "https://api.comfy.org"


def test_a_negative_max_age_is_refused(cache_dir: Path) -> None:
    with pytest.raises(ValueError, match="max_age"):
        CachingRegistry(HttpRegistry(), RegistryCache(cache_dir), max_age=timedelta(seconds=-1))


# -- a cache that cannot be used ---------------------------------------------------------------


def test_a_damaged_file_gives_one_warning_and_correct_results(
    registry_server: RegistryServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caching(registry_server.url, cache_dir).lookup(KEYS)
    (cache_dir / CACHE_FILE).write_bytes(b"this is not a database\n" * 500)
    registry_server.clear_log()
    registry = caching(registry_server.url, cache_dir)

    first = registry.lookup(KEYS)
    second = registry.lookup(KEYS)

    assert comparable(first) == comparable(second) == expected_sample()
    assert registry_server.paths() == [BULK_PATH] * 2  # no cache: asked both times
    [warning] = audit_warnings(caplog)
    assert str(cache_dir / CACHE_FILE) in warning and "going on without it" in warning
    assert "not a database" in warning
    assert registry.cache.problem is not None


def test_an_unwritable_folder_gives_one_warning(
    registry_server: RegistryServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # NOTE: a file where the folder should be: unwritable even for root, unlike chmod.
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("", encoding="utf-8")
    registry = caching(registry_server.url, blocked)

    for _ in range(3):
        assert comparable(registry.lookup(KEYS)) == expected_sample()

    assert len(audit_warnings(caplog)) == 1
    assert registry_server.paths() == [BULK_PATH] * 3


def test_a_cache_file_that_is_a_folder_gives_one_warning(
    registry_server: RegistryServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (cache_dir / CACHE_FILE).mkdir(parents=True)
    results = caching(registry_server.url, cache_dir).lookup(KEYS)
    assert comparable(results) == expected_sample()
    assert len(audit_warnings(caplog)) == 1


def test_a_cache_of_a_newer_format_is_left_alone(
    registry_server: RegistryServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caching(registry_server.url, cache_dir).lookup(KEYS)
    with sqlite3.connect(cache_dir / CACHE_FILE) as db:
        db.execute("PRAGMA user_version = 99")
    registry_server.clear_log()

    results = caching(registry_server.url, cache_dir).lookup(KEYS)

    assert comparable(results) == expected_sample()
    assert registry_server.paths() == [BULK_PATH]
    [warning] = audit_warnings(caplog)
    assert "cache format 99" in warning


_FORMAT_1 = """
CREATE TABLE answers (
    registry TEXT NOT NULL, node_id TEXT NOT NULL, version TEXT NOT NULL,
    fetched_at TEXT NOT NULL, record TEXT, PRIMARY KEY (registry, node_id, version)
) WITHOUT ROWID;
CREATE TABLE version_lists (
    registry TEXT NOT NULL, node_id TEXT NOT NULL, fetched_at TEXT NOT NULL,
    records TEXT NOT NULL, PRIMARY KEY (registry, node_id)
) WITHOUT ROWID;
PRAGMA user_version = 1;
"""


def test_a_cache_of_format_1_is_rebuilt_and_then_used(
    registry_server: RegistryServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir.mkdir()
    with closing(sqlite3.connect(cache_dir / CACHE_FILE)) as db:
        db.executescript(_FORMAT_1)
        row = (cache_key(registry_server.url), *MISSING.normalized, datetime.now(UTC).isoformat())
        db.execute("INSERT INTO answers VALUES (?, ?, ?, ?, NULL)", row)
        db.commit()

    first = caching(registry_server.url, cache_dir).lookup(KEYS)
    second = caching(registry_server.url, cache_dir).lookup(KEYS)

    assert comparable(first) == expected_sample()
    assert uncached(second) == first
    assert registry_server.paths() == [BULK_PATH]  # NOTE: the old rows are not trusted
    assert audit_warnings(caplog) == []
    with closing(sqlite3.connect(cache_dir / CACHE_FILE)) as db:
        tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        assert (tables, db.execute("PRAGMA user_version").fetchone()) == ([("entries",)], (2,))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("body", "{cut"),
        ("body", "[1, 2]"),
        ("body", '{"node_id": "x", "version": "9"}'),
        ("fetched_at", "yesterday"),
    ],
    ids=["not-json", "not-an-object", "another-pair", "bad-time"],
)
def test_a_damaged_row_is_a_miss_and_is_rewritten(
    registry_server: RegistryServer,
    cache_dir: Path,
    caplog: pytest.LogCaptureFixture,
    column: str,
    value: str,
) -> None:
    caching(registry_server.url, cache_dir).lookup([BANNED_KEY])
    with sqlite3.connect(cache_dir / CACHE_FILE) as db:
        db.execute(f"UPDATE entries SET {column} = ?", (value,))
    registry_server.clear_log()

    results = caching(registry_server.url, cache_dir).lookup([BANNED_KEY])
    again = caching(registry_server.url, cache_dir).lookup([BANNED_KEY])

    assert comparable(results) == {BANNED_KEY: found(BANNED)}
    assert registry_server.paths() == [BULK_PATH]  # the second lookup hit the rewritten row
    assert uncached(again) == results
    assert audit_warnings(caplog) == []


# -- sharing -----------------------------------------------------------------------------------

_WRITER = """
import sys
from datetime import UTC, datetime
from audit.registry.cache import CacheEntry, RegistryCache

folder, who = sys.argv[1], sys.argv[2]
cache = RegistryCache(folder)
pairs = [(f"pack-{i}", "1.0.0") for i in range(40)]
for round in range(150):
    now = datetime.now(UTC)
    record = lambda node, version: {"node_id": node, "version": version, "changelog": who}
    cache.put("http://127.0.0.1:1", [CacheEntry(n, v, now, record(n, v)) for n, v in pairs])
    got = cache.get("http://127.0.0.1:1", pairs)
    assert cache.problem is None, cache.problem
    assert len(got) == len(pairs), len(got)
print("done")
"""


def check_shared_cache(folder: Path, writers: set[str]) -> None:
    with sqlite3.connect(folder / CACHE_FILE) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    entries = RegistryCache(folder).get(
        "http://127.0.0.1:1", [(f"pack-{i}", "1.0.0") for i in range(40)]
    )
    assert len(entries) == 40
    assert {entry.record["changelog"] for entry in entries.values() if entry.record} <= writers


def test_two_processes_writing_the_same_keys_never_corrupt_it(cache_dir: Path) -> None:
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(cache_dir), who],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who in ("one", "two")
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    assert [(p.returncode, out) for p, out in zip(processes, outputs, strict=True)] == [
        (0, ("done\n", "")),
        (0, ("done\n", "")),
    ]
    check_shared_cache(cache_dir, {"one", "two"})


def test_threads_writing_the_same_keys_never_corrupt_it(
    cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pairs = [(f"pack-{i}", "1.0.0") for i in range(40)]
    start = threading.Barrier(4)
    problems: list[str | None] = []

    def write(who: str) -> None:
        cache = RegistryCache(cache_dir)
        start.wait()
        for _ in range(30):
            now = datetime.now(UTC)
            entries = [
                CacheEntry(n, v, now, {"node_id": n, "version": v, "changelog": who})
                for n, v in pairs
            ]
            cache.put("http://127.0.0.1:1", entries)
            cache.get("http://127.0.0.1:1", pairs)
        problems.append(cache.problem)

    threads = [threading.Thread(target=write, args=(f"t{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert problems == [None] * 4
    assert audit_warnings(caplog) == []
    check_shared_cache(cache_dir, {"t0", "t1", "t2", "t3"})

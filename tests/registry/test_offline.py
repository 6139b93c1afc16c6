"""Tests of OfflineRegistry: answers from the cache alone, at any age, and a clear error without."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

from audit.errors import InputError
from audit.model import Found, LookupResult, NodeKey, NotFound
from audit.registry import (
    CachingRegistry,
    OfflineRegistry,
    Registry,
    RegistryCache,
    open_registry,
)
from audit.registry.cache import CACHE_FILE
from tests.registry.support import FakeClock, fast_registry, keys_of, uncached
from tests.registry_server import SAMPLE_RECORDS, RegistryServer

MakeServer = Callable[..., RegistryServer]

MISSING = NodeKey("comfyui-nothing-here", "1.0.0")
KEYS = [*keys_of(SAMPLE_RECORDS), MISSING]
EMPTY_MESSAGE = (
    "offline: the cache at {} is empty; run once online or use --registry FILE (a mirror)"
)


def fill(
    url: str, folder: Path, keys: list[NodeKey], clock: FakeClock | None = None
) -> dict[NodeKey, LookupResult]:
    """Fill the cache at ``folder`` by an online lookup; return its results."""
    online = CachingRegistry(fast_registry(url), RegistryCache(folder), clock=clock or FakeClock())
    return online.lookup(keys)


def test_an_offline_run_gives_the_online_answers_without_a_request(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    online = fill(registry_server.url, cache_dir, KEYS)
    url = registry_server.url
    registry_server.stop()  # nothing may be asked

    offline: Registry = OfflineRegistry(RegistryCache(cache_dir), url)
    results = offline.lookup(KEYS)

    assert uncached(results) == online
    assert all(r.cache_hit for r in results.values() if isinstance(r, Found))


def test_age_does_not_matter_offline(registry_server: RegistryServer, cache_dir: Path) -> None:
    clock = FakeClock()
    clock.advance(-timedelta(days=400))
    online = fill(registry_server.url, cache_dir, KEYS, clock)
    results = OfflineRegistry(RegistryCache(cache_dir), registry_server.url).lookup(KEYS)
    assert uncached(results) == online


def test_a_pair_not_in_the_cache_is_not_found(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    fill(registry_server.url, cache_dir, KEYS[:2])
    registry_server.clear_log()
    offline = OfflineRegistry(RegistryCache(cache_dir), registry_server.url)

    results = offline.lookup(KEYS[2:])

    assert set(results.values()) == {NotFound("not in the cache (offline)")}
    assert registry_server.requests == []


def test_the_oldest_answer_given_is_reported(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    clock = FakeClock()
    fill(registry_server.url, cache_dir, KEYS[:1])
    old_clock = FakeClock()
    old_clock.advance(-timedelta(hours=30))
    fill(registry_server.url, cache_dir, [MISSING], old_clock)  # a cached not-found, 30 h old
    offline = OfflineRegistry(RegistryCache(cache_dir), registry_server.url)
    assert offline.oldest_fetched_at is None

    [first] = offline.lookup(KEYS[:1]).values()
    assert isinstance(first, Found)
    assert offline.oldest_fetched_at == first.node_version.fetched_at
    offline.lookup([MISSING, KEYS[1]])  # KEYS[1] is not cached: it has no age

    assert offline.oldest_fetched_at is not None
    assert abs(offline.oldest_fetched_at - (clock.now - timedelta(hours=30))) < timedelta(minutes=1)


@pytest.mark.parametrize("state", ["no-folder", "no-file", "other-registry"])
def test_an_empty_cache_is_a_clear_error(
    make_registry_server: MakeServer, cache_dir: Path, state: str
) -> None:
    server = make_registry_server()
    if state == "no-file":
        cache_dir.mkdir()
    if state == "other-registry":
        other = make_registry_server()
        fill(other.url, cache_dir, KEYS)

    with pytest.raises(InputError) as caught:
        OfflineRegistry(RegistryCache(cache_dir), server.url)

    assert str(caught.value) == EMPTY_MESSAGE.format(cache_dir)
    assert server.requests == []


def test_a_damaged_cache_is_an_error_offline(cache_dir: Path) -> None:
    cache_dir.mkdir()
    (cache_dir / CACHE_FILE).write_bytes(b"garbage" * 100)
    with pytest.raises(InputError, match=r"^offline: the cache at .* cannot be read: "):
        OfflineRegistry(RegistryCache(cache_dir), "https://api.comfy.org")


def test_open_registry_offline(registry_server: RegistryServer, cache_dir: Path) -> None:
    fill(registry_server.url, cache_dir, KEYS)
    registry_server.clear_log()

    registry = open_registry(registry_server.url, cache_dir=cache_dir, offline=True)

    assert isinstance(registry, OfflineRegistry)
    assert all(not isinstance(r, NotFound) for r in registry.lookup(KEYS[:-1]).values())
    assert registry_server.requests == []


def test_open_registry_offline_with_an_empty_cache(cache_dir: Path) -> None:
    with pytest.raises(InputError) as caught:
        open_registry("https://api.comfy.org", cache_dir=cache_dir, offline=True)
    assert str(caught.value) == EMPTY_MESSAGE.format(cache_dir)


@pytest.mark.parametrize(
    ("no_cache", "refresh", "message"),
    [
        (True, False, "--offline needs the cache (drop --no-cache), or --registry FILE"),
        (False, True, "--offline and --refresh cannot be used together"),
    ],
)
def test_offline_options_that_cannot_work(
    cache_dir: Path, no_cache: bool, refresh: bool, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        open_registry(
            "https://api.comfy.org",
            offline=True,
            cache_dir=None if no_cache else cache_dir,
            refresh=refresh,
        )
    assert str(caught.value) == message

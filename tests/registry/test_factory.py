"""Tests of open_registry: which ``--registry`` values give which registry, which are refused."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from audit.errors import InputError, MirrorError
from audit.model import NodeKey, NodeVersion
from audit.registry import (
    CachingRegistry,
    HttpRegistry,
    MirrorRegistry,
    OfflineRegistry,
    RegistryCache,
    default_cache_dir,
    open_registry,
    stale_data_warning,
)
from audit.registry.cache import CACHE_FILE
from tests.registry.support import FakeClock, fast_registry, keys_of
from tests.registry_server import BULK_PATH, SAMPLE_RECORDS, RegistryServer


@pytest.mark.parametrize(
    ("spec", "base_url"),
    [
        ("https://api.comfy.org", "https://api.comfy.org"),
        ("https://api.comfy.org/", "https://api.comfy.org"),
        ("https://mirror.example.com:8443/registry/", "https://mirror.example.com:8443/registry"),
        ("HTTPS://api.comfy.org", "HTTPS://api.comfy.org"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.4.5.6/", "http://127.4.5.6"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://LocalHost", "http://LocalHost"),
    ],
)
def test_urls_give_an_http_registry(spec: str, base_url: str) -> None:
    registry = open_registry(spec)
    assert isinstance(registry, HttpRegistry)
    assert registry.base_url == base_url


@pytest.mark.parametrize(
    "spec",
    [
        "http://api.comfy.org",
        "http://10.0.0.5:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://[::2]",
    ],
)
def test_plain_http_elsewhere_needs_the_flag(spec: str) -> None:
    with pytest.raises(InputError) as caught:
        open_registry(spec)
    message = str(caught.value)
    assert "--allow-insecure-http" in message and spec in message
    assert "\n" not in message
    assert isinstance(open_registry(spec, allow_insecure_http=True), HttpRegistry)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("ftp://api.comfy.org", "use https://"),
        ("file:///srv/mirror.jsonl", "use https://"),
        ("s3://bucket/mirror.jsonl", "use https://"),
        ("https://", "no host"),
        ("https://api.comfy.org:port", "bad port"),
        ("https://api.comfy.org/?x=1", "must not hold a query"),
        ("https://user:secret@api.comfy.org", "must not hold a query, fragment or user name"),
    ],
)
def test_unusable_urls_are_input_errors(spec: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        open_registry(spec)


def test_http_options_reach_the_client() -> None:
    registry = open_registry("https://api.comfy.org", timeout=3.0, concurrency=2, retries=0)
    assert isinstance(registry, HttpRegistry)
    with pytest.raises(TypeError):
        open_registry("https://api.comfy.org", no_such_option=1)


def test_options_out_of_range_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"registry options: .* must be > 0"):
        open_registry("https://api.comfy.org", concurrency=0)


def test_anything_else_is_a_mirror_file(tmp_path: Path) -> None:
    path = tmp_path / "mirror.jsonl"
    path.write_text('{"node_id": "a", "version": "1"}\n', encoding="utf-8")
    assert isinstance(open_registry(str(path)), MirrorRegistry)
    with pytest.raises(MirrorError, match="cannot read the mirror file"):
        open_registry(str(tmp_path / "missing.jsonl"))


def test_a_cache_folder_gives_a_caching_registry(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    keys = keys_of(SAMPLE_RECORDS)
    registry = open_registry(registry_server.url, cache_dir=cache_dir, timeout=3.0)
    assert isinstance(registry, CachingRegistry)
    assert isinstance(registry.inner, HttpRegistry)
    assert registry.base_url == registry_server.url

    registry.lookup(keys)
    open_registry(registry_server.url, cache_dir=cache_dir).lookup(keys)
    open_registry(registry_server.url, cache_dir=cache_dir, refresh=True).lookup(keys)
    open_registry(registry_server.url, cache_dir=cache_dir, max_age=timedelta(0)).lookup(keys)

    assert registry_server.paths() == [BULK_PATH] * 3
    assert (cache_dir / CACHE_FILE).is_file()


def test_no_cache_folder_means_no_cache(registry_server: RegistryServer) -> None:
    assert isinstance(open_registry(registry_server.url, refresh=True), HttpRegistry)


def test_a_negative_max_age_is_an_input_error(cache_dir: Path) -> None:
    with pytest.raises(InputError, match="registry options: max_age must not be negative"):
        open_registry("https://api.comfy.org", cache_dir=cache_dir, max_age=timedelta(-1))


def test_a_mirror_file_ignores_the_cache_options(tmp_path: Path, cache_dir: Path) -> None:
    path = tmp_path / "mirror.jsonl"
    path.write_text('{"node_id": "a", "version": "1"}\n', encoding="utf-8")
    registry = open_registry(str(path), cache_dir=cache_dir, offline=True, refresh=True)
    assert isinstance(registry, MirrorRegistry)
    assert not cache_dir.exists()


@pytest.mark.skipif(sys.platform != "linux", reason="XDG_CACHE_HOME is the Linux convention")
def test_the_default_cache_folder_is_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "comfy-audit"


NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("age", "warning"),
    [
        (timedelta(minutes=30), None),
        (timedelta(hours=1), None),
        (timedelta(minutes=61), "mirror data is 61 minutes old (older than --max-age)"),
        (timedelta(hours=30), "mirror data is 30 hours old (older than --max-age)"),
        (timedelta(days=40), "mirror data is 40 days old (older than --max-age)"),
    ],
)
def test_old_mirror_data_gives_a_warning(age: timedelta, warning: str | None) -> None:
    mirror = MirrorRegistry([NodeVersion("a", "1", fetched_at=NOW - age)])
    assert stale_data_warning(mirror, timedelta(hours=1), now=NOW) == warning


def test_old_cached_data_gives_a_warning_after_the_lookup(
    registry_server: RegistryServer, cache_dir: Path
) -> None:
    clock = FakeClock()
    clock.advance(-timedelta(hours=5))
    keys = keys_of(SAMPLE_RECORDS)
    CachingRegistry(
        fast_registry(registry_server.url), RegistryCache(cache_dir), clock=clock
    ).lookup([NodeKey("comfyui-nothing-here", "1.0.0")])
    offline = OfflineRegistry(RegistryCache(cache_dir), registry_server.url)
    assert stale_data_warning(offline, timedelta(hours=1)) is None  # nothing answered yet

    offline.lookup([*keys, NodeKey("comfyui-nothing-here", "1.0.0")])

    assert stale_data_warning(offline, timedelta(hours=1)) == (
        "cached data is 5 hours old (older than --max-age)"
    )
    assert stale_data_warning(offline, timedelta(hours=6)) is None


def test_online_registries_never_warn_of_old_data(cache_dir: Path) -> None:
    assert stale_data_warning(HttpRegistry(), timedelta(0)) is None
    online = open_registry("https://api.comfy.org", cache_dir=cache_dir)
    assert stale_data_warning(online, timedelta(0)) is None

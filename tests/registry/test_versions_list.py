"""Tests of listing every version of a node: HTTP (one GET per node), mirror, cache and offline.

Request counts come from the loopback registry's log; a cache hit is proven by a request that
never happened.
"""

from __future__ import annotations

import doctest
import json
import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import audit.registry.node_versions
from audit.model import Failed, NodeKey, NodeVersion
from audit.registry import (
    CachingRegistry,
    MirrorRegistry,
    OfflineRegistry,
    RegistryCache,
    VersionLister,
    VersionListing,
    VersionRecordSource,
)
from audit.registry.cache import CACHE_FILE
from audit.registry.node_versions import parse_version_list
from tests.registry.support import FakeClock, fast_registry
from tests.registry_server import RegistryServer, node_version_record

MakeServer = Callable[..., RegistryServer]

#: Listed by the registry as text sorts them (1.9.0 above 1.10.0); never relied on.
FOO = [
    node_version_record("comfyui-foo", "1.9.0"),
    node_version_record("comfyui-foo", "1.10.0", status="NodeVersionStatusFlagged"),
    node_version_record("comfyui-foo", "1.0.0-beta.9", deprecated=True),
]
BAR = [node_version_record("ComfyUI-Bar", "0.8.11-bugfix", tags_admin=["any-code-execute"])]
RECORDS = [*FOO, *BAR, node_version_record("other", "1.0.0")]
FOO_PATH = "/nodes/comfyui-foo/versions"


def versions(listing: VersionListing) -> list[str]:
    assert isinstance(listing, tuple), listing
    return [nv.version for nv in listing]


def list_gets(server: RegistryServer) -> list[str]:
    """The version-list requests the server received, in order."""
    return [p for p in server.paths("GET") if p.endswith("/versions")]


def caching(
    url: str, folder: Path, clock: FakeClock | None = None, **options: Any
) -> CachingRegistry:
    return CachingRegistry(
        fast_registry(url, retries=2), RegistryCache(folder), clock=clock or FakeClock(), **options
    )


def test_every_implementation_is_a_version_lister(tmp_path: Path) -> None:
    listers: list[VersionLister] = [
        fast_registry("https://api.comfy.org"),
        caching("https://api.comfy.org", tmp_path),
        MirrorRegistry([]),
    ]
    assert all(isinstance(lister, VersionRecordSource) for lister in listers[:2])


# -- HTTP ----------------------------------------------------------------------------------------


def test_one_get_per_node_lists_all_its_versions(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    answers = fast_registry(server.url).list_versions_of(["comfyui-foo", "comfyui-bar"])

    assert {node: sorted(versions(listing)) for node, listing in answers.items()} == {
        "comfyui-foo": ["1.0.0-beta.9", "1.10.0", "1.9.0"],
        "comfyui-bar": ["0.8.11-bugfix"],
    }
    assert sorted(list_gets(server)) == ["/nodes/comfyui-bar/versions", FOO_PATH]
    assert server.paths("POST") == []


def test_the_records_are_parsed_like_any_other(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    (bar,) = versions_of(fast_registry(server.url).list_versions_of(["comfyui-bar"])["comfyui-bar"])
    assert (bar.node_id, bar.status, bar.tags_admin) == (
        "ComfyUI-Bar",
        "NodeVersionStatusActive",
        ("any-code-execute",),
    )
    assert bar.fetched_at is not None


def test_ids_that_differ_in_case_are_listed_once(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    answers = fast_registry(server.url).list_versions_of(["comfyui-foo", "ComfyUI-Foo"])
    assert list(answers) == ["comfyui-foo", "ComfyUI-Foo"]
    assert answers["comfyui-foo"] == answers["ComfyUI-Foo"]
    assert list_gets(server) == [FOO_PATH]


def test_many_nodes_cost_one_request_each(make_registry_server: MakeServer) -> None:
    records = [node_version_record(f"node-{i}", f"1.{j}.0") for i in range(30) for j in range(3)]
    server = make_registry_server(records)
    registry = fast_registry(server.url, concurrency=4)
    answers = registry.list_versions_of([f"node-{i}" for i in range(30)])

    assert all(len(versions(listing)) == 3 for listing in answers.values())
    assert sorted(list_gets(server)) == sorted(f"/nodes/node-{i}/versions" for i in range(30))
    assert registry.stats.get_requests == 30


def test_a_node_the_registry_does_not_know_has_no_versions(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS)
    assert fast_registry(server.url).list_versions_of(["nobody"]) == {"nobody": ()}


def test_transient_faults_are_retried(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    server.fail(FOO_PATH, "status", times=2, status=503)
    answers = fast_registry(server.url, retries=2).list_versions_of(["comfyui-foo"])
    assert len(versions(answers["comfyui-foo"])) == 3
    assert list_gets(server) == [FOO_PATH] * 3


def test_a_list_that_keeps_failing_is_failed(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    server.fail(FOO_PATH, "status", times=3, status=500)
    server.fail("/nodes/comfyui-bar/versions", "status", times=1, status=403)
    answers = fast_registry(server.url, retries=2).list_versions_of(["comfyui-foo", "comfyui-bar"])
    foo, bar = answers["comfyui-foo"], answers["comfyui-bar"]
    assert isinstance(foo, Failed) and "HTTP 500" in foo.reason
    assert bar == Failed("HTTP 403: injected HTTP 403")


def test_a_body_that_is_not_json_is_failed(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    server.fail(FOO_PATH, "html", times=3)
    listing = fast_registry(server.url, retries=2).list_versions_of(["comfyui-foo"])["comfyui-foo"]
    assert isinstance(listing, Failed) and listing.reason.startswith("not JSON: ")


def test_an_unsafe_id_is_never_sent(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    answers = fast_registry(server.url).list_versions_of(["..", "a/b"])
    assert set(answers.values()) == {Failed("not listed: the id is not safe to put in a URL")}
    assert server.requests == []


def test_a_redirect_to_the_normalised_id_is_followed(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    server.fail("/nodes/ComfyUI-Foo/versions", "redirect", location=FOO_PATH)
    answers = fast_registry(server.url).list_versions_of(["ComfyUI-Foo"])
    assert len(versions(answers["ComfyUI-Foo"])) == 3


def test_the_token_goes_with_the_list_request(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    fast_registry(server.url, token="s3cret").list_versions_of(["comfyui-foo"])
    (request,) = server.requests
    assert request.headers["Authorization"] == "Bearer s3cret"


# -- parsing -------------------------------------------------------------------------------------


def test_items_of_other_nodes_repeats_and_junk_are_left_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = [
        {"node_id": "Foo", "version": "1.0.0"},
        {"node_id": "foo", "version": "1.0.0", "deprecated": True},
        {"node_id": "bar", "version": "2.0.0"},
        {"version": "3.0.0"},
        "junk",
        {"node_id": "foo", "version": "1.1.0", "supported_os": "linux"},
    ]
    with caplog.at_level(logging.WARNING):
        listed = parse_version_list("foo", payload, FakeClock().now)
    assert [(nv.version, nv.invalid_fields) for nv in versions_of(listed.result)] == [
        ("1.0.0", ()),
        ("1.1.0", ("supported_os",)),
    ]
    assert [r["version"] for r in listed.records] == ["1.0.0", "1.1.0"]
    assert "skipped 4 unusable items" in caplog.text


def versions_of(listing: VersionListing) -> tuple[NodeVersion, ...]:
    assert isinstance(listing, tuple), listing
    return listing


@pytest.mark.parametrize(
    ("payload", "kind"), [({"versions": []}, "an object"), ("x", "str"), (None, "NoneType")]
)
def test_a_payload_that_is_no_list_is_failed(payload: object, kind: str) -> None:
    listed = parse_version_list("foo", payload, FakeClock().now)
    assert listed.result == Failed(f"the registry sent {kind}, not a list of versions")
    assert listed.records == ()


# -- mirror --------------------------------------------------------------------------------------


def test_a_mirror_lists_every_record_of_the_node(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    answers = MirrorRegistry.from_file(mirror).list_versions_of(["COMFYUI-FOO", "comfyui-bar", "x"])
    assert {node: versions(listing) for node, listing in answers.items()} == {
        "COMFYUI-FOO": ["1.9.0", "1.10.0", "1.0.0-beta.9"],
        "comfyui-bar": ["0.8.11-bugfix"],
        "x": [],
    }


# -- cache ---------------------------------------------------------------------------------------


def test_a_second_listing_is_a_cache_hit(make_registry_server: MakeServer, cache_dir: Path) -> None:
    server = make_registry_server(RECORDS)
    first = caching(server.url, cache_dir).list_versions_of(["comfyui-foo", "nobody"])
    second = caching(server.url, cache_dir).list_versions_of(["ComfyUI-Foo", "nobody"])

    assert sorted(list_gets(server)) == [FOO_PATH, "/nodes/nobody/versions"]
    assert strip_times(second) == {"ComfyUI-Foo": strip(first["comfyui-foo"]), "nobody": ()}


def strip(listing: VersionListing) -> VersionListing:
    """``listing`` without fetch times, which differ between the registry and the cache."""
    if isinstance(listing, Failed):
        return listing
    return tuple(replace(nv, fetched_at=None) for nv in listing)


def strip_times(answers: Mapping[str, VersionListing]) -> dict[str, VersionListing]:
    return {node: strip(listing) for node, listing in answers.items()}


def test_a_cached_list_keeps_its_fetch_time(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(RECORDS)
    first = versions_of(
        caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])["comfyui-foo"]
    )
    again = versions_of(
        caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])["comfyui-foo"]
    )
    assert [nv.fetched_at for nv in again] == [nv.fetched_at for nv in first]


def test_an_old_list_is_fetched_again(make_registry_server: MakeServer, cache_dir: Path) -> None:
    server = make_registry_server(RECORDS)
    clock = FakeClock()
    caching(server.url, cache_dir, clock, max_age=timedelta(hours=1)).list_versions_of(
        ["comfyui-foo"]
    )
    clock.advance(timedelta(minutes=59))
    caching(server.url, cache_dir, clock, max_age=timedelta(hours=1)).list_versions_of(
        ["comfyui-foo"]
    )
    assert list_gets(server) == [FOO_PATH]
    clock.advance(timedelta(minutes=2))
    caching(server.url, cache_dir, clock, max_age=timedelta(hours=1)).list_versions_of(
        ["comfyui-foo"]
    )
    assert list_gets(server) == [FOO_PATH] * 2


def test_refresh_fetches_and_stores_again(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(RECORDS)
    caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])
    server.add(node_version_record("comfyui-foo", "2.0.0"))
    refreshed = caching(server.url, cache_dir, refresh=True).list_versions_of(["comfyui-foo"])
    cached = caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])
    assert "2.0.0" in versions(refreshed["comfyui-foo"])
    assert strip_times(cached) == strip_times(refreshed)
    assert list_gets(server) == [FOO_PATH] * 2


def test_a_failed_list_is_not_stored(make_registry_server: MakeServer, cache_dir: Path) -> None:
    server = make_registry_server(RECORDS)
    server.fail(FOO_PATH, "status", times=3, status=500)
    failed = caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])["comfyui-foo"]
    listed = caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])["comfyui-foo"]
    assert isinstance(failed, Failed)
    assert len(versions(listed)) == 3
    assert list_gets(server) == [FOO_PATH] * 4


def test_lists_are_kept_per_registry(make_registry_server: MakeServer, cache_dir: Path) -> None:
    one, two = make_registry_server(RECORDS), make_registry_server(FOO[:1])
    caching(one.url, cache_dir).list_versions_of(["comfyui-foo"])
    listed = caching(two.url, cache_dir).list_versions_of(["comfyui-foo"])
    assert versions(listed["comfyui-foo"]) == ["1.9.0"]
    assert (len(list_gets(one)), len(list_gets(two))) == (1, 1)


def test_a_cache_of_an_older_format_is_rebuilt_for_the_lists(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(RECORDS)
    caching(server.url, cache_dir).lookup([NodeKey("other", "1.0.0")])
    with sqlite3.connect(cache_dir / CACHE_FILE) as db:
        db.execute("PRAGMA user_version = 1")
    caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])
    caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])
    assert list_gets(server) == [FOO_PATH]


def test_a_damaged_list_row_is_a_miss(make_registry_server: MakeServer, cache_dir: Path) -> None:
    server = make_registry_server(RECORDS)
    caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])
    with sqlite3.connect(cache_dir / CACHE_FILE) as db:
        db.execute('UPDATE entries SET body = \'{"not": "a list"}\'')
    listed = caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])
    assert len(versions(listed["comfyui-foo"])) == 3
    assert list_gets(server) == [FOO_PATH] * 2


# -- offline -------------------------------------------------------------------------------------


def test_offline_lists_come_from_the_cache(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(RECORDS)
    online = caching(server.url, cache_dir)
    online.lookup([NodeKey("other", "1.0.0")])
    fetched = online.list_versions_of(["comfyui-foo"])
    url = server.url
    server.stop()

    offline = OfflineRegistry(RegistryCache(cache_dir), url)
    answers = offline.list_versions_of(["comfyui-foo", "comfyui-bar"])

    assert strip(answers["comfyui-foo"]) == strip(fetched["comfyui-foo"])
    assert answers["comfyui-bar"] == Failed("no version list in the cache (offline)")
    assert offline.oldest_fetched_at is not None


def test_doctests() -> None:
    assert doctest.testmod(audit.registry.node_versions).failed == 0

"""Tests of version lists asked for node by node (`audit.registry.streaming`): the same answers,
requests and cache entries as `list_versions_of`, each request sent when its list is asked for.

Request counts come from the loopback registry's log; a cache hit is proven by a request that
never happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from audit.model import Failed, NodeKey, NodeVersion
from audit.registry import (
    MirrorRegistry,
    OfflineRegistry,
    RegistryCache,
    VersionLister,
    VersionListing,
)
from audit.registry.streaming import VersionStreamSource, version_stream
from tests.registry.support import fast_registry
from tests.registry.test_versions_list import FOO_PATH, RECORDS, caching, list_gets, versions
from tests.registry_server import RegistryServer, node_version_record

MakeServer = Callable[..., RegistryServer]

IDS = ["comfyui-foo", "comfyui-bar", "nobody"]


def streamed(
    source: VersionLister, ids: Sequence[str], candidates: Sequence[str] = ()
) -> dict[str, VersionListing]:
    """Ask for ``ids`` one by one through ``source``'s stream; the lists by id."""
    with version_stream(source, candidates) as ask:
        futures = {node_id: ask(node_id) for node_id in ids}
    return {node_id: future.result().result for node_id, future in futures.items()}


def without_times(listing: VersionListing) -> object:
    if isinstance(listing, Failed):
        return listing
    return sorted((nv.node_id, nv.version, nv.status) for nv in listing)


def test_http_and_its_cache_stream_lists_and_a_mirror_does_not(tmp_path: Path) -> None:
    assert isinstance(fast_registry("https://api.comfy.org"), VersionStreamSource)
    assert isinstance(caching("https://api.comfy.org", tmp_path), VersionStreamSource)
    assert not isinstance(MirrorRegistry([]), VersionStreamSource)


def test_http_stream_answers_as_the_bulk_call_with_one_get_each(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS)
    registry = fast_registry(server.url)
    expected = {n: without_times(v) for n, v in registry.list_versions_of(IDS).items()}
    server.clear_log()

    answers = streamed(registry, [*IDS, "ComfyUI-Foo", "bad id/.."])

    assert {n: without_times(v) for n, v in answers.items() if n in IDS} == expected
    assert answers["bad id/.."] == Failed("not listed: the id is not safe to put in a URL")
    # NOTE: the stream asks what it is asked: a second spelling is the caller's to fold.
    assert sorted(list_gets(server)) == sorted(
        [
            FOO_PATH,
            FOO_PATH.replace("comfyui-foo", "ComfyUI-Foo"),
            *(f"/nodes/{n}/versions" for n in IDS[1:]),
        ]
    )


def test_a_request_goes_out_when_its_list_is_asked_for(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    with version_stream(fast_registry(server.url)) as ask:
        first = ask("comfyui-foo")
        assert versions(first.result().result) == ["1.9.0", "1.10.0", "1.0.0-beta.9"]
        assert list_gets(server) == [FOO_PATH]
        second = ask("comfyui-bar")
    assert versions(second.result().result) == ["0.8.11-bugfix"]
    assert list_gets(server) == [FOO_PATH, "/nodes/comfyui-bar/versions"]


def test_cached_candidates_cost_no_request_and_fetched_lists_are_stored(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(RECORDS)
    warm = caching(server.url, cache_dir)
    warm.list_versions_of(["comfyui-foo"])
    server.clear_log()

    answers = streamed(warm, ["COMFYUI-FOO", "comfyui-bar", "comfyui-bar"], candidates=IDS)

    assert versions(answers["COMFYUI-FOO"]) == ["1.9.0", "1.10.0", "1.0.0-beta.9"]
    assert versions(answers["comfyui-bar"]) == ["0.8.11-bugfix"]
    assert list_gets(server) == ["/nodes/comfyui-bar/versions"]
    server.clear_log()
    again = caching(server.url, cache_dir).list_versions_of(["comfyui-bar", "comfyui-foo"])
    assert without_times(again["comfyui-foo"]) == without_times(answers["COMFYUI-FOO"])
    assert without_times(again["comfyui-bar"]) == without_times(answers["comfyui-bar"])
    assert list_gets(server) == []


def test_a_list_asked_outside_the_candidates_is_read_from_the_cache_too(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(RECORDS)
    caching(server.url, cache_dir).list_versions_of(["comfyui-bar"])
    server.clear_log()

    answers = streamed(caching(server.url, cache_dir), ["comfyui-bar"], candidates=["other"])

    assert versions(answers["comfyui-bar"]) == ["0.8.11-bugfix"]
    assert list_gets(server) == []


def test_refresh_reads_nothing_and_fetches_every_list(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(RECORDS)
    caching(server.url, cache_dir).list_versions_of(["comfyui-foo"])
    server.clear_log()

    streamed(caching(server.url, cache_dir, refresh=True), ["comfyui-foo"], candidates=IDS)

    assert list_gets(server) == [FOO_PATH]


def test_listers_without_a_stream_answer_each_id_as_asked() -> None:
    records = [NodeVersion("comfyui-foo", "1.0.0"), NodeVersion("comfyui-foo", "1.1.0")]
    mirror = MirrorRegistry(records)
    assert streamed(mirror, ["comfyui-foo", "nobody"]) == mirror.list_versions_of(
        ["comfyui-foo", "nobody"]
    )


def test_offline_streams_what_the_cache_holds(
    make_registry_server: MakeServer, cache_dir: Path
) -> None:
    server = make_registry_server(RECORDS)
    online = caching(server.url, cache_dir)
    online.lookup([NodeKey("other", "1.0.0")])
    online.list_versions_of(["comfyui-foo"])
    offline = OfflineRegistry(RegistryCache(cache_dir), server.url)
    server.clear_log()

    answers = streamed(offline, ["comfyui-foo", "nobody"])

    assert versions(answers["comfyui-foo"]) == ["1.9.0", "1.10.0", "1.0.0-beta.9"]
    assert answers["nobody"] == Failed("no version list in the cache (offline)")
    assert server.requests == []


def test_lists_are_asked_at_twice_the_concurrency(make_registry_server: MakeServer) -> None:
    """Every list waits at the server until 4 are in flight at once; with --concurrency 2."""
    server = make_registry_server([node_version_record(f"node-{i}", "1.0.0") for i in range(4)])
    server.hold(threading.Barrier(4, timeout=10).wait)
    answers = fast_registry(server.url, concurrency=2).list_versions_of(
        [f"node-{i}" for i in range(4)]
    )

    assert [versions(listing) for listing in answers.values()] == [["1.0.0"]] * 4


def test_a_stream_left_by_an_error_sends_none_of_the_lists_still_queued(
    make_registry_server: MakeServer,
) -> None:
    """Two lists are in flight (--concurrency 1) and held there; eight wait in the queue."""
    server = make_registry_server([node_version_record(f"node-{i}", "1.0.0") for i in range(10)])
    release = threading.Event()
    server.hold(lambda: release.wait(timeout=10))
    registry = fast_registry(server.url, concurrency=1)
    with pytest.raises(KeyboardInterrupt), version_stream(registry) as ask:
        futures = [ask(f"node-{i}") for i in range(10)]
        # NOTE: the last one is cancelled last; only then are the two in flight answered.
        futures[-1].add_done_callback(lambda _: release.set())
        raise KeyboardInterrupt

    assert [future.cancelled() for future in futures] == [False] * 2 + [True] * 8
    assert sorted(list_gets(server)) == ["/nodes/node-0/versions", "/nodes/node-1/versions"]

"""Tests of writing mirrors: round trips through MirrorRegistry, atomic writes, the full listing."""

from __future__ import annotations

import doctest
import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audit
from audit.errors import ReportError
from audit.model import Found, NodeKey, NodeVersion, NotFound
from audit.registry import (
    CachingRegistry,
    MirrorRegistry,
    RegistryCache,
    RegistryError,
    cache,
    credentials,
    factory,
    list_all_versions,
    mirror_records,
    mirror_writer,
    node_version_json,
    transport,
    write_mirror,
)
from tests.registry.support import comparable, fast_registry, keys_of
from tests.registry_server import SAMPLE_RECORDS, RegistryServer, node_version_record

MakeServer = Callable[..., RegistryServer]

STATUSES = [None, *(f"NodeVersionStatus{w}" for w in ("Active", "Banned", "Deleted", "Flagged"))]
FETCHED = datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=UTC)


def many_records(count: int) -> list[dict[str, Any]]:
    return [node_version_record(f"pack-{i:03}", f"1.{i % 7}.0") for i in range(count)]


def read_back(path: Path, keys: list[NodeKey]) -> dict[NodeKey, object]:
    return dict(MirrorRegistry.from_file(path).lookup(keys))


@pytest.mark.parametrize("module", [cache, credentials, factory, mirror_writer, transport])
def test_doctests(module: ModuleType) -> None:
    assert doctest.testmod(module).failed == 0


# -- round trips -------------------------------------------------------------------------------


def test_node_versions_round_trip(tmp_path: Path) -> None:
    versions = [
        NodeVersion("a", "1.0.0"),
        NodeVersion(
            "ComfyUI-Thing",
            "2.0.0",
            status="NodeVersionStatusBanned",
            status_reason="eval() on input\u2028line two",
            deprecated=False,
            supported_os=("OS Independent",),
            supported_accelerators=(),
            supported_comfyui_version=">=0.3.0",
            supported_comfyui_frontend_version="",
            dependencies=("torch>=2", "numpy"),
            tags=("video",),
            tags_admin=("any-code-execute",),
            created_at="2025-06-01T12:00:00Z",
            fetched_at=FETCHED,
        ),
    ]
    path = tmp_path / "mirror.jsonl"

    assert write_mirror(versions, path) == 2

    keys = [v.key for v in versions]
    assert read_back(path, keys) == {v.key: Found(v) for v in versions}
    assert MirrorRegistry.from_file(path).oldest_fetched_at == FETCHED
    assert len(path.read_text(encoding="utf-8").split("\n")) == 3  # two lines and the end


_texts = st.text(st.characters(codec="utf-8"), max_size=12)
_words = st.none() | st.lists(_texts, max_size=3).map(tuple)
node_versions = st.builds(
    NodeVersion,
    node_id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True),
    version=st.from_regex(r"[0-9][0-9.a-z+-]{0,10}", fullmatch=True),
    status=st.sampled_from(STATUSES),
    status_reason=st.none() | _texts,
    deprecated=st.none() | st.booleans(),
    supported_os=_words,
    supported_accelerators=_words,
    supported_comfyui_version=st.none() | _texts,
    supported_comfyui_frontend_version=st.none() | _texts,
    dependencies=_words,
    tags=_words,
    tags_admin=_words,
    created_at=st.none() | _texts,
    fetched_at=st.none() | st.datetimes(timezones=st.just(UTC)),
)


@settings(deadline=None, max_examples=60)
@given(st.lists(node_versions, max_size=5, unique_by=lambda v: v.key.normalized))
def test_any_node_versions_round_trip(
    tmp_path_factory: pytest.TempPathFactory, versions: list[NodeVersion]
) -> None:
    path = tmp_path_factory.mktemp("mirror") / "mirror.jsonl"
    write_mirror(versions, path)
    assert read_back(path, [v.key for v in versions]) == {v.key: Found(v) for v in versions}


def test_looked_up_records_round_trip_as_the_registry_sent_them(
    registry_server: RegistryServer, tmp_path: Path
) -> None:
    keys = [*keys_of(SAMPLE_RECORDS), NodeKey("comfyui-nothing-here", "1.0.0")]
    online = fast_registry(registry_server.url).fetch(keys)
    path = tmp_path / "mirror.jsonl"

    written = write_mirror(mirror_records(online), path)

    assert written == len(SAMPLE_RECORDS)
    offline = read_back(path, keys)
    assert {k: v for k, v in offline.items() if not isinstance(v, NotFound)} == {
        k: f.result for k, f in online.items() if isinstance(f.result, Found)
    }
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [{k: v for k, v in line.items() if k != "fetched_at"} for line in lines] == list(
        SAMPLE_RECORDS
    )


def test_records_from_the_cache_round_trip_too(
    registry_server: RegistryServer, cache_dir: Path, tmp_path: Path
) -> None:
    keys = keys_of(SAMPLE_RECORDS)
    first = CachingRegistry(fast_registry(registry_server.url), RegistryCache(cache_dir))
    online = first.lookup(keys)
    cached = CachingRegistry(fast_registry(registry_server.url), RegistryCache(cache_dir))
    path = tmp_path / "mirror.jsonl"

    write_mirror(mirror_records(cached.fetch(keys)), path)

    assert read_back(path, keys) == online


def test_a_pair_asked_twice_is_written_once(
    registry_server: RegistryServer, tmp_path: Path
) -> None:
    key = keys_of(SAMPLE_RECORDS)[0]
    answers = fast_registry(registry_server.url).fetch(
        [key, NodeKey(key.node_id.upper(), key.version)]
    )
    assert write_mirror(mirror_records(answers), tmp_path / "m.jsonl") == 1


def test_node_version_json_uses_the_api_names() -> None:
    nv = NodeVersion("a", "1", created_at="2025-01-01", fetched_at=FETCHED, invalid_fields=("x",))
    assert node_version_json(nv) == {
        "node_id": "a",
        "version": "1",
        "createdAt": "2025-01-01",
        "fetched_at": "2026-11-28T09:30:15.123456+00:00",
    }


# -- atomic writes -----------------------------------------------------------------------------


def failing_records() -> Iterator[NodeVersion]:
    yield NodeVersion("a", "1")
    raise RuntimeError("the registry went away")


def test_a_failed_write_leaves_the_old_mirror_whole(tmp_path: Path) -> None:
    path = tmp_path / "mirror.jsonl"
    write_mirror([NodeVersion("old", "1")], path)
    before = path.read_bytes()

    with pytest.raises(RuntimeError, match="went away"):
        write_mirror(failing_records(), path)

    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["mirror.jsonl"]


def test_an_unwritable_place_is_a_report_error(tmp_path: Path) -> None:
    path = tmp_path / "no-such-folder" / "mirror.jsonl"
    with pytest.raises(ReportError) as caught:
        write_mirror([NodeVersion("a", "1")], path)
    assert str(caught.value) == f"{path}: cannot write the mirror file: no folder {path.parent}"


def test_a_mirror_file_is_readable_by_others(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_mirror([NodeVersion("a", "1")], tmp_path / "mirror.jsonl")
    finally:
        os.umask(old)
    assert (tmp_path / "mirror.jsonl").stat().st_mode & 0o777 == 0o644


# -- the whole registry ------------------------------------------------------------------------


def listing_requests(server: RegistryServer) -> list[tuple[str, str]]:
    return sorted(
        (r.query["page"][0], r.query["pageSize"][0])
        for r in server.requests
        if r.path == "/versions"
    )


def test_every_page_is_fetched_once(make_registry_server: MakeServer) -> None:
    records = many_records(250)
    server = make_registry_server(records)

    listed = list(list_all_versions(server.url, backoff_base=0.001))

    assert [{k: v for k, v in r.items() if k != "fetched_at"} for r in listed] == records
    assert all(datetime.fromisoformat(r["fetched_at"]).tzinfo is not None for r in listed)
    assert listing_requests(server) == [("1", "100"), ("2", "100"), ("3", "100")]
    assert all(r.headers["User-Agent"] == audit.USER_AGENT for r in server.requests)


def test_many_pages_come_in_order_with_faults_within_the_budget(
    make_registry_server: MakeServer,
) -> None:
    records = many_records(250)
    server = make_registry_server(records)
    faults: list[tuple[str, dict[str, Any]]] = [
        ("status", {"status": 503}),
        ("status", {"status": 429, "retry_after": 1}),
        ("reset", {}),
        ("truncated", {}),
        ("html", {}),
    ]
    for kind, options in faults:
        server.fail("/versions", kind, **options)
    registry = fast_registry(server.url, retries=len(faults), concurrency=4)

    listed = list(registry.list_versions(page_size=7))

    assert [(r["node_id"], r["version"]) for r in listed] == [
        (r["node_id"], r["version"]) for r in records
    ]
    assert len(server.paths()) == 36 + len(faults)  # ceil(250 / 7) pages, and the retries
    assert registry.stats.retries == len(faults)


def test_a_mirror_of_the_whole_registry_answers_every_pair(
    make_registry_server: MakeServer, tmp_path: Path
) -> None:
    records = many_records(120)
    server = make_registry_server(records)
    path = tmp_path / "all.jsonl"

    assert write_mirror(list_all_versions(server.url), path) == 120

    results = MirrorRegistry.from_file(path).lookup(keys_of(records))
    online = fast_registry(server.url).lookup(keys_of(records))
    assert comparable(results) == comparable(online)
    assert all(isinstance(r, Found) and r.node_version.fetched_at for r in results.values())


def test_an_empty_registry_lists_nothing(make_registry_server: MakeServer) -> None:
    server = make_registry_server([])
    assert list(list_all_versions(server.url)) == []
    assert listing_requests(server) == [("1", "100")]


def test_items_that_are_no_node_version_are_skipped_with_one_warning(
    make_registry_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_registry_server(many_records(3))
    server.answer_with("broken", "1", ["not", "a", "record"])
    server.answer_with("broken", "2", {"version": "2"})

    listed = list(list_all_versions(server.url))

    assert [r["node_id"] for r in listed] == ["pack-000", "pack-001", "pack-002"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["registry listing: skipped 2 items that are not NodeVersions"]


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("status", {"status": 503}, "registry listing, page 1: HTTP 503 after 2 attempts"),
        ("status", {"status": 403}, "registry listing, page 1: HTTP 403"),
        ("html", {}, "registry listing, page 1: not JSON: text/html body after 2 attempts"),
    ],
    ids=["503", "403", "html"],
)
def test_a_page_that_cannot_be_fetched_is_an_error(
    make_registry_server: MakeServer, kind: str, options: dict[str, Any], message: str
) -> None:
    server = make_registry_server(many_records(5))
    server.fail("/versions", kind, times=2, **options)
    with pytest.raises(RegistryError) as caught:
        list(list_all_versions(server.url, retries=1, backoff_base=0.001))
    assert str(caught.value) == message


def test_a_later_page_that_fails_is_an_error(make_registry_server: MakeServer) -> None:
    server = make_registry_server(many_records(30))
    registry = fast_registry(server.url, retries=0, concurrency=1)
    pages = registry.list_versions(page_size=10)
    first = [next(pages) for _ in range(10)]
    server.fail("/versions", "status", status=500)
    with pytest.raises(RegistryError, match=r"^registry listing, page \d: HTTP 500"):
        list(pages)
    assert len(first) == 10


def test_a_listing_of_too_many_pages_is_refused(make_registry_server: MakeServer) -> None:
    server = make_registry_server(many_records(30))
    registry = fast_registry(server.url)
    with pytest.raises(RegistryError, match="3 pages, more than 2"):
        list(registry.list_versions(page_size=10, max_pages=2))
    assert len(server.requests) == 1


def test_a_page_that_is_no_listing_is_an_error(make_registry_server: MakeServer) -> None:
    server = make_registry_server([])
    server.fail("/versions", "bad_bulk", mode="shape")
    with pytest.raises(RegistryError, match="not a listing page"):
        list(list_all_versions(server.url))


def test_a_page_size_over_the_api_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="page_size"):
        list(list_all_versions("https://api.comfy.org", page_size=101))

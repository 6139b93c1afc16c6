"""Tests of HttpRegistry against the loopback registry: bulk answers, matching, GET fallbacks."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

import audit
from audit.model import Failed, Found, Invalid, NodeKey, NodeVersion, NotFound
from audit.registry import HttpRegistry, Registry, RequestStats
from tests.registry.support import comparable, fast_registry, found, keys_of
from tests.registry_server import (
    BULK_PATH,
    SAMPLE_RECORDS,
    BadBulk,
    RegistryServer,
    node_version_record,
    version_path,
)

MakeServer = Callable[..., RegistryServer]

KJNODES = SAMPLE_RECORDS[0]
MISSING = NodeKey("comfyui-nothing-here", "1.0.0")
ALLOWED_PATH = re.compile(r"/bulk/nodes/versions|/nodes/[^/]+/versions/[^/]+")


def sample_expectation() -> dict[NodeKey, object]:
    expected: dict[NodeKey, object] = {
        k: found(r) for k, r in zip(keys_of(SAMPLE_RECORDS), SAMPLE_RECORDS, strict=True)
    }
    expected[MISSING] = NotFound()
    return expected


def test_is_a_registry(registry_server: RegistryServer) -> None:
    registry: Registry = HttpRegistry(registry_server.url)
    assert registry.lookup([]) == {}
    assert registry_server.requests == []


def test_bulk_answers_every_key_in_one_request(registry_server: RegistryServer) -> None:
    registry = fast_registry(registry_server.url)
    keys = [*keys_of(SAMPLE_RECORDS), MISSING]

    results = registry.lookup(keys)

    assert comparable(results) == sample_expectation()
    [request] = registry_server.requests
    assert (request.method, request.path) == ("POST", BULK_PATH)
    assert request.body == {
        "node_versions": [{"node_id": k.node_id, "version": k.version} for k in keys]
    }
    assert registry.stats == RequestStats(requests=1, bulk_requests=1, get_requests=0, retries=0)


def test_fetched_at_is_the_time_of_the_answer_in_utc(registry_server: RegistryServer) -> None:
    before = datetime.now(UTC)
    result = fast_registry(registry_server.url).lookup(keys_of([KJNODES]))
    after = datetime.now(UTC)
    [answer] = result.values()
    assert isinstance(answer, Found)
    fetched_at = answer.node_version.fetched_at
    assert fetched_at is not None and fetched_at.tzinfo is UTC
    assert before <= fetched_at <= after
    assert answer.cache_hit is False


def test_pairs_go_out_in_chunks(make_registry_server: MakeServer) -> None:
    records = [node_version_record(f"pack-{i:03}", "1.0.0") for i in range(250)]
    server = make_registry_server(records)
    registry = fast_registry(server.url, chunk_size=100, concurrency=3)

    results = registry.lookup(keys_of(records))

    assert comparable(results) == {
        key: found(r) for key, r in zip(keys_of(records), records, strict=True)
    }
    assert server.paths() == [BULK_PATH] * 3
    pairs = [{"node_id": r["node_id"], "version": r["version"]} for r in records]
    chunks = [{"node_versions": pairs[start : start + 100]} for start in (0, 100, 200)]
    bodies = [request.body for request in server.requests]
    assert all(chunk in bodies for chunk in chunks)  # in any order: chunks go out concurrently
    assert registry.stats == RequestStats(requests=3, bulk_requests=3)


def test_ids_match_case_insensitively_and_each_pair_is_asked_once(
    registry_server: RegistryServer,
) -> None:
    keys = [
        NodeKey("ComfyUI-KJNodes", "1.1.9"),
        NodeKey("comfyui-kjnodes", "1.1.9"),
        NodeKey("COMFYUI-KJNODES", "1.1.9"),
        NodeKey("comfyui-outputlists_combiner", "0.0.15"),
    ]
    results = fast_registry(registry_server.url).lookup(keys)

    assert list(results) == keys
    assert {results[k] for k in keys[:3]} == {results[keys[0]]}
    assert comparable(results)[keys[0]] == found(KJNODES)
    assert comparable(results)[keys[3]] == found(SAMPLE_RECORDS[2])
    [request] = registry_server.requests
    assert request.body == {
        "node_versions": [
            {"node_id": "ComfyUI-KJNodes", "version": "1.1.9"},
            {"node_id": "comfyui-outputlists_combiner", "version": "0.0.15"},
        ]
    }


def test_versions_are_exact(registry_server: RegistryServer) -> None:
    results = fast_registry(registry_server.url).lookup([NodeKey("comfyui-kjnodes", "1.1.9.0")])
    assert list(results.values()) == [NotFound()]


def test_not_found_is_final(registry_server: RegistryServer) -> None:
    registry = fast_registry(registry_server.url)
    assert registry.lookup([MISSING]) == {MISSING: NotFound()}
    assert registry_server.paths() == [BULK_PATH]


def test_an_error_item_is_asked_again_with_get(make_registry_server: MakeServer) -> None:
    server = make_registry_server(
        error_pairs=[("COMFYUI-KJNODES", "1.1.9"), (MISSING.node_id, "1.0.0")]
    )
    registry = fast_registry(server.url)
    keys = [*keys_of(SAMPLE_RECORDS), MISSING]

    assert comparable(registry.lookup(keys)) == sample_expectation()
    assert server.paths("POST") == [BULK_PATH]
    assert sorted(server.paths("GET")) == [
        version_path("comfyui-kjnodes", "1.1.9"),
        version_path(*MISSING.normalized),
    ]
    assert registry.stats == RequestStats(requests=3, bulk_requests=1, get_requests=2)


def test_omitted_items_are_asked_again_with_get(registry_server: RegistryServer) -> None:
    registry_server.fail(BULK_PATH, "bad_bulk", mode=BadBulk.OMIT)
    keys = [*keys_of(SAMPLE_RECORDS), MISSING]

    assert comparable(fast_registry(registry_server.url).lookup(keys)) == sample_expectation()
    omitted = [version_path(k.node_id, k.version) for k in keys[1::2]]
    assert sorted(registry_server.paths("GET")) == sorted(omitted)


def test_the_first_of_duplicate_items_wins(registry_server: RegistryServer) -> None:
    registry_server.fail(BULK_PATH, "bad_bulk", mode=BadBulk.DUPLICATE)
    keys = [*keys_of(SAMPLE_RECORDS), MISSING]

    assert comparable(fast_registry(registry_server.url).lookup(keys)) == sample_expectation()
    assert registry_server.paths() == [BULK_PATH]


def test_items_for_pairs_not_asked_are_ignored(registry_server: RegistryServer) -> None:
    registry_server.fail(BULK_PATH, "bad_bulk", mode=BadBulk.UNASKED)
    keys = [*keys_of(SAMPLE_RECORDS), MISSING]

    results = fast_registry(registry_server.url).lookup(keys)

    assert comparable(results) == sample_expectation()
    assert registry_server.paths() == [BULK_PATH]


def test_an_answer_that_is_not_a_bulk_answer_means_get_for_all(
    registry_server: RegistryServer,
) -> None:
    registry_server.fail(BULK_PATH, "bad_bulk", mode=BadBulk.SHAPE)
    keys = [*keys_of(SAMPLE_RECORDS), MISSING]

    assert comparable(fast_registry(registry_server.url).lookup(keys)) == sample_expectation()
    expected_paths = [version_path(k.node_id, k.version) for k in keys]
    assert sorted(registry_server.paths("GET")) == sorted(expected_paths)


@pytest.mark.parametrize("status", [404, 405, 501])
def test_without_a_bulk_route_every_pair_is_asked_with_get(
    make_registry_server: MakeServer, status: int
) -> None:
    server = make_registry_server(bulk=False, no_bulk_status=status)
    registry = fast_registry(server.url, chunk_size=3, concurrency=1)
    keys = [*keys_of(SAMPLE_RECORDS), MISSING]

    assert comparable(registry.lookup(keys)) == sample_expectation()
    # The first chunk finds the route missing; later chunks, and later lookups, skip it.
    assert server.paths("POST") == [BULK_PATH]
    assert server.paths("GET") == [version_path(k.node_id, k.version) for k in keys]
    server.clear_log()
    assert comparable(registry.lookup(keys[:1])) == {keys[0]: found(KJNODES)}
    assert server.paths() == [version_path(keys[0].node_id, keys[0].version)]


def test_a_refused_bulk_request_falls_back_without_being_remembered(
    registry_server: RegistryServer,
) -> None:
    registry_server.fail(BULK_PATH, "status", status=400)
    registry = fast_registry(registry_server.url)

    assert comparable(registry.lookup(keys_of([KJNODES]))) == {
        keys_of([KJNODES])[0]: found(KJNODES)
    }
    assert registry_server.paths() == [BULK_PATH, version_path("comfyui-kjnodes", "1.1.9")]
    registry.lookup(keys_of([KJNODES]))
    assert registry_server.paths()[2:] == [BULK_PATH]


def test_a_bulk_record_that_is_not_a_node_version_is_invalid(
    registry_server: RegistryServer,
) -> None:
    registry_server.answer_with("broken", "1.0.0", ["not", "a", "record"])
    key = NodeKey("broken", "1.0.0")
    assert fast_registry(registry_server.url).lookup([key]) == {
        key: Invalid("not a JSON object (got an array)")
    }
    assert registry_server.paths() == [BULK_PATH]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([], Invalid("not a JSON object (got an array)")),
        (
            {"node_id": 5, "version": "1.0.0"},
            Invalid("node_id is a number, not a non-empty string"),
        ),
        (
            node_version_record("someone-else", "1.0.0"),
            Invalid("the registry answered with someone-else@1.0.0 when asked for pack@1.0.0"),
        ),
        (
            node_version_record("pack", "2.0.0"),
            Invalid("the registry answered with pack@2.0.0 when asked for pack@1.0.0"),
        ),
        ({"status": "banned", "version": "1.0.0"}, Invalid("no node_id")),
        ({"error": "rate limited"}, Invalid("no node_id")),
        (
            {"node_id": "pack", "version": "1.0.0", "status": "banned"},
            NodeVersion("pack", "1.0.0", status="NodeVersionStatusBanned"),
        ),
        (
            {"node_id": "PACK", "version": "1.0.0", "supported_os": "Linux"},
            NodeVersion("PACK", "1.0.0", invalid_fields=("supported_os",)),
        ),
    ],
    ids=[
        "array",
        "bad-id",
        "other-node",
        "other-version",
        "no-identity",
        "error-object",
        "internal-status",
        "bad-field",
    ],
)
def test_get_answers_are_parsed_tolerantly(
    make_registry_server: MakeServer, payload: object, expected: object
) -> None:
    server = make_registry_server(bulk=False)
    server.answer_with("pack", "1.0.0", payload)
    key = NodeKey("pack", "1.0.0")

    result = comparable(fast_registry(server.url).lookup([key]))[key]

    assert result == (Found(expected) if isinstance(expected, NodeVersion) else expected)


def test_ids_and_versions_are_quoted_as_one_segment(make_registry_server: MakeServer) -> None:
    record = node_version_record("Comfy.UI_x-1", "1.0.0+cu121")
    server = make_registry_server([record], bulk=False)
    key = keys_of([record])[0]

    assert comparable(fast_registry(server.url).lookup([key])) == {key: found(record)}
    assert server.paths("GET") == ["/nodes/Comfy.UI_x-1/versions/1.0.0%2Bcu121"]
    assert server.requests[-1].segments == ["nodes", "Comfy.UI_x-1", "versions", "1.0.0+cu121"]


@pytest.mark.parametrize(
    "key",
    [
        NodeKey("..", "1.0.0"),
        NodeKey("../admin", "1.0.0"),
        NodeKey("a/b", "1.0.0"),
        NodeKey("pack", "../../install"),
        NodeKey("pack", "1.0?x=1"),
        NodeKey("", "1.0.0"),
    ],
    ids=str,
)
def test_unsafe_keys_are_never_sent(make_registry_server: MakeServer, key: NodeKey) -> None:
    server = make_registry_server(bulk=False)
    results = fast_registry(server.url).lookup([key, keys_of([KJNODES])[0]])
    assert results[key] == Failed("not looked up: the id or version is not safe to put in a URL")
    assert server.paths() == [BULK_PATH, version_path("comfyui-kjnodes", "1.1.9")]


def test_every_request_names_the_tool(make_registry_server: MakeServer) -> None:
    server = make_registry_server(error_pairs=[("comfyui-kjnodes", "1.1.9")])
    fast_registry(server.url).lookup(keys_of(SAMPLE_RECORDS))
    assert len(server.requests) == 2
    assert {r.headers["User-Agent"] for r in server.requests} == {audit.USER_AGENT}
    assert audit.USER_AGENT.startswith("comfy-audit/")

    fast_registry(server.url, user_agent="fleet-bot/2").lookup(keys_of([KJNODES]))
    assert server.requests[-1].headers["User-Agent"] == "fleet-bot/2"


def test_requests_only_go_to_the_two_routes(make_registry_server: MakeServer) -> None:
    server = make_registry_server(bulk=False)
    server.fail(version_path("comfyui-kjnodes", "1.1.9"), "status", times=2)
    fast_registry(server.url).lookup([*keys_of(SAMPLE_RECORDS), MISSING])
    assert server.paths()
    assert all(ALLOWED_PATH.fullmatch(path) for path in server.paths())
    assert not any("install" in path for path in server.paths())


def test_a_base_url_with_a_path_prefix(make_registry_server: MakeServer) -> None:
    server = make_registry_server()
    registry = fast_registry(server.url + "/registry/")
    assert registry.base_url == server.url + "/registry"
    assert registry.lookup([MISSING]) == {MISSING: NotFound()}
    assert server.paths() == [
        "/registry" + p for p in (BULK_PATH, version_path(*MISSING.normalized))
    ]


@pytest.mark.parametrize(
    "options",
    [
        {"chunk_size": 0},
        {"concurrency": 0},
        {"retries": -1},
        {"timeout": 0},
        {"max_response_bytes": 0},
    ],
)
def test_nonsense_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        HttpRegistry("https://api.comfy.org", **options)


def test_a_base_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="must be http"):
        HttpRegistry("ftp://api.comfy.org")

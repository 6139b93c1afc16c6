"""Tests of Node records: parsing, the bulk list route with its fallback and faults, the cache,
offline runs and mirror files."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import MirrorError
from audit.model import Failed, Invalid, NodeAnswer, NodeKey, NotFound, RegistryNode
from audit.registry import (
    DEFAULT_MAX_AGE,
    CachingRegistry,
    MirrorRegistry,
    OfflineRegistry,
    RegistryCache,
    parse_node,
)
from audit.registry.nodes import NO_LIST_ROUTE
from tests.registry.support import FakeClock, fast_registry
from tests.registry_nodes import node_record
from tests.registry_server import RegistryServer, node_version_record

MakeServer = Callable[..., RegistryServer]

#: A banned node whose versions are Active, a node of a banned publisher, a deleted node, a
#: clean one, and one the list route leaves out.
NODES = [
    node_record("banned-pack", status="NodeStatusBanned"),
    node_record("evil-utils", publisher_id="evil", publisher_status="PublisherStatusBanned"),
    node_record("removed-pack", status="NodeStatusDeleted", latest_version=None),
    node_record("comfyui-kjnodes", latest_version="1.1.9"),
    node_record("Hidden-Pack", status=""),
]
VERSIONS = [node_version_record("banned-pack", "0.9.0")]
IDS = ["banned-pack", "evil-utils", "removed-pack", "comfyui-kjnodes", "hidden-pack", "no-such"]


def comparable(answers: Mapping[str, NodeAnswer]) -> dict[str, NodeAnswer]:
    """``answers`` without fetch times and cache hits, which differ from run to run."""
    return {
        node_id: dataclasses.replace(a, fetched_at=None, cache_hit=False)
        if isinstance(a, RegistryNode | NotFound)
        else a
        for node_id, a in answers.items()
    }


EXPECTED: dict[str, NodeAnswer] = {
    "banned-pack": RegistryNode("banned-pack", "NodeStatusBanned", "test-publisher",
                                "PublisherStatusActive", "1.0.0"),
    "evil-utils": RegistryNode("evil-utils", "NodeStatusActive", "evil", "PublisherStatusBanned",
                               "1.0.0"),
    "removed-pack": RegistryNode("removed-pack", "NodeStatusDeleted", "test-publisher",
                                 "PublisherStatusActive", None),
    "comfyui-kjnodes": RegistryNode("comfyui-kjnodes", "NodeStatusActive", "test-publisher",
                                    "PublisherStatusActive", "1.1.9"),
    "hidden-pack": RegistryNode("Hidden-Pack", None, "test-publisher", "PublisherStatusActive",
                                "1.0.0"),
    "no-such": NotFound("the registry has none (HTTP 404)"),
}  # fmt: skip


@pytest.fixture
def server(make_registry_server: MakeServer) -> RegistryServer:
    return make_registry_server(VERSIONS, nodes=NODES, omitted_nodes=["hidden-pack"])


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"id": "a"}, RegistryNode("a")),
        ({"id": "a", "status": "", "publisher": None, "latest_version": None}, RegistryNode("a")),
        (
            {"id": "a", "publisher": {"id": "p", "status": ""}},
            RegistryNode("a", publisher_id="p"),
        ),
        (
            {"id": "a", "status": 3, "publisher": "evil", "latest_version": {"version": 2}},
            RegistryNode("a", invalid_fields=("publisher", "status", "latest_version.version")),
        ),
        ({"status": "NodeStatusBanned"}, Invalid("a Node must have a string id")),
        ([], Invalid("a Node must be a JSON object, not list")),
    ],
    ids=["bare", "nulls", "empty-status", "wrong-types", "no-id", "not-an-object"],
)
def test_parse_node(payload: object, expected: RegistryNode | Invalid) -> None:
    assert parse_node(payload) == expected


def test_one_list_request_answers_every_id_and_the_omitted_one_is_asked_alone(
    server: RegistryServer,
) -> None:
    answers = fast_registry(server.url).lookup_nodes(IDS)
    assert comparable(answers) == EXPECTED
    assert sorted(server.paths()) == ["/nodes", "/nodes/hidden-pack", "/nodes/no-such"]
    (listing,) = [r for r in server.requests if r.path == "/nodes"]
    assert listing.query == {
        "node_id": IDS,
        "include_banned": ["true"],
        "limit": ["6"],
    }


def test_ids_compare_case_insensitively_and_each_spelling_is_answered(
    server: RegistryServer,
) -> None:
    answers = fast_registry(server.url).lookup_nodes(["Banned-Pack", "banned-pack"])
    assert list(answers) == ["Banned-Pack", "banned-pack"]
    assert comparable(answers)["Banned-Pack"] == EXPECTED["banned-pack"]
    assert server.requests[0].query["node_id"] == ["Banned-Pack"]


def test_300_ids_take_3_list_requests(make_registry_server: MakeServer) -> None:
    ids = [f"pack-{i:03d}" for i in range(300)]
    server = make_registry_server([], nodes=[node_record(i) for i in ids])
    answers = fast_registry(server.url).lookup_nodes(ids)
    assert all(isinstance(a, RegistryNode) for a in answers.values())
    assert server.paths() == ["/nodes"] * 3
    assert sorted(len(r.query["node_id"]) for r in server.requests) == [100, 100, 100]


def test_a_registry_without_the_list_route_leaves_every_pack_without_a_record(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(VERSIONS)  # predates Node routes: 404
    answers = fast_registry(server.url, concurrency=1).lookup_nodes([f"p{i}" for i in range(150)])
    assert set(comparable(answers).values()) == {NotFound(NO_LIST_ROUTE)}
    assert server.paths() == ["/nodes"]  # the second chunk is not asked


@pytest.mark.parametrize("kind", ["status", "reset", "truncated", "html"])
def test_transient_faults_on_the_list_route_are_retried(server: RegistryServer, kind: str) -> None:
    server.fail("/nodes", kind, times=2)
    answers = fast_registry(server.url, retries=2).lookup_nodes(IDS)
    assert comparable(answers) == EXPECTED
    assert server.paths().count("/nodes") == 3


def test_a_list_that_fails_after_retries_fails_its_ids(server: RegistryServer) -> None:
    server.fail("/nodes", "status", times=3, status=500)
    answers = fast_registry(server.url, retries=2).lookup_nodes(["banned-pack", "evil-utils"])
    assert answers == dict.fromkeys(
        ["banned-pack", "evil-utils"], Failed("HTTP 500 after 3 attempts")
    )


def test_a_list_answer_of_the_wrong_shape_is_invalid(server: RegistryServer) -> None:
    server.fail("/nodes", "bad_bulk", mode="shape")
    answers = fast_registry(server.url).lookup_nodes(["banned-pack"])
    assert answers == {"banned-pack": Invalid("the node list answer holds no nodes array")}


def test_a_record_for_another_node_is_invalid(server: RegistryServer) -> None:
    server.nodes.omitted.add("banned-pack")  # type: ignore[union-attr]
    server.fail("/nodes/banned-pack", "redirect", location="/nodes/evil-utils")
    answers = fast_registry(server.url).lookup_nodes(["banned-pack"])
    assert answers == {"banned-pack": Invalid("the registry answered with node 'evil-utils'")}


def test_unsafe_ids_are_never_sent(server: RegistryServer) -> None:
    answers = fast_registry(server.url).lookup_nodes(["../etc", "banned-pack"])
    assert answers["../etc"] == Failed("not looked up: the id is not safe to put in a URL")
    assert [r.query["node_id"] for r in server.requests] == [["banned-pack"]]


def test_the_cache_answers_a_warm_lookup_without_a_request(
    server: RegistryServer, cache_dir: Path
) -> None:
    clock = FakeClock()
    online = CachingRegistry(fast_registry(server.url), RegistryCache(cache_dir), clock=clock)
    cold = online.lookup_nodes(IDS)
    server.clear_log()
    warm = online.lookup_nodes(IDS)
    assert server.paths() == []
    assert comparable(warm) == comparable(cold) | {
        "no-such": NotFound("the registry had none (cached)")
    }
    assert all(a.cache_hit for a in warm.values() if isinstance(a, RegistryNode | NotFound))


def test_expired_answers_are_asked_again(server: RegistryServer, cache_dir: Path) -> None:
    clock = FakeClock()
    online = CachingRegistry(fast_registry(server.url), RegistryCache(cache_dir), clock=clock)
    online.lookup_nodes(["banned-pack"])
    clock.advance(DEFAULT_MAX_AGE + timedelta(seconds=1))
    server.clear_log()
    online.lookup_nodes(["banned-pack"])
    assert server.paths() == ["/nodes"]


def test_failures_are_not_cached(server: RegistryServer, cache_dir: Path) -> None:
    server.fail("/nodes", "status", times=3, status=500)
    online = CachingRegistry(
        fast_registry(server.url, retries=2), RegistryCache(cache_dir), clock=FakeClock()
    )
    assert isinstance(online.lookup_nodes(["banned-pack"])["banned-pack"], Failed)
    answers = online.lookup_nodes(["banned-pack"])
    assert comparable(answers) == {"banned-pack": EXPECTED["banned-pack"]}


def test_offline_answers_from_the_cache_alone(server: RegistryServer, cache_dir: Path) -> None:
    online = CachingRegistry(fast_registry(server.url), RegistryCache(cache_dir))
    online.lookup([NodeKey("banned-pack", "0.9.0")])  # the cache must hold something
    online.lookup_nodes(["banned-pack"])
    url = server.url
    server.stop()
    offline = OfflineRegistry(RegistryCache(cache_dir), url)
    answers = offline.lookup_nodes(["BANNED-pack", "evil-utils"])
    assert comparable(answers) == {
        "BANNED-pack": EXPECTED["banned-pack"],
        "evil-utils": NotFound("not in the cache (offline)"),
    }
    assert offline.oldest_fetched_at is not None


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_mirror_with_node_lines_answers_them(tmp_path: Path) -> None:
    node = {
        **node_record("banned-pack", status="NodeStatusBanned"),
        "fetched_at": "2026-01-02T03:04:05+00:00",
    }
    mirror = MirrorRegistry.from_file(_write(tmp_path / "m.jsonl", [*VERSIONS, {"node": node}]))
    answers = mirror.lookup_nodes(["Banned-Pack", "other"])
    assert comparable(answers) == {
        "Banned-Pack": EXPECTED["banned-pack"],
        "other": NotFound("not in the mirror file m.jsonl"),
    }
    found = answers["Banned-Pack"]
    assert isinstance(found, RegistryNode)
    assert (
        found.fetched_at is not None and found.fetched_at.isoformat() == "2026-01-02T03:04:05+00:00"
    )


def test_an_old_mirror_says_pack_level_checks_were_not_run(tmp_path: Path) -> None:
    mirror = MirrorRegistry.from_file(_write(tmp_path / "old.jsonl", VERSIONS))
    reason = "the mirror file old.jsonl holds none (written before pack-level checks)"
    assert mirror.lookup_nodes(["banned-pack"]) == {"banned-pack": NotFound(reason)}


def test_a_broken_node_line_names_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.jsonl", [*VERSIONS, {"node": {"status": "NodeStatusBanned"}}])
    with pytest.raises(MirrorError, match=r"m\.jsonl:2: a Node must have a string id"):
        MirrorRegistry.from_file(path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NODE_KEYS = st.sampled_from(
    ["id", "status", "publisher", "latest_version", "version", "fetched_at"]
)


@settings(deadline=None)
@given(st.dictionaries(NODE_KEYS, JSON | st.dictionaries(NODE_KEYS, JSON, max_size=3)))
def test_parse_node_never_raises_and_keeps_strings_only(payload: dict[str, Any]) -> None:
    parsed = parse_node(payload)
    if isinstance(parsed, RegistryNode):
        texts = (parsed.status, parsed.publisher_id, parsed.publisher_status, parsed.latest_version)
        assert all(t is None or (isinstance(t, str) and t.strip()) for t in texts)
    else:
        assert not (isinstance(payload.get("id"), str) and payload["id"])

"""Tests of the loopback registry server itself, which many other tests and benchmarks rely on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.registry_nodes import node_record
from tests.registry_server import (
    BULK_PATH,
    SAMPLE_RECORDS,
    RegistryServer,
    node_version_record,
    version_path,
)

MakeServer = Callable[..., RegistryServer]


def get(server: RegistryServer, path: str, **params: Any) -> requests.Response:
    return requests.get(server.url + path, params=params, timeout=10)


def post(server: RegistryServer, body: object) -> requests.Response:
    return requests.post(server.url + BULK_PATH, json=body, timeout=10)


def test_a_version_is_served_with_a_case_insensitive_id(registry_server: RegistryServer) -> None:
    answer = get(registry_server, "/nodes/COMFYUI-KJNODES/versions/1.1.9")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.json() == SAMPLE_RECORDS[0]


def test_an_absent_version_is_a_json_404(registry_server: RegistryServer) -> None:
    answer = get(registry_server, "/nodes/comfyui-kjnodes/versions/0.0.1")
    assert answer.status_code == 404
    assert answer.json()["message"] == "Node version not found"


def test_the_versions_of_a_node_are_a_plain_array(registry_server: RegistryServer) -> None:
    answer = get(registry_server, "/nodes/comfyui-kjnodes/versions")
    assert answer.json() == [SAMPLE_RECORDS[0], SAMPLE_RECORDS[1]]
    flagged = get(
        registry_server, "/nodes/comfyui-hibiki/versions", statuses="NodeVersionStatusActive"
    )
    assert flagged.status_code == 404
    assert get(registry_server, "/nodes/nobody/versions").status_code == 404


def test_the_global_version_list_is_paginated(make_registry_server: MakeServer) -> None:
    records = [node_version_record(f"pack-{i}", "1.0.0") for i in range(25)]
    server = make_registry_server(records)

    page = get(server, "/versions", page=3, pageSize=10).json()

    assert page == {
        "total": 25,
        "versions": records[20:],
        "page": 3,
        "pageSize": 10,
        "totalPages": 3,
    }
    assert get(server, "/versions").json()["versions"] == records[:10]
    assert get(server, "/versions", nodeId="PACK-7").json()["versions"] == [records[7]]


@pytest.mark.parametrize("params", [{"pageSize": 101}, {"pageSize": 0}, {"page": 0}, {"page": "x"}])
def test_bad_pages_are_400(registry_server: RegistryServer, params: dict[str, Any]) -> None:
    answer = get(registry_server, "/versions", **params)
    assert answer.status_code == 400
    assert "message" in answer.json()


def test_the_bulk_route_answers_each_pair(make_registry_server: MakeServer) -> None:
    server = make_registry_server(error_pairs=[("banned-pack", "0.9.0")])
    asked = [
        {"node_id": "ComfyUI-KJNodes", "version": "1.1.9"},
        {"node_id": "banned-pack", "version": "0.9.0"},
        {"node_id": "nobody", "version": "1.0.0"},
    ]

    answer = post(server, {"node_versions": asked}).json()

    assert answer == {
        "node_versions": [
            {
                "identifier": {"node_id": "comfyui-kjnodes", "version": "1.1.9"},
                "status": "success",
                "node_version": SAMPLE_RECORDS[0],
            },
            {"identifier": asked[1], "status": "error", "error_message": "internal error"},
            {"identifier": asked[2], "status": "not_found"},
        ]
    }


@pytest.mark.parametrize("body", [{}, {"node_versions": [{"node_id": 1}]}, "not json"])
def test_a_bad_bulk_request_is_400(registry_server: RegistryServer, body: object) -> None:
    assert post(registry_server, body).status_code == 400


def test_without_the_bulk_route(make_registry_server: MakeServer) -> None:
    assert post(make_registry_server(bulk=False), {"node_versions": []}).status_code == 404
    assert post(make_registry_server(bulk=False, no_bulk_status=405), {}).status_code == 405


def test_unknown_routes_are_404(registry_server: RegistryServer) -> None:
    assert get(registry_server, "/nodes/comfyui-kjnodes/install").status_code == 404
    assert get(registry_server, "/nodes/comfyui-kjnodes/versions/1.1.9/").status_code == 404


def test_a_fault_hits_the_next_n_requests_then_stops(registry_server: RegistryServer) -> None:
    path = version_path("comfyui-kjnodes", "1.1.9")
    registry_server.fail(path, "status", times=2, status=503, retry_after=7)
    registry_server.fail(path, "html")

    answers = [get(registry_server, path) for _ in range(4)]

    assert [a.status_code for a in answers] == [503, 503, 200, 200]
    assert answers[0].headers["Retry-After"] == "7"
    assert answers[2].headers["Content-Type"].startswith("text/html")
    assert answers[3].json() == SAMPLE_RECORDS[0]
    assert get(registry_server, version_path("banned-pack", "0.9.0")).status_code == 200


def test_a_fault_path_may_be_given_decoded(make_registry_server: MakeServer) -> None:
    server = make_registry_server([node_version_record("pack", "1.0+cu121")])
    server.fail("/nodes/pack/versions/1.0+cu121", "status", status=500)
    assert get(server, "/nodes/pack/versions/1.0%2Bcu121").status_code == 500


def test_reset_and_truncated_break_the_connection(registry_server: RegistryServer) -> None:
    path = version_path("comfyui-kjnodes", "1.1.9")
    registry_server.fail(path, "reset")
    registry_server.fail(path, "truncated")
    with pytest.raises(requests.ConnectionError):
        get(registry_server, path)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get(registry_server, path).json()
    assert get(registry_server, path).status_code == 200


def test_the_log_keeps_method_path_query_body_and_headers(registry_server: RegistryServer) -> None:
    get(registry_server, "/versions", page=2)
    post(registry_server, {"node_versions": []})

    first, second = registry_server.requests
    assert (first.method, first.path, first.query, first.body) == (
        "GET",
        "/versions",
        {"page": ["2"]},
        None,
    )
    assert (second.method, second.path, second.body) == ("POST", BULK_PATH, {"node_versions": []})
    assert second.headers["Content-Type"] == "application/json"
    assert registry_server.paths("POST") == [BULK_PATH]
    registry_server.clear_log()
    assert registry_server.requests == []


def test_latency_delays_answers_but_not_the_log(make_registry_server: MakeServer) -> None:
    server = make_registry_server(latency=0.01)
    assert get(server, version_path("comfyui-kjnodes", "1.1.9")).status_code == 200
    assert len(server.requests) == 1


def test_a_stopped_server_frees_its_port() -> None:
    server = RegistryServer(SAMPLE_RECORDS)
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018
    with server:
        url = server.url
        assert url.startswith("http://127.0.0.1:")
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/versions", timeout=10)
    server.stop()  # stopping twice is harmless


def test_a_record_needs_an_identity() -> None:
    with pytest.raises(ValueError, match="node_id and version"):
        RegistryServer([{"version": "1.0.0"}])


def test_node_routes_exist_only_with_nodes(make_registry_server: MakeServer) -> None:
    without = make_registry_server()
    assert get(without, "/nodes", node_id="a").status_code == 404
    assert get(without, "/nodes/a").status_code == 404
    nodes = [
        node_record("Banned-Pack", status="NodeStatusBanned"),
        node_record("hidden"),
        *(node_record(f"p{i}") for i in range(3)),
    ]
    server = make_registry_server(nodes=nodes, omitted_nodes=["HIDDEN"])
    listed = get(server, "/nodes", node_id=["banned-pack", "hidden", "p0"], limit="10").json()
    assert [n["id"] for n in listed["nodes"]] == ["Banned-Pack", "p0"]
    assert (listed["total"], listed["page"], listed["totalPages"]) == (2, 1, 1)
    safe = get(server, "/nodes", node_id=["banned-pack", "p0"], include_banned="false").json()
    assert [n["id"] for n in safe["nodes"]] == ["p0"]
    second = get(server, "/nodes", page="2", limit="2").json()
    assert ([n["id"] for n in second["nodes"]], second["totalPages"]) == (["p1", "p2"], 2)
    assert get(server, "/nodes/HIDDEN").json()["id"] == "hidden"
    assert get(server, "/nodes/nothing").status_code == 404
    assert get(server, "/nodes", page="x").status_code == 400

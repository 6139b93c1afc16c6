"""Packs settled by their newest Active version (the Node's ``latest_version``): no version list
for them, and the same recommendations as the full lists give."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, cast

import pytest

from audit.advisor import CandidateJudge, Recommendation, recommend
from audit.model import AuditRun, Environment, Manifest, ManifestEntry, NodeVersion
from audit.pipeline import AuditOptions, Auditor
from audit.registry import MirrorRegistry
from tests.advisor.support import ENV, entry, record
from tests.registry.support import fast_registry
from tests.registry_nodes import node_record
from tests.registry_server import BULK_PATH, RegistryServer

MakeServer = Callable[..., RegistryServer]

TO_040 = replace(ENV, target_comfyui="0.4.0")
RECORDS = [
    # The newest Active version fits: settled by it.
    record("comfyui-easy", "1.0.0", status="NodeVersionStatusFlagged"),
    record("comfyui-easy", "2.0.0"),
    # The newest Active version is deprecated: the next one down is the answer.
    record("comfyui-stale", "1.0.0", tags_admin=["any-code-execute"]),
    record("comfyui-stale", "1.1.0"),
    record("comfyui-stale", "1.2.0", deprecated=True),
    # The newest Active version needs an older ComfyUI than the target: an older one fits.
    record("comfyui-blocked", "1.0.0", status="NodeVersionStatusFlagged"),
    record("comfyui-blocked", "1.1.0"),
    record("comfyui-blocked", "2.0.0", supported_comfyui_version="<0.4.0"),
    # The Node names 1.9.0 (the registry once sorted versions as text), but another host runs
    # 1.10.0, which is Active: only the full list can say which comes first.
    record("comfyui-text", "1.0.0", status="NodeVersionStatusFlagged"),
    record("comfyui-text", "1.9.0"),
    record("comfyui-text", "1.10.0"),
    # The newest Active version is a pre-release: a candidate only when pre-releases are allowed.
    record("comfyui-beta", "1.0.0", status="NodeVersionStatusFlagged"),
    record("comfyui-beta", "1.1.0"),
    record("comfyui-beta", "1.2.0-beta.1"),
    # Its Node names no Active version: settled without a list.
    record("comfyui-none", "1.0.0", status="NodeVersionStatusFlagged"),
    record("comfyui-none", "0.9.0", status="NodeVersionStatusBanned"),
    # Its Node names none either, but another host runs an Active version: it is listed.
    record("comfyui-odd", "1.0.0", status="NodeVersionStatusFlagged"),
    record("comfyui-odd", "1.1.0"),
]
NODES = [
    node_record("comfyui-easy", latest_version="2.0.0"),
    node_record("comfyui-stale", latest_version="1.2.0"),
    node_record("comfyui-blocked", latest_version="2.0.0"),
    node_record("comfyui-text", latest_version="1.9.0"),
    node_record("comfyui-beta", latest_version="1.2.0-beta.1"),
    node_record("comfyui-none", latest_version=None),
    node_record("comfyui-odd", latest_version=None),
]
FLEET = {
    "gpu-01": [
        ("comfyui-easy", "1.0.0"),
        ("comfyui-stale", "1.0.0"),
        ("comfyui-blocked", "1.0.0"),
        ("comfyui-text", "1.0.0"),
        ("comfyui-beta", "1.0.0"),
        ("comfyui-none", "1.0.0"),
        ("comfyui-odd", "1.0.0"),
    ],
    "gpu-02": [("comfyui-easy", "1.0.0"), ("comfyui-text", "1.10.0"), ("comfyui-odd", "1.1.0")],
}
ADVICE = (
    ("gpu-01", "comfyui-easy", "2.0.0"),
    ("gpu-01", "comfyui-stale", "1.1.0"),
    ("gpu-01", "comfyui-blocked", "1.1.0"),
    ("gpu-01", "comfyui-text", "1.10.0"),
    ("gpu-01", "comfyui-beta", "1.1.0"),
    ("gpu-01", "comfyui-none", None),
    ("gpu-01", "comfyui-odd", "1.1.0"),
    ("gpu-02", "comfyui-easy", "2.0.0"),
)
LISTED = [
    "/nodes/comfyui-beta/versions",
    "/nodes/comfyui-blocked/versions",
    "/nodes/comfyui-odd/versions",
    "/nodes/comfyui-stale/versions",
    "/nodes/comfyui-text/versions",
]


def manifests(fleet: dict[str, list[tuple[str, str]]]) -> list[Manifest]:
    def entries(host: str) -> tuple[ManifestEntry, ...]:
        return tuple(entry(node_id, version, host=host) for node_id, version in fleet[host])

    return [Manifest(f"{h}.txt", h, "text", entries(h), pips={}) for h in fleet]


def audit(server: RegistryServer, **options: Any) -> AuditRun:
    registry = fast_registry(server.url)
    auditor = Auditor(registry, AuditOptions(**options), lister=registry, nodes=registry)
    return auditor.run(manifests(FLEET), TO_040, {})


def advice(recommendations: Sequence[Recommendation]) -> tuple[tuple[str, str, str | None], ...]:
    return tuple((r.host, r.node_id, r.recommended_version) for r in recommendations)


def full_lists(server: RegistryServer, run: AuditRun, **options: Any) -> tuple[Recommendation, ...]:
    """The recommendations from every pack's full version list, as before the cut."""
    return recommend(fast_registry(server.url), run.entries, run.host_environments, **options)


def list_gets(server: RegistryServer) -> list[str]:
    return sorted(p for p in server.paths("GET") if p.endswith("/versions"))


def test_only_the_packs_their_newest_version_does_not_settle_are_listed(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS, nodes=NODES)

    run = audit(server)

    assert advice(run.recommendations) == ADVICE
    assert run.recommendations[5].blocked_by == ("no Active version",)
    assert list_gets(server) == LISTED
    # The installed versions, then the newest versions the run did not hold yet.
    assert server.paths("POST") == [BULK_PATH, BULK_PATH]
    assert full_lists(server, run) == run.recommendations


def test_pre_releases_allowed(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS, nodes=NODES)

    run = audit(server, allow_prerelease=True)

    assert advice(run.recommendations)[4] == ("gpu-01", "comfyui-beta", "1.2.0-beta.1")
    assert "/nodes/comfyui-beta/versions" not in list_gets(server)
    assert full_lists(server, run, allow_prerelease=True) == run.recommendations


def test_without_node_records_every_pack_is_listed(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)

    run = audit(server)

    assert advice(run.recommendations) == ADVICE
    listed = [*LISTED, "/nodes/comfyui-easy/versions", "/nodes/comfyui-none/versions"]
    assert list_gets(server) == sorted(listed)


@pytest.mark.parametrize("installed", ["1.0.0", "2.0.0"])
def test_a_newest_version_that_fails_on_one_host_lists_the_pack(
    make_registry_server: MakeServer, installed: str
) -> None:
    # NOTE: on gpu-02 the newest version is no use (its ComfyUI is too old for it).
    records = [
        record("comfyui-easy", "1.0.0", status="NodeVersionStatusFlagged"),
        record("comfyui-easy", "1.5.0"),
        record("comfyui-easy", "2.0.0", supported_comfyui_version=">=0.3.0"),
    ]
    server = make_registry_server(records, nodes=NODES[:1])
    registry = fast_registry(server.url)
    old = Environment(os="linux", accelerators=frozenset({"cuda"}), comfyui_version="0.2.0")
    fleet = manifests(
        {"gpu-01": [("comfyui-easy", installed)], "gpu-02": [("comfyui-easy", "1.0.0")]}
    )
    profiles = {"gpu-02.txt": replace(old, installed={})}
    auditor = Auditor(registry, AuditOptions(), lister=registry, nodes=registry)

    run = auditor.run(fleet, replace(ENV, installed={}), {}, profiles)

    expected = [("gpu-02", "comfyui-easy", "1.5.0")]
    if installed == "1.0.0":
        expected.insert(0, ("gpu-01", "comfyui-easy", "2.0.0"))
    assert list(advice(run.recommendations)) == expected
    assert list_gets(server) == ["/nodes/comfyui-easy/versions"]
    assert full_lists(server, run) == run.recommendations


def test_newest_versions_the_run_holds_are_judged_without_asking_for_them(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS, nodes=NODES)
    fleet = {**FLEET, "gpu-03": [("comfyui-easy", "2.0.0"), ("comfyui-blocked", "2.0.0")]}
    registry = fast_registry(server.url)
    auditor = Auditor(registry, AuditOptions(), lister=registry, nodes=registry)

    run = auditor.run(manifests(fleet), TO_040, {})

    (_, newest) = [request.body for request in server.requests if request.method == "POST"]
    assert isinstance(newest, dict)
    assert sorted(f"{i['node_id']}@{i['version']}" for i in newest["node_versions"]) == [
        "comfyui-beta@1.2.0-beta.1",
        "comfyui-stale@1.2.0",
        "comfyui-text@1.9.0",
    ]
    # easy's newest (held by gpu-03) settles it; blocked's (held too) fails, so it is listed.
    assert list_gets(server) == LISTED
    assert advice(run.recommendations)[-1] == ("gpu-03", "comfyui-blocked", "1.1.0")
    assert full_lists(server, run) == run.recommendations


def test_hosts_advised_in_parts_by_one_judge_get_the_advice_of_one_call(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS, nodes=NODES)
    run = audit(server)
    registry, judge = fast_registry(server.url), CandidateJudge(run.entries)

    def part(host: str) -> tuple[Recommendation, ...]:
        entries = [a for a in run.entries if a.entry.host == host]
        return recommend(registry, entries, run.host_environments, judge=judge)

    parts = [part(host) for host in FLEET]
    assert tuple(r for recommendations in parts for r in recommendations) == full_lists(server, run)


def test_a_lister_without_a_stream_gives_the_same_advice(
    make_registry_server: MakeServer,
) -> None:
    server = make_registry_server(RECORDS, nodes=NODES)
    run = audit(server)
    lists = fast_registry(server.url).list_versions_of(sorted({r["node_id"] for r in RECORDS}))
    listed = [cast("tuple[NodeVersion, ...]", listing) for listing in lists.values()]
    mirror = MirrorRegistry([version for listing in listed for version in listing])

    assert recommend(mirror, run.entries, run.host_environments) == full_lists(server, run)

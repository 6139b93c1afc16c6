"""The advisor end to end against the loopback registry, a cache, and offline through a mirror."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from audit.advisor import Recommendation, plan_commands, recommend, upgrade_verdict
from audit.model import AuditedEntry, EntrySource, NodeKey
from audit.registry import CachingRegistry, MirrorRegistry, Registry, RegistryCache, VersionLister
from tests.advisor.support import ENV, HOST, audit_entries, entry, record
from tests.registry.support import FakeClock, fast_registry
from tests.registry_server import RegistryServer

MakeServer = Callable[..., RegistryServer]

TO_040 = replace(ENV, target_comfyui="0.4.0")
RECORDS = [
    # The newest stable version is flagged, the next needs a newer ComfyUI than the target,
    # then a deprecated one, then one that fits; the newest of all is a pre-release.
    record("comfyui-foo", "1.0.0", status="NodeVersionStatusFlagged"),
    record("comfyui-foo", "1.10.0", status="NodeVersionStatusFlagged"),
    record("comfyui-foo", "1.9.0", supported_comfyui_version=">=0.5.0"),
    record("comfyui-foo", "1.8.0", deprecated=True),
    record("comfyui-foo", "1.2.0", supported_comfyui_version=">=0.3.0"),
    record("comfyui-foo", "1.11.0-beta.1"),
    # Every other version carries an admin tag.
    record("comfyui-tagged", "2.0.0", status="NodeVersionStatusBanned"),
    record("comfyui-tagged", "2.1.0", tags_admin=["any-code-execute"]),
    record("comfyui-tagged", "1.0.0", tags_admin=["any-code-execute"]),
    # No version supports ComfyUI 0.4.
    record("rgthree-comfy", "1.0.0", supported_comfyui_version="<0.4.0"),
    record("rgthree-comfy", "1.1.0", supported_comfyui_version="<0.4.0"),
    record("comfyui-clean", "3.0.0"),
]
ENTRIES = [
    entry("comfyui-foo", "1.0.0"),
    entry("comfyui-tagged", "2.0.0"),
    entry("rgthree-comfy", "1.0.0"),
    entry("comfyui-clean", "3.0.0"),
    entry("my-node", "0123abc", source=EntrySource.GIT, url="https://github.com/me/my-node"),
]
EXPECTED = (
    Recommendation(HOST, "comfyui-foo", "1.0.0", "1.2.0", ("status.flagged",), ()),
    Recommendation(
        HOST,
        "comfyui-tagged",
        "2.0.0",
        None,
        (),
        ("every Active version carries tags_admin any-code-execute",),
    ),
    Recommendation(
        HOST,
        "rgthree-comfy",
        "1.0.0",
        None,
        (),
        ("every Active version requires ComfyUI <0.4.0",),
    ),
)
AFFECTED = [
    "/nodes/comfyui-foo/versions",
    "/nodes/comfyui-tagged/versions",
    "/nodes/rgthree-comfy/versions",
]


def audited_with(registry: Registry) -> list[AuditedEntry]:
    keys = [e.key for e in ENTRIES if e.key is not None]
    return audit_entries(ENTRIES, registry.lookup(keys), {HOST: TO_040})


def advise_with(
    registry: Any, audited: Sequence[AuditedEntry] | None = None, *, allow_prerelease: bool = False
) -> tuple[Recommendation, ...]:
    lister: VersionLister = registry
    entries = audited if audited is not None else audited_with(registry)
    return recommend(lister, entries, {HOST: TO_040}, allow_prerelease=allow_prerelease)


def list_gets(server: RegistryServer) -> list[str]:
    return sorted(p for p in server.paths("GET") if p.endswith("/versions"))


def test_a_pre_upgrade_plan(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    registry = fast_registry(server.url)
    audited = audited_with(registry)

    recommendations = advise_with(registry, audited)

    assert recommendations == EXPECTED
    assert list_gets(server) == AFFECTED  # one request per pack that needs advice, no more
    assert upgrade_verdict(audited, recommendations, TO_040) == (
        "blocked by these packs: rgthree-comfy@1.0.0"
    )
    assert plan_commands(recommendations) == [
        "comfy node install comfyui-foo@1.2.0",
        "# comfyui-tagged@2.0.0: no fitting version (every Active version carries tags_admin "
        "any-code-execute); to disable it: comfy node disable comfyui-tagged",
        "# rgthree-comfy@1.0.0: no fitting version (every Active version requires ComfyUI "
        "<0.4.0); to disable it: comfy node disable rgthree-comfy",
    ]


def test_pre_releases_when_asked(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    recommendations = advise_with(fast_registry(server.url), allow_prerelease=True)
    assert recommendations[0].recommended_version == "1.11.0-beta.1"


def test_a_second_listing_is_a_cache_hit(make_registry_server: MakeServer, tmp_path: Path) -> None:
    server = make_registry_server(RECORDS)

    def cached() -> CachingRegistry:
        return CachingRegistry(
            fast_registry(server.url), RegistryCache(tmp_path / "cache"), clock=FakeClock()
        )

    first = advise_with(cached())
    server.clear_log()
    second = advise_with(cached())

    assert first == second == EXPECTED
    assert server.requests == []


def test_offline_through_a_mirror_file(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    assert advise_with(MirrorRegistry.from_file(mirror)) == EXPECTED


def test_a_list_that_cannot_be_had(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    server.fail("/nodes/comfyui-foo/versions", "status", times=3, status=500)
    recommendations = advise_with(fast_registry(server.url, retries=2))
    (reason,) = recommendations[0].blocked_by
    assert reason.startswith("versions list unavailable: ") and "HTTP 500" in reason
    assert recommendations[1:] == EXPECTED[1:]


def test_a_clean_install_lists_nothing(make_registry_server: MakeServer) -> None:
    server = make_registry_server(RECORDS)
    registry = fast_registry(server.url)
    clean = [entry("comfyui-clean", "3.0.0")]
    audited = audit_entries(
        clean, registry.lookup([NodeKey("comfyui-clean", "3.0.0")]), {HOST: TO_040}
    )
    assert recommend(registry, audited, {HOST: TO_040}) == ()
    assert upgrade_verdict(audited, (), TO_040) == "upgrade is safe"
    assert list_gets(server) == []

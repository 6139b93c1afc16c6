"""The inputs stage without click: what a command audits, its environment and its sources."""

from __future__ import annotations

import json
import platform
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from audit.environment import profile_to_dict
from audit.errors import UsageError
from audit.inputs import DEFAULT_REGISTRY, Inputs, RegistrySettings, build_environment, host_name
from audit.mirroring import MirrorWritten, mirror_manifests
from audit.model import Environment

NO_VERSIONS = {
    "comfyui_version": None,
    "frontend_version": None,
    "target_comfyui": "0.4.0",
    "target_frontend": None,
}
SETTINGS = RegistrySettings(
    registry=DEFAULT_REGISTRY,
    cache_dir=None,
    no_cache=True,
    max_age=timedelta(hours=1),
    refresh=False,
    offline=False,
    timeout=10.0,
    retries=4,
    concurrency=8,
    chunk_size=100,
    ca_bundle=None,
    token_file=None,
    allow_insecure_http=False,
    vuln_db=None,
)


def fleet(tmp_path: Path) -> list[str]:
    """Two hosts' node lists, and the second host's own profile beside its list."""
    for host in ("render-01", "render-02"):
        (tmp_path / f"{host}.txt").write_text("comfyui-kjnodes@1.1.2\n")
    profile = profile_to_dict(Environment(os="windows", accelerators=frozenset({"cpu"})))
    (tmp_path / "render-02.env.json").write_text(json.dumps(profile))
    return sorted(str(p) for p in tmp_path.iterdir())


def read(paths: list[str], **flags: object) -> Inputs:
    options: dict[str, object] = {
        "manifest_format": "auto",
        "host": None,
        "comfyui_path": None,
        "python": None,
        "env_profile": None,
        "os_name": "linux",
        "accelerators": ("cuda",),
        "versions": NO_VERSIONS,
    }
    return Inputs.read(paths, **{**options, **flags})  # type: ignore[arg-type]


def test_a_fleet_folder_is_read_with_each_hosts_own_profile(tmp_path: Path) -> None:
    inputs = read(fleet(tmp_path))
    assert [(m.host, [e.node_id for e in m.entries]) for m in inputs.manifests] == [
        ("render-01", ["comfyui-kjnodes"]),
        ("render-02", ["comfyui-kjnodes"]),
    ]
    assert inputs.hosts == ["render-01", "render-02"]
    assert {Path(path).name: env.os for path, env in inputs.profiles.items()} == {
        "render-02.txt": "windows"
    }
    assert (inputs.environment.os, inputs.environment.target_comfyui) == ("linux", "0.4.0")
    assert inputs.installed_is_explicit is False
    assert inputs.comfyui is None
    assert inputs.recorded["manifests"] == [str(tmp_path / f"render-0{n}.txt") for n in (1, 2)]


@pytest.mark.parametrize("hosts", [1, 40])
def test_meanwhile_is_called_once_while_the_manifests_are_read(tmp_path: Path, hosts: int) -> None:
    # NOTE: 40 hosts are read in parts by a child, where the machine has a processor for one.
    for index in range(hosts):
        (tmp_path / f"render-{index:02d}.txt").write_text("comfyui-kjnodes@1.1.2\n")
    called: list[int] = []
    inputs = read(sorted(map(str, tmp_path.iterdir())), meanwhile=lambda: called.append(1))
    assert called == [1]
    assert inputs.hosts == [f"render-{index:02d}" for index in range(hosts)]


def test_a_profile_given_with_installed_packages_beats_the_snapshots_pips(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    environment = Environment(os="linux", installed={"torch": "2.5.1"})
    profile.write_text(json.dumps(profile_to_dict(environment)))
    (tmp_path / "render-01.txt").write_text("comfyui-kjnodes@1.1.2\n")
    inputs = read([str(tmp_path / "render-01.txt")], env_profile=str(profile))
    assert inputs.installed_is_explicit is True
    assert inputs.environment.installed == {"torch": "2.5.1"}


def test_flags_override_the_profile(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(profile_to_dict(Environment(os="windows"))))
    environment = build_environment(str(profile), None, None, "macos", ("metal",))
    assert (environment.os, environment.sources["os"]) == ("macos", "flag")
    assert environment.accelerators == frozenset({"metal", "cpu"})


def test_a_host_is_named_or_this_machine() -> None:
    assert host_name("render-01") == "render-01"
    assert host_name(None) == (platform.node() or "localhost")


@pytest.mark.parametrize(
    ("registry", "offline", "vuln_db"),
    [
        (DEFAULT_REGISTRY, False, "https://api.osv.dev"),
        (DEFAULT_REGISTRY, True, "none"),
        ("mirror.jsonl", False, "none"),
        ("https://registry.example", False, "none"),
    ],
)
def test_what_a_run_records_of_its_sources(registry: str, offline: bool, vuln_db: str) -> None:
    settings = replace(SETTINGS, registry=registry, offline=offline)
    assert settings.recorded() == {
        "registry": registry,
        "vuln_db": vuln_db,
        "offline": offline,
        "max_age_seconds": 3600.0,
    }


def test_a_mirror_is_written_only_from_a_registry(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("")
    settings = replace(SETTINGS, registry=str(mirror))
    with pytest.raises(UsageError, match=r"^mirror needs a registry URL, not a mirror file$"):
        mirror_manifests(settings, [], str(tmp_path / "out.jsonl"), with_versions=False)


def test_what_a_mirror_holds_is_said_in_one_line() -> None:
    written = MirrorWritten(records=5, found=3, wanted=4, version_lists=2, node_records=1, failed=1)
    assert written.describe("m.jsonl") == (
        "wrote 5 records to m.jsonl (3 of 4 node versions found, every version of 2 packs, "
        "1 Node records; 1 lookups failed)"
    )
    assert replace(written, version_lists=None, failed=0).describe("m.jsonl") == (
        "wrote 5 records to m.jsonl (3 of 4 node versions found, 1 Node records)"
    )


def test_nothing_to_audit_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^give one or more MANIFEST files, or --comfyui PATH$"):
        read([])

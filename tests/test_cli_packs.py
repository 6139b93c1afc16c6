"""End-to-end tests of the pack-level checks: bans of a pack or its publisher, removed packs,
nightly installs, outdated packs and import failures, over HTTP, from a cache and offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.registry_nodes import node_record
from tests.registry_server import BULK_PATH, RegistryServer, node_version_record

NIGHTLY_URL = "https://github.com/someone/ComfyUI-Banned-Nightly.git"
REGISTRY_PACKS = {
    "banned-pack": "0.9.1",
    "evil-utils": "1.0.0",
    "removed-pack": "2.0.0",
    "comfyui-kjnodes": "1.1.2",
    "hidden-pack": "1.0.0",
}
SNAPSHOT = {
    "comfyui": "v0.3.40",
    "cnr_custom_nodes": REGISTRY_PACKS,
    "disabled_cnr_custom_nodes": {"old-banned": "1.0.0"},
    "git_custom_nodes": {
        NIGHTLY_URL: {"hash": "0123456789abcdef", "disabled": False, "cnr_id": "banned-nightly"},
        "https://github.com/someone/plain-git.git": {"hash": "fedcba9876543210", "disabled": False},
    },
    "pips": {"numpy==1.26.4": ""},
}
VERSIONS = [
    node_version_record(node_id, version)
    for node_id, version in [*REGISTRY_PACKS.items(), ("old-banned", "1.0.0")]
]
#: Modelled on real /nodes pages: a banned node whose versions are Active, a node of a banned
#: publisher, a deleted node, a clean node with a newer version, one the list omits.
NODES = [
    node_record("banned-pack", status="NodeStatusBanned"),
    node_record("evil-utils", publisher_id="evil", publisher_status="PublisherStatusBanned"),
    node_record("removed-pack", status="NodeStatusDeleted", latest_version=None),
    node_record("comfyui-kjnodes", latest_version="1.1.9", status=""),
    node_record("hidden-pack"),
    node_record("old-banned", status="NodeStatusBanned"),
    node_record("banned-nightly", status="NodeStatusBanned"),
]
EXPECTED_FINDINGS = [
    ("banned-nightly", "node.banned", "critical"),
    ("banned-nightly", "registry.nightly", "info"),
    ("banned-pack", "node.banned", "critical"),
    ("evil-utils", "publisher.banned", "critical"),
    ("old-banned", "node.banned", "critical"),  # disabled, and still malware on disk
    ("plain-git", "registry.not-registry", "info"),
    ("removed-pack", "node.deleted", "error"),
]
MACHINE = ["--os", "linux", "--accelerator", "cuda", "-q"]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "render-01.json"
    path.write_text(json.dumps(SNAPSHOT))
    return path


@pytest.fixture
def server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    return make_registry_server(VERSIONS, nodes=NODES, omitted_nodes=["hidden-pack"])


def only_run(out: Path) -> Path:
    (run_dir,) = out.iterdir()
    return run_dir


def findings(out: Path) -> list[tuple[str, str, str]]:
    frame = pd.read_parquet(only_run(out) / "findings.parquet")
    rows = zip(frame.node_id, frame.check, frame.severity.astype(str), strict=True)
    return sorted(r for r in rows if r[1] != "env.unknown")


def test_bans_at_pack_and_publisher_level_over_http(
    tmp_path: Path, manifest: Path, server: RegistryServer
) -> None:
    out = tmp_path / "out"
    result = invoke("run", manifest, "--registry", server.url, "--no-cache", "-o", out, *MACHINE)
    assert result.exit_code == 1
    assert findings(out) == EXPECTED_FINDINGS
    # One lookup of the versions, one list of the Nodes, one GET for the pack the list omits;
    # no version list: a banned pack gets no version advice.
    assert sorted(server.paths()) == [BULK_PATH, "/nodes", "/nodes/hidden-pack"]
    nodes = pd.read_parquet(only_run(out) / "nodes.parquet")
    columns = ["node_id", "node_status", "publisher_id", "publisher_status", "latest_version"]
    rows = nodes[[*columns, "outdated"]].astype(object).where(nodes.notna(), None)
    active, banned, publisher = "NodeStatusActive", "NodeStatusBanned", "PublisherStatusActive"
    assert sorted(tuple(row) for row in rows.itertuples(index=False)) == [
        ("banned-nightly", banned, "test-publisher", publisher, "1.0.0", None),  # a commit
        ("banned-pack", banned, "test-publisher", publisher, "1.0.0", True),
        ("comfyui-kjnodes", None, "test-publisher", publisher, "1.1.9", True),  # status ""
        ("evil-utils", active, "evil", "PublisherStatusBanned", "1.0.0", False),
        ("hidden-pack", active, "test-publisher", publisher, "1.0.0", False),
        ("old-banned", banned, "test-publisher", publisher, "1.0.0", False),
        ("plain-git", None, None, None, None, None),
        ("removed-pack", "NodeStatusDeleted", "test-publisher", publisher, None, None),
    ]


def test_the_summary_says_what_to_do(
    tmp_path: Path, manifest: Path, server: RegistryServer
) -> None:
    out = tmp_path / "out"
    result = invoke(
        "run", manifest, "--registry", server.url, "--no-cache", "-o", out, "--os", "linux"
    )
    lines = result.stdout.splitlines()
    assert (
        "banned-pack@0.9.1\n  critical  node.banned  the registry banned the pack "
        '"banned-pack", whatever its version\'s status says' in result.stdout
    )
    assert "advice: 0 pack changes, 2 packs with no fitting version" in lines
    assert "  banned-pack@0.9.1  no fitting version: the pack is banned; remove it" in lines
    assert "  evil-utils@1.0.0  no fitting version: the pack is banned; remove it" in lines
    assert "outdated: 2 packs older than the registry's newest version" in lines
    assert not any(line.startswith("pack-level checks:") for line in lines)


def test_a_mirror_carries_the_node_records_offline(
    tmp_path: Path, manifest: Path, server: RegistryServer
) -> None:
    mirror = tmp_path / "mirror.jsonl"
    made = invoke("mirror", manifest, "-o", mirror, "--registry", server.url, "--no-cache")
    assert (made.exit_code, made.stderr) == (
        0,
        f"wrote 13 records to {mirror} (6 of 6 node versions found, 7 Node records)\n",
    )
    lines = [json.loads(line) for line in mirror.read_text().splitlines()]
    assert sorted(line["node"]["id"] for line in lines if "node" in line) == sorted(
        n["id"] for n in NODES
    )
    assert all("fetched_at" in line["node"] for line in lines if "node" in line)
    server.stop()
    out = tmp_path / "offline"
    assert invoke("run", manifest, "--registry", mirror, "-o", out, *MACHINE).exit_code == 1
    assert findings(out) == EXPECTED_FINDINGS


def test_an_old_mirror_says_once_that_pack_level_checks_were_not_run(
    tmp_path: Path, manifest: Path
) -> None:
    mirror = tmp_path / "old.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in VERSIONS))
    result = invoke("run", manifest, "--registry", mirror, "-o", tmp_path / "out", "--os", "linux")
    notes = [line for line in result.stdout.splitlines() if line.startswith("pack-level")]
    assert notes == [
        "pack-level checks: 7 packs without a Node record: the mirror file old.jsonl holds none "
        "(written before pack-level checks)"
    ]
    assert result.exit_code == 0


def test_a_warm_cache_sends_nothing_and_offline_gives_the_same(
    tmp_path: Path, manifest: Path, server: RegistryServer, cache_dir: Path
) -> None:
    args = ["run", manifest, "--cache-dir", cache_dir, *MACHINE]
    assert invoke(*args, "--registry", server.url, "-o", tmp_path / "cold").exit_code == 1
    server.clear_log()
    assert invoke(*args, "--registry", server.url, "-o", tmp_path / "warm").exit_code == 1
    assert server.paths() == []
    offline = invoke(*args, "--registry", server.url, "--offline", "-o", tmp_path / "offline")
    assert offline.exit_code == 1
    cold = findings(tmp_path / "cold")
    assert (
        cold == findings(tmp_path / "warm") == findings(tmp_path / "offline") == EXPECTED_FINDINGS
    )


def test_faults_on_the_list_route_are_retried(
    tmp_path: Path, manifest: Path, server: RegistryServer
) -> None:
    server.fail("/nodes", "status", status=503, times=2)
    server.fail("/nodes", "reset", times=1)
    out = tmp_path / "out"
    assert (
        invoke(
            "run", manifest, "--registry", server.url, "--no-cache", "-o", out, *MACHINE
        ).exit_code
        == 1
    )
    assert findings(out) == EXPECTED_FINDINGS
    assert server.paths().count("/nodes") == 4


def test_a_list_route_that_stays_down_is_an_incomplete_audit(
    tmp_path: Path, manifest: Path, server: RegistryServer
) -> None:
    server.fail("/nodes", "status", status=500, times=10)
    out = tmp_path / "out"
    args = ["run", manifest, "--registry", server.url, "--no-cache", "--retries", "1", "-o", out]
    result = invoke(*args, *MACHINE)
    assert result.exit_code == 3
    failed = [r for r in findings(out) if r[1] == "registry.fetch-failed"]
    packs = [
        "banned-nightly",
        "banned-pack",
        "comfyui-kjnodes",
        "evil-utils",
        "hidden-pack",
        "removed-pack",
    ]
    assert [r[0] for r in failed if r[2] == "error"] == packs
    # The disabled pack's lookup failed too, and says so quietly.
    assert ("old-banned", "registry.fetch-failed", "info") in findings(out)


LOG = "\n".join(
    [
        "[2026-11-30 08:00:01.100] ** ComfyUI startup time: 2026-11-30 08:00:01.100",
        "[2026-11-30 08:00:04.200] Cannot import /srv/comfy/custom_nodes/ComfyUI-Broken module "
        "for custom nodes: No module named 'insightface'",
        "[2026-11-30 08:00:05.300] ",
        "Import times for custom nodes:",
        "[2026-11-30 08:00:05.300]    0.0 seconds: /srv/comfy/custom_nodes/comfyui-fine",
        "[2026-11-30 08:00:05.301] \x1b[31m   0.2 seconds (IMPORT FAILED): "
        "/srv/comfy/custom_nodes/ComfyUI-Broken\x1b[0m",
        "[2026-11-30 08:00:05.302] ",
        "[2026-11-30 08:00:05.400] Starting server",
        "[2026-11-30 08:00:05.401]    0.1 seconds (IMPORT FAILED): /srv/comfy/cust",
    ]
)


def test_import_failures_from_the_install_and_from_its_snapshot(tmp_path: Path) -> None:
    root = tmp_path / "ComfyUI"
    for name, node_id in (("ComfyUI-Broken", "comfyui-broken"), ("comfyui-fine", "comfyui-fine")):
        folder = root / "custom_nodes" / name
        folder.mkdir(parents=True)
        (folder / "pyproject.toml").write_text(
            f'[project]\nname = "{node_id}"\nversion = "1.0.0"\n'
        )
        (folder / ".tracking").write_text("__init__.py")
    (root / "user").mkdir()
    (root / "user" / "comfyui_8188.log").write_text(LOG, encoding="utf-8")
    mirror = tmp_path / "mirror.jsonl"
    records = [
        node_version_record("comfyui-broken", "1.0.0"),
        node_version_record("comfyui-fine", "1.0.0"),
    ]
    mirror.write_text("".join(json.dumps(r) + "\n" for r in records))
    snapshot = tmp_path / "render-01.json"
    assert invoke("scan", root, "-o", snapshot, "--host", "render-01").exit_code == 0
    written = json.loads(snapshot.read_text())
    assert written["import_failures"] == {
        "comfyui-broken": {
            "reason": "No module named 'insightface'",
            "timestamp": "2026-11-30 08:00:05.301",
        }
    }
    machine = ["--registry", mirror, "--host", "render-01", *MACHINE]
    in_place = invoke("run", "--comfyui", root, "-o", tmp_path / "a", *machine)
    from_snapshot = invoke("run", snapshot, "-o", tmp_path / "b", *machine)
    assert in_place.exit_code == from_snapshot.exit_code == 1
    frames = [pd.read_parquet(only_run(tmp_path / d) / "findings.parquet") for d in "ab"]
    reason = "ComfyUI failed to import the pack at its last start: No module named 'insightface'"
    for frame in frames:
        failed = frame[frame.check == "pack.import-failed"]
        columns = ["node_id", "severity", "message", "actual", "source"]
        assert failed[columns].astype(str).values.tolist() == [
            ["comfyui-broken", "error", reason, "2026-11-30 08:00:05.301", "local"]
        ]
    profile = json.loads((only_run(tmp_path / "a") / "run.json").read_text())["environment"]
    assert profile["sources"]["import_failures"] == "user/comfyui_8188.log"


def test_mirror_all_pages_through_the_nodes_too(
    tmp_path: Path, manifest: Path, make_registry_server: Callable[..., RegistryServer]
) -> None:
    fillers = [node_record(f"pack-{i:03d}") for i in range(150)]
    server = make_registry_server(VERSIONS, nodes=[*NODES, *fillers])
    mirror = tmp_path / "all.jsonl"
    result = invoke("mirror", "--all", "-o", mirror, "--registry", server.url)
    assert (result.exit_code, result.stderr) == (0, f"wrote {6 + 157} records to {mirror}\n")
    pages = [r.query["page"] for r in server.requests if r.path == "/nodes"]
    assert sorted(pages) == [["1"], ["2"]]
    server.stop()
    out = tmp_path / "out"
    assert invoke("run", manifest, "--registry", mirror, "-o", out, *MACHINE).exit_code == 1
    assert findings(out) == EXPECTED_FINDINGS

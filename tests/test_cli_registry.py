"""End-to-end tests of where answers come from: the cache, offline runs, mirror files."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.fresh import cli_lines
from tests.registry_server import (
    BULK_PATH,
    RegistryServer,
    node_version_record,
)

RECORDS = [
    node_version_record("comfyui-kjnodes", "1.1.2"),
    node_version_record("comfyui-mxtoolkit", "0.9.92", status="NodeVersionStatusBanned"),
]
LIST = "comfyui-kjnodes@1.1.2\ncomfyui-mxtoolkit@0.9.92\ncomfyui-gone@0.1.0\n"


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "render-01.txt"
    path.write_text(LIST)
    return path


@pytest.fixture
def server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    return make_registry_server(RECORDS)


def nodes(out: Path) -> pd.DataFrame:
    (run_dir,) = sorted(out.iterdir())[-1:]
    return pd.read_parquet(run_dir / "nodes.parquet")


def findings(out: Path) -> list[tuple[str, str]]:
    (run_dir,) = sorted(out.iterdir())[-1:]
    frame = pd.read_parquet(run_dir / "findings.parquet")
    return sorted(zip(frame.node_id.fillna(""), frame.check, strict=True))


def test_a_warm_cache_makes_no_request(
    tmp_path: Path, manifest: Path, server: RegistryServer, cache_dir: Path
) -> None:
    args = ["run", manifest, "--registry", server.url, "--cache-dir", cache_dir, "-q"]
    assert invoke(*args, "-o", tmp_path / "cold").exit_code == 1
    # The banned pack is advised: its version list is fetched (and cached) too. This registry
    # has no Node list route: that answer is cached as well.
    # NOTE: the lookup and the Node list go out at the same time, in either order.
    assert sorted(server.paths()) == [BULK_PATH, "/nodes", "/nodes/comfyui-mxtoolkit/versions"]
    server.clear_log()
    assert invoke(*args, "-o", tmp_path / "warm").exit_code == 1
    assert server.paths() == []
    assert findings(tmp_path / "cold") == findings(tmp_path / "warm")
    warm = nodes(tmp_path / "warm").set_index("node_id")
    # The registry's "no such version" is cached and dated like any answer.
    assert warm.cache_hit.to_dict() == {
        "comfyui-kjnodes": True,
        "comfyui-mxtoolkit": True,
        "comfyui-gone": True,
    }
    assert warm.fetched_at.notna().all()


def test_a_warm_run_loads_neither_requests_nor_pandas(
    tmp_path: Path, manifest: Path, server: RegistryServer, cache_dir: Path
) -> None:
    args = ["run", manifest, "--registry", server.url, "--cache-dir", cache_dir, "-q"]
    assert invoke(*args, "-o", tmp_path / "cold").exit_code == 1
    server.clear_log()
    argv = [str(a) for a in [*args, "-o", tmp_path / "warm"]]
    printed = cli_lines(argv, "print(sorted({'pandas', 'requests', 'urllib3'} & set(sys.modules)))")
    assert printed[-2:] == ["1", "[]"]
    assert server.paths() == []
    assert findings(tmp_path / "cold") == findings(tmp_path / "warm")


def test_the_lookup_and_the_node_list_are_asked_at_the_same_time(
    tmp_path: Path, manifest: Path, server: RegistryServer
) -> None:
    """Each of the two waits at the server until the other has arrived too."""
    server.hold(threading.Barrier(2, timeout=10).wait)
    args = ["run", manifest, "--registry", server.url, "--no-cache", "--no-advice", "-q"]
    assert invoke(*args, "-o", tmp_path / "out").exit_code == 1
    assert sorted(server.paths()) == [BULK_PATH, "/nodes"]


@pytest.mark.parametrize(
    ("flags", "requests"),
    [([], 0), (["--refresh"], 1), (["--max-age", "0s"], 1), (["--no-cache"], 1)],
    ids=["fresh", "refresh", "expired", "no-cache"],
)
def test_cache_flags(
    tmp_path: Path,
    manifest: Path,
    server: RegistryServer,
    cache_dir: Path,
    flags: list[str],
    requests: int,
) -> None:
    args = ["run", manifest, "--registry", server.url, "--cache-dir", cache_dir, "-q"]
    args.append("--no-advice")
    invoke(*args, "-o", tmp_path / "a")
    server.clear_log()
    invoke(*args, "-o", tmp_path / "b", *flags)
    assert sorted(server.paths()) == [BULK_PATH, "/nodes"] * requests


def test_offline_runs_from_the_cache_and_says_how_old(
    tmp_path: Path, manifest: Path, server: RegistryServer, cache_dir: Path
) -> None:
    args = ["run", manifest, "--registry", server.url, "--cache-dir", cache_dir]
    invoke(*args, "-q", "-o", tmp_path / "online")
    server.stop()
    result = invoke(*args, "--offline", "--max-age", "0s", "-q", "-o", tmp_path / "offline")
    assert result.exit_code == 1
    assert result.stderr.startswith("comfy-audit: warning: cached data is ")
    assert result.stderr.endswith(" old (older than --max-age)\n")
    gone = ("comfyui-gone", "registry.not-found")
    assert [f for f in findings(tmp_path / "offline") if f != gone] == [
        f for f in findings(tmp_path / "online") if f != gone
    ]


def test_offline_with_an_empty_cache_is_an_input_error(
    tmp_path: Path, manifest: Path, cache_dir: Path
) -> None:
    result = invoke("run", manifest, "--offline", "--cache-dir", cache_dir, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr.startswith("comfy-audit: error: offline: the cache at ")
    assert not (tmp_path / "out").exists()


def test_mirror_then_offline_run_gives_the_online_findings(
    tmp_path: Path, manifest: Path, server: RegistryServer
) -> None:
    mirror = tmp_path / "mirror.jsonl"
    made = invoke("mirror", manifest, "-o", mirror, "--registry", server.url, "--no-cache")
    assert (made.exit_code, made.stderr) == (
        0,
        f"wrote 2 records to {mirror} (2 of 3 node versions found, 0 Node records)\n",
    )
    lines = [json.loads(line) for line in mirror.read_text().splitlines()]
    assert sorted(r["node_id"] for r in lines) == ["comfyui-kjnodes", "comfyui-mxtoolkit"]
    assert all("fetched_at" in r for r in lines)
    online = invoke(
        "run", manifest, "--registry", server.url, "--no-cache", "-q", "-o", tmp_path / "a"
    )
    offline = invoke("run", manifest, "--registry", mirror, "-q", "-o", tmp_path / "b")
    assert online.exit_code == offline.exit_code == 1
    gone = ("comfyui-gone", "registry.not-found")
    assert findings(tmp_path / "a") == findings(tmp_path / "b")
    assert gone in findings(tmp_path / "b")


def test_mirror_all_pages_through_the_registry(
    tmp_path: Path, make_registry_server: Callable[..., RegistryServer]
) -> None:
    records = [node_version_record(f"pack-{i:03d}", "1.0.0") for i in range(250)]
    server = make_registry_server(records)
    mirror = tmp_path / "all.jsonl"
    result = invoke("mirror", "--all", "-o", mirror, "--registry", server.url)
    assert (result.exit_code, result.stderr) == (0, f"wrote 250 records to {mirror}\n")
    assert len(mirror.read_text().splitlines()) == 250
    # This registry has no Node routes (404): the mirror holds no Node records.
    assert sorted(server.paths()) == ["/nodes", *["/versions"] * 3]


def test_a_stale_mirror_is_warned_about(tmp_path: Path, manifest: Path) -> None:
    mirror = tmp_path / "old.jsonl"
    old = node_version_record("comfyui-kjnodes", "1.1.2", fetched_at="2020-01-01T00:00:00Z")
    mirror.write_text(json.dumps(old) + "\n")
    result = invoke("run", manifest, "--registry", mirror, "-q", "-o", tmp_path / "out")
    assert result.stderr.startswith("comfy-audit: warning: mirror data is ")
    assert result.stderr.endswith(" old (older than --max-age)\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--all", "x.txt"], "give MANIFEST files or --all, not both and not neither"),
        ([], "give MANIFEST files or --all, not both and not neither"),
        (["--all", "--vulns", "osv"], "--vulns needs MANIFEST files: it writes what their"),
        (["x.txt", "--comfy-nodes"], "--comfy-nodes goes with --all (use --workflow with"),
    ],
    ids=["both", "neither", "vulns-with-all", "comfy-nodes-without-all"],
)
def test_mirror_usage(tmp_path: Path, args: list[str], message: str) -> None:
    result = invoke("mirror", *args, "-o", tmp_path / "m.jsonl")
    assert result.exit_code == 2
    assert message in result.stderr


def test_the_token_reaches_the_registry_but_never_the_reports(
    tmp_path: Path, manifest: Path, server: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMFY_AUDIT_TOKEN", "s3cret-token")
    out = tmp_path / "out"
    invoke("run", manifest, "--registry", server.url, "--no-cache", "-q", "-o", out)
    # The lookup, the Node list and the advisor's version list: the token goes with every one.
    assert [r.headers.get("Authorization") for r in server.requests] == ["Bearer s3cret-token"] * 3
    (run_dir,) = out.iterdir()
    for path in run_dir.iterdir():
        assert "s3cret" not in path.read_bytes().decode("utf-8", "replace")


def test_a_mirror_with_versions_lets_an_offline_run_advise(
    tmp_path: Path, manifest: Path, make_registry_server: Callable[..., RegistryServer]
) -> None:
    fixed = node_version_record("comfyui-mxtoolkit", "0.9.95")
    server = make_registry_server([*RECORDS, fixed])
    mirror = tmp_path / "mirror.jsonl"
    made = invoke("mirror", manifest, "--versions", "-o", mirror, "--registry", server.url)
    assert made.stderr == (
        f"wrote 3 records to {mirror} (2 of 3 node versions found, every version of 3 packs, "
        "0 Node records)\n"
    )
    advice = invoke("advise", manifest, "--registry", mirror)
    assert advice.stdout.splitlines()[0] == "comfy node install comfyui-mxtoolkit@0.9.95"


def test_a_stage_that_cannot_do_what_was_asked_shows_the_commands_usage(
    tmp_path: Path, manifest: Path
) -> None:
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("")
    result = invoke("mirror", manifest, "--registry", mirror, "-o", tmp_path / "m.jsonl")
    assert result.exit_code == 2
    assert result.stderr == (
        "Usage: cli mirror [OPTIONS] [MANIFEST]...\n"
        "Try 'cli mirror --help' for help.\n"
        "\n"
        "Error: mirror needs a registry URL, not a mirror file\n"
    )

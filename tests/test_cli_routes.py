"""End-to-end tests that every route gives the same answer (issue 12): profiles, fleets of
manifests with a bad one, status words, registry URLs, the plan per host, Manager's own files."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.registry_server import RegistryServer, node_version_record

WINDOWS_ONLY = node_version_record("comfyui-win", "1.0.0", supported_os=["Microsoft :: Windows"])
RECORDS = [
    WINDOWS_ONLY,
    node_version_record("comfyui-kjnodes", "1.1.2"),
    node_version_record("comfyui-new", "2.0.0", status="NodeVersionStatusArchived"),
]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_mirror(path: Path, records: list[dict[str, object]] = RECORDS) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def profile(os_name: str) -> dict[str, object]:
    return {"schema": 1, "os": os_name, "accelerators": ["cpu"], "installed": {"numpy": "1.26.4"}}


def findings(out: Path) -> list[tuple[str, str, str, str]]:
    (run_dir,) = sorted(out.iterdir())[-1:]
    frame = pd.read_parquet(run_dir / "findings.parquet")
    rows = zip(frame.host, frame.node_id.fillna(""), frame.check, frame.severity.astype(str))
    return sorted(rows)


def test_a_hosts_own_profile_beats_env_profile(tmp_path: Path) -> None:
    mirror = write_mirror(tmp_path / "mirror.jsonl")
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for host in ("win-01", "linux-01", "bare-01"):
        (fleet / f"{host}.json").write_text(
            json.dumps({"cnr_custom_nodes": {"comfyui-win": "1.0.0"}})
        )
    (fleet / "win-01.env.json").write_text(json.dumps(profile("windows")))
    (fleet / "linux-01.env.json").write_text(json.dumps(profile("linux")))
    given = tmp_path / "given.env.json"
    given.write_text(json.dumps(profile("windows")))
    out = tmp_path / "out"
    manifests = sorted(fleet.glob("*.json"))
    result = invoke(
        "run", *manifests, "--env-profile", given, "--registry", mirror, "-q", "-o", out
    )
    assert result.exit_code == 1
    assert [f for f in findings(out) if f[2] == "os.unsupported"] == [
        ("linux-01", "comfyui-win", "os.unsupported", "error")
    ]


def test_an_unknown_status_word_is_a_warning_and_the_rest_is_checked(
    tmp_path: Path, make_registry_server: Callable[..., RegistryServer]
) -> None:
    server = make_registry_server(
        [
            node_version_record(
                "comfyui-new",
                "2.0.0",
                status="NodeVersionStatusArchived",
                supported_os=["Microsoft :: Windows"],
            )
        ]  # fmt: skip
    )
    manifest = tmp_path / "render-01.txt"
    manifest.write_text("comfyui-new@2.0.0\n")
    out = tmp_path / "out"
    args = ["run", manifest, "--registry", server.url, "--no-cache", "--os", "linux", "-o", out]
    result = invoke(*args, "-q", "--no-advice", "--fail-on", "critical")
    assert result.exit_code == 0
    assert findings(out) == [
        ("render-01", "", "env.unknown", "info"),  # no installed packages: not this issue
        ("render-01", "comfyui-new", "os.unsupported", "error"),
        ("render-01", "comfyui-new", "status.unknown", "warning"),
    ]
    (run_dir,) = out.iterdir()
    frame = pd.read_parquet(run_dir / "findings.parquet").set_index("check")
    assert frame.loc["status.unknown", "message"] == (
        "version 2.0.0 has a status this tool does not know: 'NodeVersionStatusArchived'"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--registry", "http://registry.example.com"],
            "registry URL 'http://registry.example.com': plain http is only for this machine; "
            "use https, or pass --allow-insecure-http",
        ),
        (
            ["--registry", "ftp://registry.example.com"],
            "registry URL 'ftp://registry.example.com': use https:// (or give a mirror file path)",
        ),
        (
            ["--registry", "https://registry.example.com", "--ca-bundle", "missing.pem"],
            "CA bundle 'missing.pem': no such file",
        ),
    ],
    ids=["plain-http", "ftp", "no-ca-bundle"],
)
@pytest.mark.parametrize("command", [["mirror", "--all"], ["run", "x.txt"]], ids=["mirror", "run"])
def test_every_command_checks_the_registry_url_the_same_way(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    flags: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.txt").write_text("comfyui-kjnodes@1.1.2\n")
    result = invoke(*command, *flags, "-o", tmp_path / "out")
    assert (result.exit_code, result.stderr) == (2, f"comfy-audit: error: {message}\n")

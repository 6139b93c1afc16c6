"""End to end through the CLI: the packs workflows name join the pack-level checks (Node
records, installed or not, online and from a mirror), and lookups that fail in the workflow
stage leave the run incomplete (exit 3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.registry_nodes import node_record
from tests.registry_server import RegistryServer, node_version_record
from tests.workflows.builders import api_workflow, dumps, ui_node, ui_workflow

MACHINE = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40"]
RECORDS = [
    node_version_record("comfyui-kjnodes", "1.1.2"),
    node_version_record("evil-utils", "1.0.0"),
]
NODES = [
    node_record("comfyui-kjnodes"),
    # installed on the host; its publisher is banned, its version Active
    node_record("evil-utils", publisher_id="evil", publisher_status="PublisherStatusBanned"),
    # installed nowhere: only the workflow names it
    node_record("banned-pack", status="NodeStatusBanned"),
]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def comfy_node(name: str) -> dict[str, Any]:
    return {"comfy_node_name": name, "deprecated": False, "policy": "ComfyNodePolicyActive"}


@pytest.fixture
def server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    registry = make_registry_server(RECORDS, nodes=NODES)
    registry.add_comfy_nodes("comfyui-kjnodes", "1.1.2", [comfy_node("ImageResizeKJ")])
    registry.add_comfy_nodes("evil-utils", "1.0.0", [comfy_node("EvilNode")])
    return registry


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    workflow = tmp_path / "w.json"
    workflow.write_text(
        dumps(
            ui_workflow(
                [
                    ui_node(1, "ImageResizeKJ", "comfyui-kjnodes", "1.1.2"),
                    ui_node(2, "EvilNode", "evil-utils", "1.0.0"),
                    ui_node(3, "BannedNode", "Banned-Pack", "2.0.0"),
                ]
            )
        )
    )
    host = tmp_path / "host.txt"
    host.write_text("comfyui-kjnodes@1.1.2\nevil-utils@1.0.0\n")
    return {"workflow": workflow, "host": host}


def run_dir(out: Path) -> Path:
    (found,) = [p for p in out.iterdir() if p.is_dir()]
    return found


def audit(registry: str, files: dict[str, Path], out: Path, *extra: object) -> Result:
    return invoke(
        "run",
        files["host"],
        "--workflow",
        files["workflow"],
        "--registry",
        registry,
        *extra,
        *MACHINE,
        "-q",
        "--no-advice",
        "-o",
        out,
    )


def verdicts(out: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    folder = run_dir(out)
    rows = pq.read_table(folder / "workflows.parquet").to_pylist()
    findings = pq.read_table(folder / "findings.parquet").to_pylist()
    return (
        [(r["node_id"], r["status"], r["runnable_now"]) for r in rows],
        sorted(
            (f["check"], f["severity"], f["node_id"], f["expected"], f["actual"])
            for f in findings
            if f["workflow"] is not None or f["check"].endswith(".banned")
        ),
    )


EXPECTED_ROWS = [
    ("Banned-Pack", "banned-node", False),
    ("comfyui-kjnodes", "ok", False),
    ("evil-utils", "banned-node", False),
]
EXPECTED_FINDINGS = [
    ("publisher.banned", "critical", "evil-utils", None, "PublisherStatusBanned"),
    ("workflow.banned-node", "critical", "Banned-Pack", "banned-pack", "NodeStatusBanned"),
    ("workflow.banned-node", "critical", "evil-utils", "evil-utils", "PublisherStatusBanned"),
    ("workflow.missing-pack", "error", "Banned-Pack", "Banned-Pack", None),
]


def test_a_workflow_that_needs_a_banned_pack_cannot_run(
    tmp_path: Path, server: RegistryServer, files: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    result = audit(server.url, files, out, "--no-cache")
    assert result.exit_code == 1, result.output
    assert verdicts(out) == (EXPECTED_ROWS, EXPECTED_FINDINGS)
    # One list request asks for the installed packs and the one only the workflow names.
    (listing,) = [r for r in server.requests if r.path == "/nodes"]
    assert sorted(listing.query["node_id"]) == ["Banned-Pack", "comfyui-kjnodes", "evil-utils"]


def test_the_mirror_holds_the_node_records_workflows_need(
    tmp_path: Path, server: RegistryServer, files: dict[str, Path]
) -> None:
    mirror = tmp_path / "mirror.jsonl"
    result = invoke(
        "mirror",
        files["host"],
        "--workflow",
        files["workflow"],
        "--registry",
        server.url,
        "--no-cache",
        "-o",
        mirror,
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in mirror.read_text().splitlines()]
    assert sorted(line["node"]["id"] for line in lines if "node" in line) == [
        "banned-pack",
        "comfyui-kjnodes",
        "evil-utils",
    ]
    out = tmp_path / "out"
    assert audit(str(mirror), files, out).exit_code == 1
    assert verdicts(out) == (EXPECTED_ROWS, EXPECTED_FINDINGS)


def test_bypassed_nodes_of_a_banned_pack_do_not_block(
    tmp_path: Path, server: RegistryServer, files: dict[str, Path]
) -> None:
    files["workflow"].write_text(
        dumps(ui_workflow([ui_node(1, "BannedNode", "banned-pack", "2.0.0", mode=4)]))
    )
    files["host"].write_text("comfyui-kjnodes@1.1.2\n")
    out = tmp_path / "out"
    assert audit(server.url, files, out, "--no-cache").exit_code == 0
    rows, findings = verdicts(out)
    assert rows == [("banned-pack", "banned-node", True)]
    assert [f[:2] for f in findings] == [
        ("workflow.banned-node", "info"),
        ("workflow.missing-pack", "info"),
    ]


@pytest.mark.parametrize(
    ("path", "check_of"),
    [
        ("/comfy-nodes/Mystery/node", "Mystery"),
        ("/nodes/comfyui-kjnodes/versions/1.1.2/comfy-nodes", "comfyui-kjnodes"),
    ],
)
def test_failed_lookups_of_the_workflow_stage_leave_the_run_incomplete(
    tmp_path: Path,
    make_registry_server: Callable[..., RegistryServer],
    path: str,
    check_of: str,
) -> None:
    server = make_registry_server(RECORDS[:1], nodes=NODES[:1])
    server.add_comfy_nodes("comfyui-kjnodes", "1.1.2", [comfy_node("ImageResizeKJ")])
    server.fail(path, "status", times=20, status=500)
    workflow = tmp_path / "w.json"
    workflow.write_text(
        dumps(api_workflow({"1": "Mystery", "2": "ImageResizeKJ"}, _meta={"title": "x"}))
    )
    server.add_class_pack("ImageResizeKJ", {"id": "comfyui-kjnodes", "name": "KJNodes"})
    host = tmp_path / "host.txt"
    host.write_text("comfyui-kjnodes@1.1.2\n")
    out = tmp_path / "out"
    files = {"host": host, "workflow": workflow}
    result = audit(server.url, files, out, "--no-cache", "--retries", 0)
    assert result.exit_code == 3, result.output
    findings = pq.read_table(run_dir(out) / "findings.parquet").to_pylist()
    failed = [
        (f["severity"], f["expected"], f["workflow"])
        for f in findings
        if f["check"] == "registry.fetch-failed"
    ]
    assert failed == [("error", check_of, str(workflow))]

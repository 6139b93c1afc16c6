"""End to end through the CLI against the loopback registry serving comfy-nodes lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.registry_server import RegistryServer, node_version_record
from tests.workflows.builders import api_workflow, dumps, png, ui_node, ui_workflow

RECORDS = [
    node_version_record("comfyui-kjnodes", "1.1.2", supported_comfyui_version=">=0.3.0"),
    node_version_record("pack-upgrade", "2.0.0", supported_comfyui_version="<0.4.0"),
    node_version_record("comfyui-videohelpersuite", "1.6.1"),
]
CLASSES = {
    ("comfyui-kjnodes", "1.1.2"): ["GetImageSizeAndCount", "ImageResizeKJ", "ResolvedNode"],
    ("pack-upgrade", "2.0.0"): ["UpgradeNode"],
    # VHS_Old was in 1.0.0, the version the workflow was made with; 1.6.1 removed it.
    ("comfyui-videohelpersuite", "1.6.1"): ["VHS_VideoCombine", "VHS_LoadVideo"],
}
MACHINE = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40"]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def comfy_node(name: str, **fields: Any) -> dict[str, Any]:
    return {
        "comfy_node_name": name,
        "category": "x",
        "deprecated": False,
        "policy": "ComfyNodePolicyActive",
        **fields,
    }


@pytest.fixture
def server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    registry = make_registry_server(RECORDS)
    for (node_id, version), names in CLASSES.items():
        registry.add_comfy_nodes(node_id, version, [comfy_node(n) for n in names])
    registry.add_class_pack("ResolvedNode", {"id": "comfyui-kjnodes", "name": "KJNodes"})
    return registry


@pytest.fixture
def fleet(tmp_path: Path) -> dict[str, Path]:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    files = {
        "a_kj.json": dumps(
            ui_workflow(
                [
                    ui_node(1, "KSampler", "comfy-core", "0.3.30"),
                    ui_node(2, "GetImageSizeAndCount", "comfyui-kjnodes", "1.0.0"),
                    ui_node(3, "Note"),
                ]
            )
        ),
        "b_upgrade.json": dumps(ui_workflow([ui_node(1, "UpgradeNode", "pack-upgrade", "2.0.0")])),
        "c_removed.json": dumps(
            ui_workflow(
                [
                    ui_node(1, "VHS_Old", "ComfyUI-VideoHelperSuite", "1.0.0"),
                    ui_node(2, "VHS_VideoCombine", "comfyui-videohelpersuite", "1.0.0", mode=4),
                ]
            )
        ),
        "d_api.json": dumps(
            api_workflow({"1": "MysteryNode", "2": "ResolvedNode"}, _meta={"title": "x"})
        ),
    }
    for name, text in files.items():
        (workflows / name).write_text(text)
    (workflows / "e_image.png").write_bytes(
        png(
            {
                "workflow": dumps(
                    ui_workflow(
                        [
                            ui_node(1, "ImageResizeKJ", "comfyui-kjnodes", "1.1.0"),
                            ui_node(2, "SaveImage", "comfy-core", "0.3.50"),
                        ]
                    )
                )
            }
        )
    )
    host1 = tmp_path / "host1.txt"
    host1.write_text("comfyui-kjnodes@1.1.2\npack-upgrade@2.0.0\ncomfyui-videohelpersuite@1.6.1\n")
    host2 = tmp_path / "host2.txt"
    host2.write_text("pack-upgrade@2.0.0\ncomfyui-videohelpersuite@1.6.1\n")
    return {"workflows": workflows, "host1": host1, "host2": host2}


def run_dir(out: Path) -> Path:
    (found,) = [p for p in out.iterdir() if p.is_dir()]
    return found


def test_which_hosts_can_run_which_workflow(
    tmp_path: Path, server: RegistryServer, fleet: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    result = invoke(
        "run",
        fleet["host1"],
        fleet["host2"],
        "--registry",
        server.url,
        "--no-cache",
        "--workflow",
        fleet["workflows"],
        *MACHINE,
        "--target-comfyui",
        "0.4.0",
        "--output",
        out,
        "--no-advice",
        "-q",
    )
    assert result.exit_code == 1, result.output
    folder = run_dir(out)
    table = pq.read_table(folder / "workflows.parquet").to_pylist()
    w = str(fleet["workflows"])
    rows = [(r["host"], r["workflow"].removeprefix(w + "/"), *list(r.values())[3:]) for r in table]
    assert rows == [
        (
            "host1",
            "a_kj.json",
            "comfy-core",
            ["KSampler"],
            "0.3.30",
            "0.3.40",
            False,
            "ok",
            True,
            True,
        ),
        (
            "host1",
            "a_kj.json",
            "comfyui-kjnodes",
            ["GetImageSizeAndCount"],
            "1.0.0",
            "1.1.2",
            False,
            "ok",
            True,
            True,
        ),
        (
            "host1",
            "b_upgrade.json",
            "pack-upgrade",
            ["UpgradeNode"],
            "2.0.0",
            "2.0.0",
            False,
            "ok",
            True,
            False,
        ),
        (
            "host1",
            "c_removed.json",
            "comfyui-videohelpersuite",
            ["VHS_Old", "VHS_VideoCombine"],
            "1.0.0",
            "1.6.1",
            False,
            "missing-node",
            False,
            False,
        ),
        ("host1", "d_api.json", None, ["MysteryNode"], None, None, False, "unresolved", None, None),
        (
            "host1",
            "d_api.json",
            "comfyui-kjnodes",
            ["ResolvedNode"],
            None,
            "1.1.2",
            False,
            "ok",
            None,
            None,
        ),
        (
            "host1",
            "e_image.png",
            "comfy-core",
            ["SaveImage"],
            "0.3.50",
            "0.3.40",
            False,
            "older-pack",
            True,
            True,
        ),
        (
            "host1",
            "e_image.png",
            "comfyui-kjnodes",
            ["ImageResizeKJ"],
            "1.1.0",
            "1.1.2",
            False,
            "ok",
            True,
            True,
        ),
        (
            "host2",
            "a_kj.json",
            "comfy-core",
            ["KSampler"],
            "0.3.30",
            "0.3.40",
            False,
            "ok",
            False,
            False,
        ),
        (
            "host2",
            "a_kj.json",
            "comfyui-kjnodes",
            ["GetImageSizeAndCount"],
            "1.0.0",
            None,
            False,
            "missing-pack",
            False,
            False,
        ),
        (
            "host2",
            "b_upgrade.json",
            "pack-upgrade",
            ["UpgradeNode"],
            "2.0.0",
            "2.0.0",
            False,
            "ok",
            True,
            False,
        ),
        (
            "host2",
            "c_removed.json",
            "comfyui-videohelpersuite",
            ["VHS_Old", "VHS_VideoCombine"],
            "1.0.0",
            "1.6.1",
            False,
            "missing-node",
            False,
            False,
        ),
        (
            "host2",
            "d_api.json",
            None,
            ["MysteryNode"],
            None,
            None,
            False,
            "unresolved",
            False,
            False,
        ),
        (
            "host2",
            "d_api.json",
            "comfyui-kjnodes",
            ["ResolvedNode"],
            None,
            None,
            False,
            "missing-pack",
            False,
            False,
        ),
        (
            "host2",
            "e_image.png",
            "comfy-core",
            ["SaveImage"],
            "0.3.50",
            "0.3.40",
            False,
            "older-pack",
            False,
            False,
        ),
        (
            "host2",
            "e_image.png",
            "comfyui-kjnodes",
            ["ImageResizeKJ"],
            "1.1.0",
            None,
            False,
            "missing-pack",
            False,
            False,
        ),
    ]
    findings = pq.read_table(folder / "findings.parquet").to_pylist()
    got = sorted(
        (
            f["host"],
            f["check"],
            f["severity"],
            f["node_id"],
            f["workflow"].removeprefix(w + "/"),
            f["when"],
        )
        for f in findings
        if f["source"] == "workflow"
    )
    assert got == sorted(
        [
            (
                "host1",
                "workflow.missing-node",
                "error",
                "comfyui-videohelpersuite",
                "c_removed.json",
                "now",
            ),
            ("host1", "workflow.unresolved", "warning", None, "d_api.json", "now"),
            ("host1", "workflow.older-core", "warning", "comfy-core", "e_image.png", "now"),
            ("host2", "workflow.missing-pack", "error", "comfyui-kjnodes", "a_kj.json", "now"),
            (
                "host2",
                "workflow.missing-node",
                "error",
                "comfyui-videohelpersuite",
                "c_removed.json",
                "now",
            ),
            ("host2", "workflow.unresolved", "warning", None, "d_api.json", "now"),
            ("host2", "workflow.missing-pack", "error", "comfyui-kjnodes", "d_api.json", "now"),
            ("host2", "workflow.older-core", "warning", "comfy-core", "e_image.png", "now"),
            ("host2", "workflow.missing-pack", "error", "comfyui-kjnodes", "e_image.png", "now"),
        ]
    )
    assert all(f["workflow"] is None for f in findings if f["source"] != "workflow")
    comfy_nodes = [p for p in server.paths("GET") if "comfy-nodes" in p]
    # One per installed pack version the workflows need, one per unresolved class.
    assert sorted(comfy_nodes) == [
        "/comfy-nodes/MysteryNode/node",
        "/comfy-nodes/ResolvedNode/node",
        "/nodes/comfyui-kjnodes/versions/1.1.2/comfy-nodes",
        "/nodes/comfyui-videohelpersuite/versions/1.6.1/comfy-nodes",
        "/nodes/pack-upgrade/versions/2.0.0/comfy-nodes",
    ]
    document = json.loads((folder / "run.json").read_text())
    assert (document["schema_version"], document["counts"]["workflows"]) == ("3", 5)


def test_needs_prints_a_manifest(tmp_path: Path, server: RegistryServer) -> None:
    workflow = tmp_path / "w.json"
    workflow.write_text(
        dumps(
            ui_workflow(
                [
                    ui_node(1, "KSampler", "comfy-core", "0.3.30"),
                    ui_node(2, "GetImageSizeAndCount", "comfyui-kjnodes", "1.0.0"),
                    ui_node(3, "ImageResizeKJ", "ComfyUI-KJNodes", "1.1.0"),
                    ui_node(
                        4,
                        "Image Saver Simple",
                        "comfyui-image-saver",
                        "81e938ab9cb85164c06e1bd0591724ea652a02ca",
                        aux_id="alexopus/ComfyUI-Image-Saver",
                    ),
                    ui_node(5, "mxSlider", aux_id="Smirnov75/ComfyUI-mxToolkit", ver="0.9.9"),
                    ui_node(6, "MysteryNode"),
                ]
            )
        )
    )
    result = invoke("needs", workflow, "--registry", server.url, "--no-cache")
    assert (result.exit_code, result.output) == (
        0,
        (
            "comfyui-image-saver@81e938ab9cb85164c06e1bd0591724ea652a02ca"
            "  # git https://github.com/alexopus/ComfyUI-Image-Saver\n"
            "comfyui-kjnodes@1.1.0\n"
            "ComfyUI-mxToolkit  # git https://github.com/Smirnov75/ComfyUI-mxToolkit\n"
            "# ComfyUI: the newest core node was made with 0.3.30\n"
            "# unresolved classes (no known pack): MysteryNode\n"
        ),
    )
    snapshot = tmp_path / "snapshot.json"
    result = invoke("needs", workflow, "--registry", server.url, "--no-cache", "-o", snapshot)
    assert result.exit_code == 0, result.output
    written = json.loads(snapshot.read_text())
    assert written["cnr_custom_nodes"] == {"comfyui-kjnodes": "1.1.0"}
    assert written["git_custom_nodes"] == {
        "https://github.com/alexopus/ComfyUI-Image-Saver": {
            "hash": "81e938ab9cb85164c06e1bd0591724ea652a02ca",
            "disabled": False,
            "cnr_id": "comfyui-image-saver",
        },
    }
    as_json = json.loads(
        invoke("needs", workflow, "--registry", server.url, "--no-cache", "--json").stdout
    )
    assert [(item["node_id"], item["source"]) for item in as_json] == [
        ("comfyui-image-saver", "git"),
        ("comfyui-kjnodes", "registry"),
        ("ComfyUI-mxToolkit", "git"),
    ]


def test_needs_exit_codes(tmp_path: Path, server: RegistryServer) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    result = invoke("needs", bad, "--registry", server.url, "--no-cache")
    assert result.exit_code == 2
    assert (
        result.stderr == f"comfy-audit: error: {bad}: not JSON: Expecting property name "
        "enclosed in double quotes (line 1)\n"
    )
    workflow = tmp_path / "w.json"
    workflow.write_text(dumps(api_workflow({"1": "Flaky"})))
    server.fail("/comfy-nodes/Flaky/node", "status", times=20, status=500)
    result = invoke("needs", workflow, "--registry", server.url, "--no-cache", "--retries", 0)
    assert result.exit_code == 3
    assert "# lookups failed for: Flaky" in result.output


def test_mirror_then_offline_run_gives_the_same_rows(
    tmp_path: Path, server: RegistryServer, fleet: dict[str, Path]
) -> None:
    mirror = tmp_path / "mirror.jsonl"
    result = invoke(
        "mirror",
        fleet["host1"],
        fleet["host2"],
        "--workflow",
        fleet["workflows"],
        "--registry",
        server.url,
        "--no-cache",
        "-o",
        mirror,
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in mirror.read_text().splitlines()]
    assert sorted(
        (line["comfy_nodes_of"]["node_id"], len(line["comfy_nodes"]))
        for line in lines
        if "comfy_nodes_of" in line
    ) == [("comfyui-kjnodes", 3), ("comfyui-videohelpersuite", 2), ("pack-upgrade", 1)]
    assert sorted(
        (line["comfy_node_name"], (line["node"] or {}).get("id"))
        for line in lines
        if "comfy_node_name" in line
    ) == [("MysteryNode", None), ("ResolvedNode", "comfyui-kjnodes")]
    online, offline = tmp_path / "online", tmp_path / "offline"
    common = [
        fleet["host1"],
        fleet["host2"],
        "--workflow",
        fleet["workflows"],
        *MACHINE,
        "-q",
        "--no-advice",
        "--no-cache",
    ]
    assert invoke("run", *common, "--registry", server.url, "-o", online).exit_code == 1
    server.clear_log()
    assert invoke("run", *common, "--registry", mirror, "-o", offline).exit_code == 1
    assert server.requests == []

    def rows(out: Path) -> list[dict[str, Any]]:
        return [
            {k: v for k, v in row.items() if k != "run_id"}
            for row in pq.read_table(run_dir(out) / "workflows.parquet").to_pylist()
        ]

    assert rows(online) == rows(offline)


def test_the_cache_answers_a_second_run(
    tmp_path: Path, server: RegistryServer, fleet: dict[str, Path], cache_dir: Path
) -> None:
    args = [
        "run",
        fleet["host1"],
        "--workflow",
        fleet["workflows"],
        "--registry",
        server.url,
        "--cache-dir",
        cache_dir,
        *MACHINE,
        "-q",
        "--no-advice",
    ]
    assert invoke(*args, "-o", tmp_path / "a").exit_code == 1
    server.clear_log()
    assert invoke(*args, "-o", tmp_path / "b").exit_code == 1
    assert [p for p in server.paths() if "comfy-nodes" in p] == []


def test_pages_are_followed_and_bans_and_deprecations_found(
    tmp_path: Path, server: RegistryServer
) -> None:
    many = [comfy_node(f"Filler{i}") for i in range(1500)]
    many += [
        comfy_node("Banned", policy="ComfyNodePolicyBanned"),
        comfy_node("Old", deprecated=True),
        comfy_node("Local", policy="ComfyNodePolicyLocalOnly"),
    ]
    server.add_comfy_nodes("comfyui-kjnodes", "1.1.2", many)
    workflow = tmp_path / "w.json"
    workflow.write_text(
        dumps(
            ui_workflow(
                [
                    ui_node(1, "Banned", "comfyui-kjnodes", "1.1.2"),
                    ui_node(2, "Old", "comfyui-kjnodes", "1.1.2"),
                    ui_node(3, "Local", "comfyui-kjnodes", "1.1.2"),
                    ui_node(4, "Filler1499", "comfyui-kjnodes", "1.1.2"),
                ]
            )
        )
    )
    host = tmp_path / "host.txt"
    host.write_text("comfyui-kjnodes@1.1.2\n")
    out = tmp_path / "out"
    result = invoke(
        "run",
        host,
        "--workflow",
        workflow,
        "--registry",
        server.url,
        "--no-cache",
        *MACHINE,
        "-q",
        "--no-advice",
        "-o",
        out,
    )
    assert result.exit_code == 1
    pages = [r for r in server.requests if r.path.endswith("/comfy-nodes")]
    assert [r.query["page"] for r in pages] == [["1"], ["2"]]
    (row,) = pq.read_table(run_dir(out) / "workflows.parquet").to_pylist()
    assert (row["status"], row["runnable_now"]) == ("banned-node", False)
    findings = pq.read_table(run_dir(out) / "findings.parquet").to_pylist()
    assert sorted(
        (f["check"], f["severity"], f["expected"]) for f in findings if f["source"] == "workflow"
    ) == [
        ("workflow.banned-node", "critical", "Banned"),
        ("workflow.deprecated-node", "warning", "Old"),
    ]


def test_fleet_rolls_up_the_workflows_and_reads_older_runs(
    tmp_path: Path, server: RegistryServer, fleet: dict[str, Path]
) -> None:
    out = tmp_path / "out"
    for host in ("host1", "host2"):
        result = invoke(
            "run",
            fleet[host],
            "--workflow",
            fleet["workflows"],
            "--registry",
            server.url,
            "--no-cache",
            *MACHINE,
            "--target-comfyui",
            "0.4.0",
            "-q",
            "--no-advice",
            "-o",
            out,
        )
        assert result.exit_code == 1, result.output
    # A run written before workflows existed: no workflows table at all.
    older = tmp_path / "older.txt"
    older.write_text("pack-upgrade@2.0.0\n")
    assert (
        invoke(
            "run",
            older,
            "--registry",
            server.url,
            "--no-cache",
            *MACHINE,
            "-q",
            "--no-advice",
            "-o",
            out,
        ).exit_code
        == 0
    )
    for name in ("workflows.parquet", "workflows.csv"):
        (run_dir_of(out, "older") / name).unlink()
    result = invoke("fleet", out, "-q")
    assert result.exit_code == 0, result.output
    (rollup,) = (out / "fleet").iterdir()
    rows = pq.read_table(rollup / "workflows.parquet").to_pylist()
    w = str(fleet["workflows"]) + "/"
    assert [
        (
            r["workflow"].removeprefix(w),
            r["hosts"],
            r["hosts_runnable_now"],
            r["hosts_runnable_after_upgrade"],
            r["top_blockers"],
        )
        for r in rows
    ] == [
        ("a_kj.json", 2, 1, 1, ["comfyui-kjnodes (missing-pack): 1 hosts"]),
        ("b_upgrade.json", 2, 2, 0, []),
        ("c_removed.json", 2, 0, 0, ["comfyui-videohelpersuite (missing-node): 2 hosts"]),
        ("d_api.json", 2, 0, 0, ["comfyui-kjnodes (missing-pack): 1 hosts"]),
        ("e_image.png", 2, 1, 1, ["comfyui-kjnodes (missing-pack): 1 hosts"]),
    ]


def run_dir_of(out: Path, host: str) -> Path:
    for folder in out.iterdir():
        if (folder / "run.json").is_file() and host in json.loads(
            (folder / "run.json").read_text()
        )["hosts"]:
            return folder
    raise AssertionError(host)


def test_mirror_all_with_comfy_nodes(tmp_path: Path, server: RegistryServer) -> None:
    mirror = tmp_path / "all.jsonl"
    result = invoke(
        "mirror", "--all", "--comfy-nodes", "--registry", server.url, "--no-cache", "-o", mirror
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in mirror.read_text().splitlines()]
    assert sorted(line["node_id"] for line in lines if "node_id" in line) == sorted(
        r["node_id"] for r in RECORDS
    )
    assert sorted(
        (line["comfy_nodes_of"]["node_id"], [n["comfy_node_name"] for n in line["comfy_nodes"]])
        for line in lines
        if "comfy_nodes_of" in line
    ) == sorted((node_id, names) for (node_id, _), names in CLASSES.items())
    assert invoke("mirror", "--comfy-nodes", "--registry", server.url, "-o", mirror).exit_code == 2

"""The workflow reader: every variant the corpus holds, and hostile files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audit.workflows.model import NotAWorkflow, WorkflowError, WorkflowNode
from audit.workflows.reader import read_workflow, workflow_files
from tests.workflows.builders import (
    api_workflow,
    dumps,
    png,
    subgraph,
    ui_node,
    ui_workflow,
    webp,
)

SUB = "b0f278b1-8032-4170-9f85-d78c78803ec7"
NESTED = "cc5ed58b-ac70-47ba-8b5e-970742c5c222"


def read(tmp_path: Path, content: object, name: str = "w.json") -> list[WorkflowNode]:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else dumps(content))
    return list(read_workflow(str(path)).nodes)


def test_ui_nodes_keep_pack_version_and_mode(tmp_path: Path) -> None:
    nodes = read(
        tmp_path,
        ui_workflow(
            [
                ui_node(1, "KSampler", "comfy-core", "0.3.30"),
                ui_node(
                    2,
                    "Image Saver Simple",
                    "comfyui-image-saver",
                    "81e938ab9cb85164c06e1bd0591724ea652a02ca",
                    aux_id="alexopus/ComfyUI-Image-Saver",
                ),
                ui_node(3, "VHS_VideoCombine", "ComfyUI-VideoHelperSuite", "1.6.1", mode=4),
                ui_node(4, "SaveImage", mode=2),
            ]
        ),
    )
    assert nodes == [
        WorkflowNode("1", "KSampler", "comfy-core", None, "0.3.30"),
        WorkflowNode(
            "2",
            "Image Saver Simple",
            "comfyui-image-saver",
            "alexopus/ComfyUI-Image-Saver",
            "81e938ab9cb85164c06e1bd0591724ea652a02ca",
        ),
        WorkflowNode(
            "3", "VHS_VideoCombine", "ComfyUI-VideoHelperSuite", None, "1.6.1", inactive=True
        ),
        WorkflowNode("4", "SaveImage", inactive=True),
    ]


def test_subgraph_instances_are_containers_and_nested_definitions_are_read(tmp_path: Path) -> None:
    # Like the workflow_templates files: the instance carries cnr_id comfy-core and a ver.
    document = ui_workflow(
        [ui_node(5, SUB, "comfy-core", "0.3.68"), ui_node(6, "SaveImage", "comfy-core", "0.3.30")],
        subgraphs=[
            subgraph(
                SUB,
                [
                    ui_node(1, "KSampler", "comfy-core", "0.3.30"),
                    ui_node(2, NESTED, "comfy-core", "0.3.68"),
                ],
            ),
            subgraph(NESTED, [ui_node(1, "FaceDetailer", "comfyui-impact-pack", "8.8.1")]),
        ],
    )
    nodes = read(tmp_path, document)
    assert [(n.node_id, n.class_type, n.container, n.inactive) for n in nodes] == [
        ("5", SUB, True, False),
        ("6", "SaveImage", False, False),
        (f"{SUB}/1", "KSampler", False, False),
        (f"{SUB}/2", NESTED, True, False),
        (f"{NESTED}/1", "FaceDetailer", False, False),
    ]


def test_definitions_nested_inside_a_subgraph_are_found(tmp_path: Path) -> None:
    inner = subgraph(NESTED, [ui_node(1, "CLIPTextEncode")])
    outer = subgraph(SUB, [ui_node(1, NESTED)], inner=[inner])
    nodes = read(tmp_path, ui_workflow([ui_node(1, SUB)], subgraphs=[outer]))
    assert [(n.class_type, n.container) for n in nodes] == [
        (SUB, True),
        (NESTED, True),
        ("CLIPTextEncode", False),
    ]


def test_a_bypassed_subgraph_instance_makes_its_nodes_inactive(tmp_path: Path) -> None:
    document = ui_workflow(
        [ui_node(1, SUB, "comfy-core", mode=4)],
        subgraphs=[subgraph(SUB, [ui_node(1, "FaceDetailer", "comfyui-impact-pack")])],
    )
    assert [n.inactive for n in read(tmp_path, document)] == [True, True]


@pytest.mark.parametrize("spelling", ["workflow>group", "workflow/group"])
def test_group_nodes_new_and_legacy(tmp_path: Path, spelling: str) -> None:
    inner = [{"index": 0, "type": "KSamplerAdvanced"}, {"index": 1, "type": "KSampler"}]
    document = ui_workflow([ui_node(15, spelling)], group_nodes={"group": inner})
    nodes = read(tmp_path, document)
    assert [(n.node_id, n.class_type, n.container, n.inactive) for n in nodes] == [
        ("15", spelling, True, False),
        ("workflow>group/0", "KSamplerAdvanced", False, False),
        ("workflow>group/1", "KSampler", False, False),
    ]


def test_node_versions_of_older_frontends(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text(
        dumps(
            ui_workflow(
                [ui_node(1, "HyVideoSampler")],
                node_versions={"ComfyUI-HunyuanVideoWrapper": "1.0.2"},
            )
        )
    )
    assert read_workflow(str(path)).node_versions == {"comfyui-hunyuanvideowrapper": "1.0.2"}


def test_api_format_tolerates_meta_and_notes(tmp_path: Path) -> None:
    document = api_workflow(
        {"1": "UNETLoader", "2": "LTXVGemmaEnhancePrompt"}, _meta={"title": "hand-written"}
    )
    document["2"]["_note"] = "per-node note"
    path = tmp_path / "api.json"
    path.write_text(dumps(document))
    workflow = read_workflow(str(path))
    assert workflow.format == "api"
    assert [(n.node_id, n.class_type) for n in workflow.nodes] == [
        ("1", "UNETLoader"),
        ("2", "LTXVGemmaEnhancePrompt"),
    ]


@pytest.mark.parametrize("compressed", [False, True])
def test_png_prefers_the_ui_workflow(tmp_path: Path, compressed: bool) -> None:
    ui = dumps(ui_workflow([ui_node(1, "LoraLoader", "comfy-core", "0.3.10")]))
    api = dumps(api_workflow({"1": "KSampler"}))
    path = tmp_path / "image.png"
    path.write_bytes(png({"prompt": api, "workflow": ui}, compressed=compressed))
    workflow = read_workflow(str(path))
    assert (workflow.format, [n.class_type for n in workflow.nodes]) == ("png-ui", ["LoraLoader"])


def test_png_with_only_a_prompt_reads_the_api_format(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(png({"prompt": dumps(api_workflow({"3": "KSampler"}))}))
    workflow = read_workflow(str(path))
    assert (workflow.format, [n.class_type for n in workflow.nodes]) == ("png-api", ["KSampler"])


def test_webp_exif_tags(tmp_path: Path) -> None:
    ui = dumps(ui_workflow([ui_node(1, "SaveAnimatedWEBP", "comfy-core", "0.3.40")]))
    path = tmp_path / "image.webp"
    path.write_bytes(
        webp({0x0110: "prompt:" + dumps(api_workflow({"1": "X"})), 0x010F: "workflow:" + ui})
    )
    workflow = read_workflow(str(path))
    assert (workflow.format, [n.class_type for n in workflow.nodes]) == (
        "webp-ui",
        ["SaveAnimatedWEBP"],
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "not JSON: Expecting property name enclosed in double quotes (line 1)"),
        ('{"nodes": NaN}', "not JSON: NaN is not a JSON value"),
        ("[" * 100_000 + "]" * 100_000, "not a workflow: nested too deeply"),
        (
            b"\xff\xfe\x00garbage",
            "not a workflow: neither UTF-8 JSON nor a PNG/WebP image (byte 0)",
        ),
        (
            png({"workflow": "{"}),
            "not JSON: Expecting property name enclosed in double quotes (line 1)",
        ),
        (png({"workflow": "{}"})[:50], "PNG image cut short"),
    ],
)
def test_broken_files_are_one_line_errors(
    tmp_path: Path, content: str | bytes, reason: str
) -> None:
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    with pytest.raises(WorkflowError) as caught:
        read_workflow(str(path))
    assert str(caught.value) == f"{path}: {reason}"


def test_subgraphs_nested_too_deep_are_refused(tmp_path: Path) -> None:
    definition = subgraph("u0", [])
    for depth in range(1, 40):
        definition = subgraph(f"u{depth}", [], inner=[definition])
    path = tmp_path / "deep.json"
    path.write_text(dumps(ui_workflow([], subgraphs=[definition])))
    with pytest.raises(WorkflowError, match="subgraphs nested more than 32 deep"):
        read_workflow(str(path))


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (dumps({"a": 1}), "not a workflow: neither UI format (nodes) nor API format (class_type)"),
        (png({"parameters": "x"}), "PNG image without an embedded workflow or prompt"),
    ],
)
def test_documents_without_a_workflow(tmp_path: Path, content: str | bytes, reason: str) -> None:
    path = tmp_path / "other"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(NotAWorkflow) as caught:
        read_workflow(str(path))
    assert str(caught.value) == f"{path}: {reason}"


def test_fifo_and_missing_paths(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(WorkflowError, match="cannot read the workflow: a FIFO, not a regular file"):
        read_workflow(str(fifo))
    with pytest.raises(WorkflowError, match="no such file or folder"):
        workflow_files(str(tmp_path / "absent"))


def test_a_folder_lists_workflow_files_recursively(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    for name in ("b.json", "a.PNG", "sub/c.webp", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert workflow_files(str(tmp_path)) == [
        str(tmp_path / "a.PNG"),
        str(tmp_path / "b.json"),
        str(tmp_path / "sub/c.webp"),
    ]


def test_json_in_a_string_is_not_executed(tmp_path: Path) -> None:
    # NOTE: a class type is data; a hostile name reaches no code.
    nodes = read(tmp_path, json.dumps(api_workflow({"1": "__import__('os').system('x')"})))
    assert nodes[0].class_type == "__import__('os').system('x')"

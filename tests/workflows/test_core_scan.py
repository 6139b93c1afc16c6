"""ComfyUI's core node list: read statically, both registration styles; the shipped list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audit.workflows.core_scan import scan_core
from audit.workflows.resolve import install_core_nodes, packaged_core_nodes
from tests.workflows.builders import CORPUS

NODES_PY = """
NODE_CLASS_MAPPINGS = {"KSampler": KSampler, "CheckpointLoaderSimple": Loader}
NODE_CLASS_MAPPINGS.update({"Updated": X})
NODE_CLASS_MAPPINGS["Assigned"] = Y

async def init_builtin_extra_nodes():
    extras_files = ["nodes_hooks.py", "nodes_v3.py", "../escape.py"]
"""
HOOKS = """
class A:
    NodeId = "PairConditioningCombine"
class B:
    NodeId = "SetClipHooks"
node_list = [A, B]
NODE_CLASS_MAPPINGS = {}
for node in node_list:
    NODE_CLASS_MAPPINGS[node.NodeId] = node
"""
V3 = """
class Base(io.ComfyNode):
    node_id = "Unused"
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id=cls.node_id, inputs=[])
class Derived(Base):
    node_id = "LoadImageDataSetFromFolder"
class Literal(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="EmptyLatentHunyuan3Dv2")
class TestOnly(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="NotReturned")
class Extension(ComfyExtension):
    async def get_node_list(self):
        return [Derived, Literal]
"""
API = """
class Flux(io.ComfyNode):
    @classmethod
    def define_schema(cls):
        return io.Schema(node_id="FluxProImageNode")
"""


def tree(tmp_path: Path) -> Path:
    files = {
        "nodes.py": NODES_PY,
        "comfyui_version.py": '__version__ = "0.18.1"\n',
        "comfy_extras/nodes_hooks.py": HOOKS,
        "comfy_extras/nodes_v3.py": V3,
        "comfy_api_nodes/nodes_bfl.py": API,
        "comfy_api_nodes/broken.py": "def (",
        "escape.py": 'NODE_CLASS_MAPPINGS = {"Outside": 1}',
    }
    root = tmp_path / "ComfyUI"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_every_registration_style(tmp_path: Path) -> None:
    core = install_core_nodes(tree(tmp_path))
    assert core is not None
    assert core.version == "0.18.1"
    assert sorted(core.nodes) == [
        "Assigned",
        "CheckpointLoaderSimple",
        "EmptyLatentHunyuan3Dv2",
        "KSampler",
        "LoadImageDataSetFromFolder",
        "PairConditioningCombine",
        "SetClipHooks",
        "Updated",
    ]
    assert core.api_nodes == frozenset({"FluxProImageNode"})


def test_not_a_comfyui_tree(tmp_path: Path) -> None:
    assert install_core_nodes(tmp_path) is None


def test_broken_sources_give_no_names_and_no_error() -> None:
    sources = {"nodes.py": "NODE_CLASS_MAPPINGS = {", "comfyui_version.py": "x ="}
    core = scan_core(sources.get, ["comfy_api_nodes/nodes_x.py"])
    assert (core.version, core.all) == (None, frozenset())


def test_the_shipped_list_has_the_core_and_api_nodes() -> None:
    core = packaged_core_nodes()
    assert {"KSampler", "CLIPTextEncode", "LoadImageDataSetFromFolder"} <= core.nodes
    assert "FluxKontextProImageNode" in core.api_nodes
    assert not {"Note", "MarkdownNote", "Reroute", "PrimitiveNode"} & core.all


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not here")
def test_the_shipped_list_matches_the_corpus_derivation() -> None:
    # NOTE: derived independently from the same ComfyUI release (SOURCES.md section 5).
    reference = json.loads((CORPUS / "comfyui-core-nodes.json").read_text())
    by_file = json.loads((CORPUS / "comfyui-core-nodes.by-file.json").read_text())
    core = packaged_core_nodes()
    assert core.nodes == frozenset(reference["nodes"])
    assert core.api_nodes == frozenset(by_file["api_nodes"])

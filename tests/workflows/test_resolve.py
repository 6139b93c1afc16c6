"""Resolving classes to packs, and the invariant: every node is accounted for exactly once."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from audit.workflows.core_scan import CoreNodes
from audit.workflows.model import Workflow, WorkflowNode
from audit.workflows.resolve import Need, Resolver, highest, is_commit, read_node_map

CORE = CoreNodes("0.18.1", frozenset({"KSampler", "SaveImage"}), frozenset({"FluxProImageNode"}))


def needs_of(
    nodes: list[WorkflowNode],
    registry: dict[str, str | None] | None = None,
    resolver: Resolver | None = None,
) -> list[Need]:
    workflow = Workflow("w.json", "ui", tuple(nodes))
    return list((resolver or Resolver(CORE)).needs(workflow, registry or {}).needs)


def test_resolution_order() -> None:
    nodes = [
        WorkflowNode("1", "KSampler"),
        WorkflowNode("2", "FluxProImageNode"),
        WorkflowNode("3", "Foo", cnr_id="ComfyUI-Foo", ver="1.2.0"),
        WorkflowNode("4", "Foo2", cnr_id="comfyui-foo", ver="1.10.0"),
        WorkflowNode("5", "Bar", aux_id="someone/ComfyUI-Bar", ver="0123abcd" * 5),
        WorkflowNode("6", "FromRegistry"),
        WorkflowNode("7", "Nowhere"),
        WorkflowNode("8", "Note"),
    ]
    resolver = Resolver(CORE)
    assert resolver.unknown_classes([Workflow("w", "ui", tuple(nodes))]) == [
        "FromRegistry",
        "Nowhere",
    ]
    needs = needs_of(nodes, {"FromRegistry": "registry-pack", "Nowhere": None})
    assert [(n.pack, n.url, n.classes, n.made_with, n.checked) for n in needs] == [
        (None, None, ("Nowhere",), None, ()),
        ("comfy-core", None, ("FluxProImageNode", "KSampler"), None, ()),
        (
            "ComfyUI-Bar",
            "https://github.com/someone/ComfyUI-Bar",
            ("Bar",),
            "0123abcd" * 5,
            ("Bar",),
        ),
        # NOTE: mixed-case cnr_id: one pack, its first spelling, the highest version.
        ("ComfyUI-Foo", None, ("Foo", "Foo2"), "1.10.0", ("Foo", "Foo2")),
        ("registry-pack", None, ("FromRegistry",), None, ("FromRegistry",)),
    ]


def test_the_node_map_is_the_last_resort(tmp_path: Path) -> None:
    path = tmp_path / "extension-node-map.json"
    path.write_text(
        json.dumps(
            {
                "https://github.com/kijai/ComfyUI-KJNodes": [
                    ["GetNode", "SetNode"],
                    {"title_aux": "KJ"},
                ],
                "not a url": [["X"], {}],
            }
        )
    )
    resolver = Resolver(CORE, read_node_map(str(path)))
    needs = needs_of([WorkflowNode("1", "GetNode")], {"GetNode": None}, resolver)
    assert [(n.pack, n.url, n.checked) for n in needs] == [
        ("ComfyUI-KJNodes", "https://github.com/kijai/ComfyUI-KJNodes", ())
    ]


def test_made_with_falls_back_to_node_versions() -> None:
    workflow = Workflow("w", "ui", (WorkflowNode("1", "X", cnr_id="Pack"),), {"pack": "2.0.0"})
    (need,) = Resolver(CORE).needs(workflow, {}).needs
    assert need.made_with == "2.0.0"


def test_versions_and_commits() -> None:
    assert highest(["1.9.0", "1.10.0", "81e938ab9cb85164c06e1bd0591724ea652a02ca"]) == "1.10.0"
    assert highest(["81e938ab9cb85164c06e1bd0591724ea652a02ca"]) == (
        "81e938ab9cb85164c06e1bd0591724ea652a02ca"
    )
    assert [is_commit(v) for v in ("1.0.0", "778a475", "2506230015", "abc")] == [
        False,
        True,
        False,
        False,
    ]


names = st.sampled_from(["KSampler", "SaveImage", "Note", "Reroute", "Foo", "Bar", "uuid-1"])
nodes = st.builds(
    WorkflowNode,
    node_id=st.text(min_size=1, max_size=5),
    class_type=names,
    cnr_id=st.one_of(st.none(), st.sampled_from(["Pack", "pack", "comfy-core", "Other"])),
    aux_id=st.one_of(st.none(), st.sampled_from(["o/Repo", "o/Pack"])),
    ver=st.one_of(st.none(), st.sampled_from(["1.0.0", "2.0", "778a475dde8116a2"])),
    inactive=st.booleans(),
    container=st.booleans(),
)


@settings(deadline=None, max_examples=200)
@given(st.lists(nodes, max_size=30), st.dictionaries(names, st.one_of(st.none(), names)))
def test_every_node_is_accounted_for_exactly_once(
    listed: list[WorkflowNode], registry: dict[str, str | None]
) -> None:
    unique = list({n.node_id: n for n in listed}.values())
    result = Resolver(CORE).needs(Workflow("w", "ui", tuple(unique)), registry)
    accounted = [
        *result.containers,
        *result.frontend,
        *(node_id for need in result.needs for node_id in need.node_ids),
    ]
    assert sorted(accounted) == sorted(n.node_id for n in unique)
    packs = [need.pack.lower() for need in result.needs if need.pack is not None]
    assert len(packs) == len(set(packs))

"""Every file of the shared workflow corpus reads without a crash (skipped when it is absent)."""

from __future__ import annotations

import pytest

from audit.workflows.model import NotAWorkflow
from audit.workflows.prepare import resolve_workflows
from audit.workflows.reader import read_workflow
from audit.workflows.resolve import Resolver, packaged_core_nodes
from tests.workflows.builders import CORPUS

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not here")

#: Files of the corpus that are data about workflows, not workflows.
NOT_WORKFLOWS = {
    "Comfy-Org__ComfyUI-Manager__extension-node-map.json",
    "comfyui-core-nodes.json",
    "comfyui-core-nodes.by-file.json",
}


class NoRegistry:
    def classes_of(self, keys: object) -> dict[object, object]:
        return {}

    def packs_of(self, names: list[str]) -> dict[str, object]:
        from audit.registry.comfy_nodes import PackOf

        return {name: PackOf(None) for name in names}


def test_every_file_reads_and_every_node_is_accounted_for() -> None:
    files = sorted(p for p in CORPUS.iterdir() if p.suffix in (".json", ".png", ".webp"))
    resolver = Resolver(packaged_core_nodes())
    read = 0
    for path in files:
        if path.name in NOT_WORKFLOWS:
            with pytest.raises(NotAWorkflow):
                read_workflow(str(path))
            continue
        workflow = read_workflow(str(path))
        assert workflow.nodes, path.name
        needs = resolver.needs(workflow, {})
        counted = len(needs.containers) + len(needs.frontend)
        counted += sum(len(n.node_ids) for n in needs.needs)
        assert counted == len(workflow.nodes), path.name
        read += 1
    assert read == len(files) - len(NOT_WORKFLOWS)


def test_the_corpus_with_the_node_map_leaves_fewer_classes_unresolved() -> None:
    node_map = str(CORPUS / "Comfy-Org__ComfyUI-Manager__extension-node-map.json")
    plain = resolve_workflows([str(CORPUS)], NoRegistry())  # type: ignore[arg-type]
    mapped = resolve_workflows([str(CORPUS)], NoRegistry(), node_map=node_map)  # type: ignore[arg-type]

    def unresolved(needs: object) -> set[str]:
        return {c for wn in needs.needs for n in wn.needs if n.pack is None for c in n.classes}  # type: ignore[attr-defined]

    assert len(mapped.needs) == len(plain.needs) == 70
    assert unresolved(mapped) < unresolved(plain)
    # The subgraph instances that carry cnr_id comfy-core are containers, never classes.
    assert not any(
        len(c) == 36 and c.count("-") == 4
        for wn in plain.needs
        for n in wn.needs
        for c in n.classes
    )

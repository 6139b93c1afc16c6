"""From workflow paths to what they need: read every file, resolve every class (asking the
registry once per distinct unresolved class), and build the run's workflow stage or the
manifest that ``comfy-audit needs`` prints."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from audit.model import EntrySource, Failed, Manifest, ManifestEntry
from audit.registry.comfy_nodes import ComfyNodesSource, PackAnswer, PackOf
from audit.workflows.audit import WorkflowAudit
from audit.workflows.model import NotAWorkflow, Workflow
from audit.workflows.reader import read_workflow, workflow_files
from audit.workflows.resolve import (
    Need,
    Resolver,
    WorkflowNeeds,
    highest,
    install_core_nodes,
    is_commit,
    packaged_core_nodes,
    read_node_map,
)

__all__ = ["Resolved", "needs_manifest", "resolve_workflows"]


@dataclass(frozen=True)
class Resolved:
    """Represents every workflow given, resolved, and the registry's answers it took."""

    needs: tuple[WorkflowNeeds, ...]
    packs: dict[str, PackAnswer]
    """The registry's answer for each class no file or core list tied to a pack."""

    @property
    def failed(self) -> list[str]:
        """Classes whose lookup failed (they are reported unresolved)."""
        return [name for name, answer in self.packs.items() if isinstance(answer, Failed)]

    def audit(self, source: ComfyNodesSource) -> WorkflowAudit:
        return WorkflowAudit(self.needs, source, frozenset(self.failed))


def resolve_workflows(
    paths: Sequence[str],
    source: ComfyNodesSource,
    *,
    comfyui: str | None = None,
    node_map: str | None = None,
) -> Resolved:
    """Read and resolve the workflows ``paths`` name (files or folders, in order).

    :raises WorkflowError: for a file that cannot be read as a workflow.
    :raises InputError: for a node map that cannot be read.
    """
    workflows = list(_read_all(paths))
    core = (install_core_nodes(comfyui) if comfyui else None) or packaged_core_nodes()
    resolver = Resolver(core, read_node_map(node_map) if node_map else None)
    unknown = resolver.unknown_classes(workflows)
    packs = dict(source.packs_of(unknown)) if unknown else {}
    found = {name: a.node_id for name, a in packs.items() if isinstance(a, PackOf)}
    return Resolved(tuple(resolver.needs(w, found) for w in workflows), packs)


def _read_all(paths: Sequence[str]) -> Iterator[Workflow]:
    seen: set[str] = set()
    for path in paths:
        for file in workflow_files(path):
            if file in seen:
                continue
            seen.add(file)
            try:
                yield read_workflow(file)
            except NotAWorkflow:
                if file == path:
                    raise
                # NOTE: a folder of workflows also holds other JSON (a node map, settings).


def needs_manifest(resolved: Resolved, host: str = "workflows") -> tuple[Manifest, list[str]]:
    """The packs the workflows need as a manifest (one entry a pack, its highest version; git
    packs by repository with their commit), and comment lines for what a manifest cannot hold:
    the ComfyUI version they were made with and the unresolved classes."""
    by_pack: dict[str, list[Need]] = {}
    core_versions: list[str] = []
    unresolved: dict[str, None] = {}
    for wn in resolved.needs:
        for need in wn.needs:
            if need.pack is None:
                unresolved.update(dict.fromkeys(need.classes))
            elif need.core:
                core_versions += [need.made_with] if need.made_with else []
            else:
                by_pack.setdefault(need.pack.lower(), []).append(need)
    entries = tuple(_entry(host, items) for _, items in sorted(by_pack.items()))
    comments = []
    if core_versions:
        comments.append(f"# ComfyUI: the newest core node was made with {highest(core_versions)}")
    if unresolved:
        comments.append(f"# unresolved classes (no known pack): {', '.join(unresolved)}")
    if resolved.failed:
        comments.append(f"# lookups failed for: {', '.join(resolved.failed)}")
    return Manifest("workflows", host, "workflows", entries), comments


def _entry(host: str, needs: list[Need]) -> ManifestEntry:
    pack = needs[0].pack or ""
    url = next((n.url for n in needs if n.url), None)
    versions = [n.made_with for n in needs if n.made_with]
    releases = [v for v in versions if not is_commit(v)]
    commit = next((v for v in versions if is_commit(v)), None)
    # NOTE: a registry pack saved from a nightly (git) install names only a commit: restore it
    # from git at that commit; with a release version, from the registry.
    if url is not None and (any(n.git for n in needs) or not releases):
        return ManifestEntry(host, pack, commit, EntrySource.GIT, "workflows", url=url, hash=commit)
    return ManifestEntry(host, pack, highest(releases), EntrySource.REGISTRY, "workflows")

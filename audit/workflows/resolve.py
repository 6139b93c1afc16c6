"""Which pack each node of a workflow needs: its own ``cnr_id``/``aux_id``, else ComfyUI's core
list, else the registry's reverse lookup, else ComfyUI-Manager's extension-node-map.json.
What stays unresolved is reported as such, never guessed."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from audit import safeio
from audit.errors import InputError
from audit.manifest.gitsource import repository_name
from audit.versions import parse_local_version
from audit.workflows.core_scan import CoreNodes, scan_core
from audit.workflows.model import CORE_PACK, Workflow, WorkflowNode

__all__ = [
    "FRONTEND_ONLY",
    "Need",
    "NodeMap",
    "Resolver",
    "WorkflowNeeds",
    "install_core_nodes",
    "is_commit",
    "packaged_core_nodes",
    "read_node_map",
    "registry_packs",
]

#: Node types the ComfyUI frontend itself provides; no server class, so no pack.
FRONTEND_ONLY = frozenset({"Note", "MarkdownNote", "Reroute", "PrimitiveNode"})
_MAX_SOURCE = 8 * 1024 * 1024
_MAX_NODE_MAP = 64 * 1024 * 1024


@dataclass(frozen=True)
class Need:
    """Represents one pack a workflow needs (or, with ``pack`` None, its unresolved classes)."""

    pack: str | None
    url: str | None
    """The git repository, for packs known by ``aux_id`` (or from the node map)."""
    classes: tuple[str, ...]
    node_ids: tuple[str, ...]
    made_with: str | None
    """The highest version (else a commit) any of its nodes was made with."""
    inactive: bool
    """Every node that needs it is bypassed or muted."""
    checked: tuple[str, ...] = ()
    """The classes whose presence in the installed version can be checked (those the file or
    the registry tied to the pack; node-map classes may be frontend-only)."""
    active_classes: tuple[str, ...] = ()
    """The classes that at least one active (neither bypassed nor muted) node uses."""
    git: bool = False
    """Known only by its repository (``aux_id`` without ``cnr_id``, or the node map)."""
    core: bool = False
    """ComfyUI's own nodes (``comfy-core``): checked against the ComfyUI version."""


@dataclass(frozen=True)
class WorkflowNeeds:
    """Represents what one workflow needs: every node accounted for exactly once."""

    workflow: Workflow
    needs: tuple[Need, ...]
    containers: tuple[str, ...]
    frontend: tuple[str, ...]


@dataclass(frozen=True)
class NodeMap:
    """ComfyUI-Manager's extension-node-map.json: class name → (pack id, repository URL)."""

    by_class: Mapping[str, tuple[str, str]]


@cache
def packaged_core_nodes() -> CoreNodes:
    """The core node list shipped with comfy-audit (scripts/generate_core_nodes.py)."""
    text = resources.files("audit.workflows").joinpath("data/comfyui_core_nodes.json").read_text()
    data = json.loads(text)
    return CoreNodes(
        data["comfyui_version"], frozenset(data["nodes"]), frozenset(data["api_nodes"])
    )


def install_core_nodes(comfyui: str | Path) -> CoreNodes | None:
    """The class names of the ComfyUI at ``comfyui``, read statically; ``None`` when it has no
    ``nodes.py`` (not a ComfyUI checkout)."""
    root = Path(comfyui)

    def read(relative: str) -> str | None:
        path = root / relative
        if not path.is_file() or not safeio.stays_within(path, root):
            return None
        try:
            return safeio.read_text(path, limit=_MAX_SOURCE)
        except safeio.Refused:
            return None

    if read("nodes.py") is None:
        return None
    api = sorted(
        p.relative_to(root).as_posix()
        for p in (root / "comfy_api_nodes").glob("nodes_*.py")
        if safeio.stays_within(p, root)
    )
    return scan_core(read, api)


def read_node_map(path: str) -> NodeMap:
    """Read ``extension-node-map.json`` (``{url: [[class, ...], {meta}]}``).

    :raises InputError: naming the file when it cannot be read as such a map.
    """
    try:
        data = json.loads(safeio.read_text(path, limit=_MAX_NODE_MAP))
    except safeio.Refused as error:
        raise InputError(f"{path}: cannot read the node map: {error}") from None
    except (ValueError, RecursionError):
        message = f"{path}: not JSON (expected ComfyUI-Manager's extension-node-map.json)"
        raise InputError(message) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: not an extension-node-map (expected an object of URLs)")
    by_class: dict[str, tuple[str, str]] = {}
    for url, value in data.items():
        names = value[0] if isinstance(value, list) and value else None
        if not isinstance(url, str) or not isinstance(names, list) or "://" not in url:
            continue
        pack = repository_name(url)
        for name in names:
            if isinstance(name, str):
                by_class.setdefault(name, (pack, url))
    return NodeMap(by_class)


def is_commit(text: str) -> bool:
    """Whether a ``ver`` is a git commit rather than a version."""
    lowered = text.lower()
    hexadecimal = len(lowered) >= 7 and all(c in "0123456789abcdef" for c in lowered)
    return hexadecimal and (len(lowered) >= 20 or not lowered.isdigit())


class Resolver:
    """Ties each node to a pack; `unknown_classes` says which names need the registry."""

    def __init__(self, core: CoreNodes, node_map: NodeMap | None = None) -> None:
        self._core = core.all
        self._node_map = node_map

    def unknown_classes(self, workflows: Iterable[Workflow]) -> list[str]:
        """Class names no node file and no core list ties to a pack, each once, in order."""
        names = (
            n.class_type
            for w in workflows
            for n in w.nodes
            if self._kind(n) == "class" and n.cnr_id is None and n.aux_id is None
        )
        return list(dict.fromkeys(name for name in names if name not in self._core))

    def needs(self, workflow: Workflow, registry_packs: Mapping[str, str | None]) -> WorkflowNeeds:
        """What ``workflow`` needs, given the registry's answers (class → pack id or None)."""
        groups: dict[str, list[tuple[WorkflowNode, str | None, str | None, bool]]] = {}
        containers, frontend = [], []
        for node in workflow.nodes:
            kind = self._kind(node)
            if kind == "container":
                containers.append(node.node_id)
            elif kind == "frontend":
                frontend.append(node.node_id)
            else:
                pack, url, checked = self._pack(node, registry_packs)
                groups.setdefault("" if pack is None else pack.lower(), []).append(
                    (node, pack, url, checked)
                )
        needs = tuple(_need(members, workflow) for _, members in sorted(groups.items()))
        return WorkflowNeeds(workflow, needs, tuple(containers), tuple(frontend))

    def _kind(self, node: WorkflowNode) -> str:
        if node.container:
            return "container"
        if node.class_type in FRONTEND_ONLY and node.cnr_id is None:
            return "frontend"
        return "class"

    def _pack(
        self, node: WorkflowNode, registry_packs: Mapping[str, str | None]
    ) -> tuple[str | None, str | None, bool]:
        """(pack, repository URL, whether the class can be checked against the pack)."""
        url = f"https://github.com/{node.aux_id}" if node.aux_id and "/" in node.aux_id else None
        if node.cnr_id is not None:
            return node.cnr_id, url, True
        if url is not None:
            return repository_name(url), url, True
        if node.class_type in self._core:
            return CORE_PACK, None, False
        found = registry_packs.get(node.class_type)
        if found is not None:
            return found, None, True
        mapped = self._node_map.by_class.get(node.class_type) if self._node_map else None
        if mapped is not None:
            return mapped[0], mapped[1], False
        return None, None, False


def _need(
    members: Sequence[tuple[WorkflowNode, str | None, str | None, bool]], workflow: Workflow
) -> Need:
    pack = members[0][1]
    url = next((u for _, _, u, _ in members if u), None)
    versions = [n.ver for n, _, _, _ in members if n.ver]
    if not versions and pack is not None and pack.lower() in workflow.node_versions:
        versions = [workflow.node_versions[pack.lower()]]
    return Need(
        pack=pack,
        url=url,
        classes=tuple(sorted({n.class_type for n, _, _, _ in members})),
        node_ids=tuple(n.node_id for n, _, _, _ in members),
        made_with=highest(versions),
        inactive=all(n.inactive for n, _, _, _ in members),
        checked=tuple(sorted({n.class_type for n, _, _, c in members if c})),
        active_classes=tuple(sorted({n.class_type for n, _, _, _ in members if not n.inactive})),
        git=url is not None and all(n.cnr_id is None for n, _, _, _ in members),
        core=pack is not None and pack.lower() == CORE_PACK,
    )


def registry_packs(needs: Iterable[WorkflowNeeds]) -> list[str]:
    """The registry packs ``needs`` name, each once (first spelling kept): neither ComfyUI's
    own nodes nor packs known only by their repository."""
    packs: dict[str, str] = {}
    for wn in needs:
        for need in wn.needs:
            if need.pack and not (need.core or need.git):
                packs.setdefault(need.pack.lower(), need.pack)
    return list(packs.values())


def highest(versions: Sequence[str]) -> str | None:
    """The highest of ``versions`` that parse; a commit only when none does."""
    parsed = [(v, parse_local_version(v)) for v in versions if not is_commit(v)]
    comparable = [(p, v) for v, p in parsed if p is not None]
    if comparable:
        return max(comparable)[1]
    return versions[0] if versions else None

"""Read workflow files: ComfyUI's UI (litegraph) JSON, API prompts, and PNG/WebP images that
carry either in their metadata.

Every file is hostile: read through `audit.safeio` with a size cap, JSON nesting and subgraph
depth capped, and any problem is one `WorkflowError` line naming the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from audit import safeio
from audit.workflows.images import embedded_workflow
from audit.workflows.model import Mode, NotAWorkflow, Workflow, WorkflowError, WorkflowNode

__all__ = ["MAX_FILE_BYTES", "MAX_NODES", "parse_workflow", "read_workflow", "workflow_files"]

MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_NODES = 100_000
#: Subgraphs nest; deeper than this is not a workflow anyone drew.
MAX_DEPTH = 32
_SUFFIXES = (".json", ".png", ".webp")
_INACTIVE = (Mode.NEVER, Mode.BYPASS)


class _Absent(ValueError):
    """The document is readable but is no workflow."""


def workflow_files(path: str) -> list[str]:
    """The workflow files ``path`` names: itself, or a folder's ``*.json``/``*.png``/``*.webp``
    files (recursively, sorted; symlinks leading out of the folder skipped).

    :raises WorkflowError: when ``path`` does not exist.
    """
    root = Path(path)
    if root.is_dir():
        found = (
            p
            for p in sorted(root.rglob("*"))
            if p.suffix.lower() in _SUFFIXES and p.is_file() and safeio.stays_within(p, root)
        )
        return [str(p) for p in found]
    if not root.exists():
        raise WorkflowError(f"{path}: no such file or folder")
    return [path]


def read_workflow(path: str) -> Workflow:
    """Read one workflow file (JSON, PNG or WebP, told apart by content).

    :raises WorkflowError: naming ``path``, for anything unreadable.
    """
    try:
        data = safeio.read_bytes(path, limit=MAX_FILE_BYTES)
    except safeio.Refused as error:
        raise WorkflowError(f"{path}: cannot read the workflow: {error}") from None
    try:
        kind, document = _document(data)
        return parse_workflow(path, document, kind)
    except _Absent as error:
        raise NotAWorkflow(f"{path}: {error}") from None
    except (ValueError, RecursionError) as error:
        raise WorkflowError(f"{path}: {_reason(error)}") from None


def _document(data: bytes) -> tuple[str, object]:
    try:
        embedded = embedded_workflow(data)
    except LookupError as error:
        raise _Absent(str(error)) from None
    if embedded is not None:
        kind, text = embedded
        return kind, _json(text)
    return "", _json(data.decode("utf-8-sig", errors="strict"))


def _json(text: str) -> object:
    try:
        return json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error.msg} (line {error.lineno})") from None


def _no_constant(name: str) -> object:
    raise ValueError(f"not JSON: {name} is not a JSON value")


def _reason(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "not a workflow: nested too deeply"
    if isinstance(error, UnicodeDecodeError):
        return f"not a workflow: neither UTF-8 JSON nor a PNG/WebP image (byte {error.start})"
    return str(error)


def parse_workflow(path: str, document: object, kind: str = "") -> Workflow:
    """Read a parsed JSON document as a workflow (UI format when it has ``nodes``, else API).

    :raises ValueError: when it is neither.
    """
    if isinstance(document, dict) and _is_node_list(document.get("nodes")):
        nodes, versions = _ui_nodes(document), _node_versions(document)
        fmt = "ui"
    elif isinstance(document, dict) and any(_is_api_node(v) for v in document.values()):
        nodes, versions, fmt = tuple(_api_nodes(document)), {}, "api"
    else:
        raise _Absent("not a workflow: neither UI format (nodes) nor API format (class_type)")
    if len(nodes) > MAX_NODES:
        raise ValueError(f"not a workflow: more than {MAX_NODES} nodes")
    return Workflow(path, f"{kind}-{fmt}" if kind else fmt, nodes, versions)


def _is_node_list(value: object) -> bool:
    # NOTE: other JSON has a "nodes" list too (of names): a graph's nodes are objects.
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


# -- API format ----------------------------------------------------------------------------


def _is_api_node(value: object) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class_type"), str)


def _api_nodes(document: Mapping[str, object]) -> Iterator[WorkflowNode]:
    # NOTE: keys without a class_type (a top-level "_meta", notes) are not nodes.
    for key, value in document.items():
        if _is_api_node(value):
            assert isinstance(value, dict)
            yield WorkflowNode(str(key), value["class_type"])


# -- UI format -----------------------------------------------------------------------------


def _node_versions(document: Mapping[str, Any]) -> dict[str, str]:
    extra = document.get("extra")
    versions = extra.get("node_versions") if isinstance(extra, dict) else None
    if not isinstance(versions, dict):
        return {}
    return {k.lower(): v for k, v in versions.items() if isinstance(k, str) and isinstance(v, str)}


class _Graph:
    """The definitions of a UI workflow: subgraphs by UUID and group nodes by type name."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.subgraphs: dict[str, list[object]] = {}
        self._collect_subgraphs(document, 0)
        self.groups: dict[str, list[object]] = {}
        extra = document.get("extra")
        groups = extra.get("groupNodes") if isinstance(extra, dict) else None
        for name, group in groups.items() if isinstance(groups, dict) else ():
            inner = group.get("nodes") if isinstance(group, dict) else None
            if isinstance(name, str) and isinstance(inner, list):
                # NOTE: frontends since 1.3 write "workflow>name"; older ones "workflow/name".
                self.groups[f"workflow>{name}"] = self.groups[f"workflow/{name}"] = inner

    def _collect_subgraphs(self, holder: Mapping[str, Any], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise ValueError(f"not a workflow: subgraphs nested more than {MAX_DEPTH} deep")
        definitions = holder.get("definitions")
        subgraphs = definitions.get("subgraphs") if isinstance(definitions, dict) else None
        for subgraph in subgraphs if isinstance(subgraphs, list) else ():
            if isinstance(subgraph, dict) and isinstance(subgraph.get("id"), str):
                inner = subgraph.get("nodes")
                self.subgraphs.setdefault(subgraph["id"], inner if isinstance(inner, list) else [])
                self._collect_subgraphs(subgraph, depth + 1)

    def key(self, class_type: str) -> str:
        """The one name of a definition (group nodes have two spellings)."""
        if class_type in self.groups:
            return class_type.replace("workflow/", "workflow>", 1)
        return class_type

    def inner(self, class_type: str) -> list[object] | None:
        """The nodes of the definition ``class_type`` instantiates, if it is a container."""
        found = self.subgraphs.get(class_type)
        return found if found is not None else self.groups.get(class_type)


def _ui_nodes(document: Mapping[str, Any]) -> tuple[WorkflowNode, ...]:
    """Every node of the root graph and of each definition once; a definition's nodes are
    inactive unless some active node (transitively from the root) instantiates it."""
    graph = _Graph(document)
    seen: dict[str, tuple[WorkflowNode, ...]] = {}
    active: set[str] = set()
    root = tuple(_read_nodes(document["nodes"], "", graph))
    pending = [n for n in root if n.container and not n.inactive]
    while pending:
        container = pending.pop()
        if graph.key(container.class_type) in active:
            continue
        active.add(graph.key(container.class_type))
        inner = _definition(container.class_type, graph, seen)
        pending += [n for n in inner if n.container and not n.inactive]
    for name in {*graph.subgraphs, *graph.groups}:
        _definition(name, graph, seen)
    nested = [
        node if name in active else _inactive(node)
        for name, nodes in sorted(seen.items())
        for node in nodes
    ]
    return (*root, *nested)


def _definition(
    name: str, graph: _Graph, seen: dict[str, tuple[WorkflowNode, ...]]
) -> tuple[WorkflowNode, ...]:
    key = graph.key(name)
    if key not in seen:
        inner = graph.inner(name) or []
        seen[key] = tuple(_read_nodes(inner, f"{key}/", graph))
    return seen[key]


def _inactive(node: WorkflowNode) -> WorkflowNode:
    return node if node.inactive else WorkflowNode(**{**node.__dict__, "inactive": True})


def _read_nodes(items: list[object], prefix: str, graph: _Graph) -> Iterator[WorkflowNode]:
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        class_type = item.get("type")
        if not isinstance(class_type, str) or not class_type.strip():
            continue
        properties = item.get("properties")
        props = properties if isinstance(properties, dict) else {}
        raw_id = item.get("id", item.get("index", index))
        yield WorkflowNode(
            node_id=f"{prefix}{raw_id}",
            class_type=class_type,
            cnr_id=_text(props.get("cnr_id")),
            aux_id=_text(props.get("aux_id")),
            ver=_text(props.get("ver")),
            inactive=item.get("mode") in _INACTIVE,
            container=graph.inner(class_type) is not None,
        )


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None

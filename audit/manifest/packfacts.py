"""What a scanned pack says about itself, carried in a snapshot so that ``run`` on it is the
same audit as ``run --comfyui`` on the install.

Two top-level keys of comfy-audit's own, which ComfyUI-Manager ignores, each keyed by the pack's
id as the snapshot names it (its node id):

- ``pack_requirements``: ``{node_id: [line, ...]}``, the lines of the pack's ``requirements.txt``;
- ``pack_declared``: ``{node_id: {supported_os, supported_accelerators,
  supported_comfyui_version, supported_comfyui_frontend_version, dependencies}}``, what its
  ``pyproject.toml`` declares (the lists may be null: not declared).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TypeVar

from audit.manifest.interface import Context, Malformed, brief
from audit.manifest.tree import Map, Seq, Tree, as_id, as_optional_str, as_str, describe, is_null
from audit.model import ManifestEntry, NodeVersion

__all__ = ["PACK_DECLARED", "PACK_REQUIREMENTS", "read_pack_facts", "write_pack_facts"]

PACK_REQUIREMENTS = "pack_requirements"
PACK_DECLARED = "pack_declared"
_TEXTS = ("supported_comfyui_version", "supported_comfyui_frontend_version")
_LISTS = ("supported_os", "supported_accelerators", "dependencies")

T = TypeVar("T")


def write_pack_facts(entries: Iterable[ManifestEntry]) -> dict[str, dict[str, object]]:
    """Return the two keys for ``entries``; when two packs share an id, the first is kept."""
    requirements: dict[str, object] = {}
    declared: dict[str, object] = {}
    for entry in entries:
        if entry.requirements is not None:
            requirements.setdefault(entry.node_id, list(entry.requirements))
        if entry.declared is not None:
            declared.setdefault(entry.node_id, _declared_item(entry.declared))
    return {PACK_REQUIREMENTS: requirements, PACK_DECLARED: declared}


def _declared_item(declared: NodeVersion) -> dict[str, object]:
    item: dict[str, object] = {name: getattr(declared, name) for name in _TEXTS}
    for name in _LISTS:
        value = getattr(declared, name)
        item[name] = list(value) if value is not None else None
    return item


def read_pack_facts(
    section: Map, entries: Sequence[ManifestEntry], ctx: Context
) -> tuple[ManifestEntry, ...]:
    """Return ``entries`` with the requirements and declarations ``section`` holds for them;
    problems go to ``ctx``."""
    requirements = _read_map(section.get(PACK_REQUIREMENTS), PACK_REQUIREMENTS, _lines, ctx)
    declared = _read_map(section.get(PACK_DECLARED), PACK_DECLARED, _declared, ctx)
    if not requirements and not declared:
        return tuple(entries)
    return tuple(_with_facts(e, requirements, declared) for e in entries)


def _with_facts(
    entry: ManifestEntry,
    requirements: Mapping[str, tuple[str, ...]],
    declared: Mapping[str, NodeVersion],
) -> ManifestEntry:
    found = declared.get(entry.node_id)
    return replace(
        entry,
        requirements=requirements.get(entry.node_id, entry.requirements),
        declared=(
            replace(found, node_id=entry.node_id, version=entry.version or "")
            if found is not None
            else entry.declared
        ),
    )


def _read_map(
    tree: Tree | None, key: str, read: Callable[[Tree, str], T], ctx: Context
) -> dict[str, T]:
    if tree is None or is_null(tree):
        return {}
    if not isinstance(tree, Map):
        ctx.problems.add(
            f"{key} must be a mapping of node id to facts, got {describe(tree)}", tree.line
        )
        return {}
    found: dict[str, T] = {}
    for name, value in tree.pairs:
        try:
            node_id = as_id(name, f"node id in {key}", value.line)
            found.setdefault(node_id, read(value, f"{key} of {brief(node_id)}"))
        except Malformed as e:
            ctx.problems.add(e.message, e.line)
    return found


def _lines(tree: Tree, what: str) -> tuple[str, ...]:
    if not isinstance(tree, Seq):
        raise Malformed(f"{what} must be a list of lines, got {describe(tree)}", tree.line)
    return tuple(as_str(item, f"a line of {what}", tree.line) for item in tree.items)


def _declared(tree: Tree, what: str) -> NodeVersion:
    if not isinstance(tree, Map):
        raise Malformed(f"{what} must be a mapping, got {describe(tree)}", tree.line)

    def text(name: str) -> str | None:
        return as_optional_str(tree.get(name), f"{name} of {what}", tree.line)

    def lines(name: str) -> tuple[str, ...] | None:
        value = tree.get(name)
        return None if value is None or is_null(value) else _lines(value, f"{name} of {what}")

    return NodeVersion(
        node_id="",
        version="",
        supported_os=lines("supported_os"),
        supported_accelerators=lines("supported_accelerators"),
        supported_comfyui_version=text("supported_comfyui_version"),
        supported_comfyui_frontend_version=text("supported_comfyui_frontend_version"),
        dependencies=lines("dependencies"),
    )

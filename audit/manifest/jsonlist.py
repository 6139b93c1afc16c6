"""Read a JSON list: ``[{"node_id": ..., "version": ..., "host"?: ...}]`` or ``{id: version}``."""

from __future__ import annotations

from audit.manifest.interface import Context, Malformed, brief, merge_duplicates
from audit.manifest.tree import Map, Scalar, Seq, Tree, as_id, as_optional_str
from audit.model import Manifest, ManifestEntry

__all__ = ["NOT_RECOGNISED", "read_json"]

NOT_RECOGNISED = (
    'not a recognised manifest: expected a list of {"node_id": ..., "version": ...} objects, '
    "a {node_id: version} object, or a ComfyUI-Manager snapshot"
)


def _item(item: Tree, index: int, ctx: Context) -> ManifestEntry:
    if not isinstance(item, Map):
        raise Malformed(f"item {index}: expected an object with node_id and version", item.line)
    node_id = as_id(item.get("node_id"), f"node_id of item {index}", item.line)
    version = as_optional_str(item.get("version"), f"version of {brief(node_id)}", item.line)
    host = as_optional_str(item.get("host"), f"host of {brief(node_id)}", item.line)
    return ctx.entry(node_id, version, item.line, host=host.strip() if host else None)


def _pair(key: Tree, value: Tree, ctx: Context) -> ManifestEntry:
    node_id = as_id(key, "node id")
    version = as_optional_str(value, f"version of {brief(node_id)}", key.line)
    return ctx.entry(node_id, version, key.line)


def _members(tree: Tree) -> list[tuple[Tree | None, Tree]]:
    """The items of a list (without keys) or the pairs of a mapping."""
    if isinstance(tree, Seq):
        return [(None, item) for item in tree.items]
    return list(tree.pairs) if isinstance(tree, Map) else []


def _entries_of(tree: Tree, ctx: Context) -> list[ManifestEntry]:
    """Read every entry of a recognised list or mapping, reporting the bad ones."""
    entries: list[ManifestEntry] = []
    for index, (key, value) in enumerate(_members(tree), start=1):
        try:
            entries.append(_item(value, index, ctx) if key is None else _pair(key, value, ctx))
        except Malformed as e:
            ctx.problems.add(e.message, e.line)
    return entries


def _recognised(tree: Tree) -> bool:
    # NOTE: other JSON documents (Manager batch history, Launcher files, cog lists) are refused
    # as a whole rather than reported key by key.
    if isinstance(tree, Seq):
        return not tree.items or any(
            isinstance(i, Map) and i.get("node_id") is not None for i in tree.items
        )
    if isinstance(tree, Map):
        return all(isinstance(value, Scalar) for _, value in tree.pairs)
    return False


def read_json(tree: Tree, ctx: Context) -> Manifest:
    """Return the manifest of the JSON list or mapping ``tree``; problems go to ``ctx``.

    :raises Malformed: when ``tree`` is neither shape.
    """
    if not _recognised(tree):
        raise Malformed(NOT_RECOGNISED, tree.line)
    entries = merge_duplicates(_entries_of(tree, ctx), ctx.problems)
    return Manifest(ctx.path, ctx.host, "json", entries)

"""Read ComfyUI-Manager snapshots (JSON, or YAML under ``custom_nodes:``) and comfy-lock files.

Every key is optional and may be null, since old snapshots predate ``pips`` and
``cnr_custom_nodes``. Five extensions are comfy-audit's own (written by ``scan -o``), and
ComfyUI-Manager ignores them:

- ``disabled_cnr_custom_nodes``: disabled registry packs, which Manager leaves out;
- ``cnr_id`` in a ``git_custom_nodes`` item: the pack's registry id, which is its node id;
- ``unlisted_custom_nodes``: ``{node_id: {source, version, disabled, problem, url?}}``, the packs
  a Manager snapshot cannot express (unknown version, broken, hand-copied, no remote URL);
- ``pack_requirements`` and ``pack_declared``: what each pack's own files say (see
  `audit.manifest.packfacts`).
- ``import_failures``: ``{node_id: {reason, timestamp}}``, the packs ComfyUI's log said failed to
  import when the install was scanned.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import PurePosixPath
from typing import TypeGuard

from audit.manifest.gitsource import repository_name, strip_credentials
from audit.manifest.import_failures import IMPORT_FAILURES, read_import_failures
from audit.manifest.interface import Context, Malformed, brief, merge_duplicates
from audit.manifest.packfacts import read_pack_facts
from audit.manifest.pips import read_pips
from audit.manifest.tree import (
    Map,
    Seq,
    Tree,
    as_bool,
    as_id,
    as_optional_str,
    as_str,
    describe,
    is_null,
)
from audit.model import EntrySource, Manifest, ManifestEntry

__all__ = ["NOT_RECOGNISED", "SNAPSHOT_KEYS", "UNLISTED", "is_snapshot", "read_snapshot"]

#: The extension key for packs a ComfyUI-Manager snapshot cannot express.
UNLISTED = "unlisted_custom_nodes"

SNAPSHOT_KEYS = (
    "comfyui",
    "git_custom_nodes",
    "cnr_custom_nodes",
    "disabled_cnr_custom_nodes",
    "file_custom_nodes",
    "pips",
    UNLISTED,
)
NOT_RECOGNISED = (
    "not a recognised manifest: expected a ComfyUI-Manager snapshot "
    "(custom_nodes:, or keys such as cnr_custom_nodes, git_custom_nodes, pips)"
)
_WRAPPER = "custom_nodes"
_SHAPES = {
    "cnr_custom_nodes": "a mapping of node id to version",
    "disabled_cnr_custom_nodes": "a mapping of node id to version",
    "git_custom_nodes": "a mapping of url to {hash, disabled}",
    "file_custom_nodes": "a list of {filename, disabled}",
    UNLISTED: "a mapping of node id to {source, version, disabled, problem}",
}
_SOURCES = ", ".join(s.value for s in EntrySource)
_Reader = Callable[[Tree | None, Tree, Context], ManifestEntry]


def is_snapshot(tree: Tree) -> TypeGuard[Map]:
    """Whether ``tree`` is a snapshot: snapshot keys at the top or under ``custom_nodes:``."""
    if not isinstance(tree, Map):
        return False
    wrapper = tree.get(_WRAPPER)
    if wrapper is not None and (isinstance(wrapper, Map) or is_null(wrapper)):
        return True
    return any(tree.get(key) is not None for key in SNAPSHOT_KEYS)


def _section(root: Map) -> Map:
    """The mapping that holds the snapshot keys: ``custom_nodes:`` when it is one."""
    wrapper = root.get(_WRAPPER)
    if isinstance(wrapper, Map):
        return wrapper
    if any(root.get(key) is not None for key in SNAPSHOT_KEYS):
        return root
    return Map((), root.line)  # NOTE: a bare `custom_nodes:` is a snapshot of nothing.


def _registry(key: Tree | None, value: Tree, ctx: Context, disabled: bool) -> ManifestEntry:
    node_id = as_id(key, "node id", value.line)
    version = as_optional_str(value, f"version of {brief(node_id)}", value.line)
    return ctx.entry(node_id, version, key.line if key else value.line, disabled=disabled)


def _enabled(key: Tree | None, value: Tree, ctx: Context) -> ManifestEntry:
    return _registry(key, value, ctx, disabled=False)


def _disabled(key: Tree | None, value: Tree, ctx: Context) -> ManifestEntry:
    return _registry(key, value, ctx, disabled=True)


def _git(key: Tree | None, value: Tree, ctx: Context) -> ManifestEntry:
    # NOTE: only the cleaned URL may appear in messages; the raw one can hold a token.
    url = strip_credentials(as_id(key, "git url", value.line))
    line = key.line if key else value.line
    if not isinstance(value, Map):
        expected = "a mapping with hash and disabled"
        raise Malformed(f"git entry {brief(url)} must be {expected}, got {describe(value)}", line)
    cnr_id = value.get("cnr_id")
    if is_null(cnr_id):
        name = repository_name(url)
    else:
        name = as_id(cnr_id, f"cnr_id of {brief(url)}", line)
    if not name:
        raise Malformed(f"cannot tell the repository name from git url {brief(url)}", line)
    commit = as_optional_str(value.get("hash"), f"hash of {brief(url)}", line)
    # NOTE: Manager writes a detached HEAD's line as read, newline included (also the state
    # after it restores a snapshot): the commit is the line's content.
    commit = (commit.strip() or None) if commit is not None else None
    disabled = as_bool(value.get("disabled"), f"disabled of {brief(url)}", line)
    entry = ctx.entry(name, commit, line, source=EntrySource.GIT, url=url, disabled=disabled)
    return replace(entry, registry_pack=not is_null(cnr_id))


def _file(key: Tree | None, item: Tree, ctx: Context) -> ManifestEntry:
    if not isinstance(item, Map):
        expected = "a mapping with filename and disabled"
        raise Malformed(f"file entry must be {expected}, got {describe(item)}", item.line)
    filename = as_id(item.get("filename"), "filename of a file entry", item.line)
    disabled = as_bool(item.get("disabled"), f"disabled of {brief(filename)}", item.line)
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    return ctx.entry(stem, None, item.line, source=EntrySource.FILE, disabled=disabled)


def _source(tree: Tree | None, node_id: str, line: int | None) -> EntrySource:
    text = as_str(tree, f"source of {brief(node_id)}", line)
    try:
        return EntrySource(text)
    except ValueError:
        message = f"source of {brief(node_id)} must be one of {_SOURCES}, got {brief(text)}"
        raise Malformed(message, line) from None


def _unlisted(key: Tree | None, value: Tree, ctx: Context) -> ManifestEntry:
    node_id = as_id(key, "node id", value.line)
    line = key.line if key else value.line
    if not isinstance(value, Map):
        expected = "a mapping with source, version, disabled and problem"
        raise Malformed(
            f"unlisted entry {brief(node_id)} must be {expected}, got {describe(value)}", line
        )
    url = as_optional_str(value.get("url"), f"url of {brief(node_id)}", line)
    entry = ctx.entry(
        node_id,
        as_optional_str(value.get("version"), f"version of {brief(node_id)}", line),
        line,
        source=_source(value.get("source"), node_id, line),
        url=strip_credentials(url) if url else None,
        disabled=as_bool(value.get("disabled"), f"disabled of {brief(node_id)}", line),
    )
    problem = as_optional_str(value.get("problem"), f"problem of {brief(node_id)}", line)
    return replace(entry, problem=problem)


_READERS: dict[str, _Reader] = {
    "cnr_custom_nodes": _enabled,
    "disabled_cnr_custom_nodes": _disabled,
    "git_custom_nodes": _git,
    "file_custom_nodes": _file,
    UNLISTED: _unlisted,
}


def _members(tree: Tree, key: str) -> list[tuple[Tree | None, Tree]]:
    """The pairs of a mapping section, or the items of ``file_custom_nodes``; null is empty.

    :raises Malformed: when the section has the wrong shape.
    """
    if is_null(tree):
        return []
    if isinstance(tree, Seq) and key == "file_custom_nodes":
        return [(None, item) for item in tree.items]
    if isinstance(tree, Map) and key != "file_custom_nodes":
        return list(tree.pairs)
    raise Malformed(f"{key} must be {_SHAPES[key]}, got {describe(tree)}", tree.line)


def _section_entries(section: Map, key: str, ctx: Context) -> list[ManifestEntry]:
    """The entries of every ``key`` in ``section``, each bad one reported and skipped."""
    entries: list[ManifestEntry] = []
    for tree in section.get_all(key):  # NOTE: a key written twice is read twice.
        try:
            members = _members(tree, key)
        except Malformed as e:
            ctx.problems.add(e.message, e.line)
            continue
        entries.extend(_read_members(members, _READERS[key], ctx))
    return entries


def _read_members(
    members: list[tuple[Tree | None, Tree]], read: _Reader, ctx: Context
) -> list[ManifestEntry]:
    entries: list[ManifestEntry] = []
    for key, value in members:
        try:
            entries.append(read(key, value, ctx))
        except Malformed as e:
            ctx.problems.add(e.message, e.line)
    return entries


def _comfyui(section: Map, root: Map, ctx: Context) -> str | None:
    """The snapshot's ComfyUI commit or tag; comfy-lock's ``basic.comfyui_version`` otherwise."""
    basic = root.get("basic")
    try:
        value = as_optional_str(section.get("comfyui"), "comfyui", section.line)
        if value is None and isinstance(basic, Map):
            value = as_optional_str(basic.get("comfyui_version"), "comfyui_version", basic.line)
    except Malformed as e:
        ctx.problems.add(e.message, e.line)
        return None
    return (value.strip() or None) if value else None


def read_snapshot(tree: Tree, ctx: Context, label: str) -> Manifest:
    """Return the manifest of the snapshot ``tree``; problems go to ``ctx``.

    A snapshot with no packs is valid and gives no entries.

    :param label: the format to record, ``snapshot-json`` or ``snapshot-yaml``.
    :raises Malformed: when ``tree`` is not a snapshot.
    """
    if not is_snapshot(tree):
        raise Malformed(NOT_RECOGNISED, tree.line)
    section = _section(tree)
    found = [e for key in _READERS for e in _section_entries(section, key, ctx)]
    return Manifest(
        ctx.path,
        ctx.host,
        label,
        read_pack_facts(section, merge_duplicates(found, ctx.problems), ctx),
        comfyui=_comfyui(section, tree, ctx),
        pips=read_pips(section.get("pips"), ctx),
        import_failures=read_import_failures(section.get(IMPORT_FAILURES), ctx),
    )

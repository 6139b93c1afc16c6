"""Scan a ComfyUI install's ``custom_nodes`` folder into a manifest, reading files only.

No pack code is imported or executed: a pack is known by its folder's marker files
(``.tracking``, ``.git``, ``pyproject.toml``), the way ComfyUI-Manager tells packs apart
(registry.md §6.3). A broken pack is an entry with a ``problem``, never an exception.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from audit import safeio
from audit.errors import InputError
from audit.gitdir import read_checkout
from audit.manifest.comfyui_log import failures_by_id, read_import_log
from audit.manifest.gitsource import repository_name, strip_credentials
from audit.manifest.pyproject import Pyproject, Unreadable, read_limited, read_pyproject
from audit.model import EntrySource, Manifest, ManifestEntry
from audit.trust import distrust

__all__ = ["scan_install"]

_DISABLED_DIR = ".disabled"
_DISABLED_SUFFIX = ".disabled"
_FILE_PACK = ".py"
_IGNORED = frozenset({"__pycache__", "__init__.py"})
# NOTE: ComfyUI-Manager names a disabled nightly `<id>@nightly`; that is no version number.
_NOT_VERSIONS = frozenset({"nightly", "unknown"})


@dataclass(frozen=True)
class _Candidate:
    """Represents one thing in ``custom_nodes`` that is a pack: a folder or a single file."""

    path: Path
    disabled: bool
    name: str
    """The id to use when the pack names none: the folder or file name without suffixes."""
    folder_version: str | None = None
    """The version in a ``.disabled/<id>@<version>`` folder name, dots restored."""
    is_file: bool = False

    @property
    def order(self) -> tuple[bool, str, str]:
        return (self.disabled, self.path.name, str(self.path))


def _readable_name(name: str) -> str:
    # NOTE: a file name that is not UTF-8 arrives with surrogate escapes, which no UTF-8 writer
    # accepts; the bytes that cannot be decoded become U+FFFD.
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _list(folder: Path) -> list[str]:
    """:raises OSError: when ``folder`` cannot be listed."""
    return os.listdir(folder)


def _disabled_folder(path: Path) -> _Candidate:
    """A folder of ``.disabled/``: ``<id>@<version_with_underscores>`` or a plain name."""
    name = _readable_name(path.name)
    node_id, at, version = name.partition("@")
    if not at or not node_id:
        return _Candidate(path, True, name)
    folder_version = None if version in _NOT_VERSIONS else version.replace("_", ".") or None
    return _Candidate(path, True, node_id, folder_version)


def _candidate(path: Path, in_disabled: bool) -> _Candidate | None:
    """What ``path`` is as a pack, or ``None`` when it is none (caches, hidden, other files)."""
    name = path.name
    if name in _IGNORED or name.startswith(".") or name.endswith(".example"):
        return None
    if safeio.is_dir(path):
        if in_disabled:
            return _disabled_folder(path)
        if name.endswith(_DISABLED_SUFFIX):
            return _Candidate(path, True, _readable_name(name.removesuffix(_DISABLED_SUFFIX)))
        return _Candidate(path, False, _readable_name(name))
    if not safeio.is_file(path):
        return None  # NOTE: broken symlinks, symlink loops, sockets.
    stem = name.removesuffix(_DISABLED_SUFFIX)
    if not stem.endswith(_FILE_PACK) or stem in _IGNORED:
        return None
    disabled = in_disabled or stem != name
    return _Candidate(path, disabled, _readable_name(stem.removesuffix(_FILE_PACK)), is_file=True)


def _candidates(folder: Path, names: Iterable[str], in_disabled: bool) -> Iterator[_Candidate]:
    for name in names:
        if name == _DISABLED_DIR and not in_disabled:
            yield from _candidates(folder / name, _list_or_none(folder / name), in_disabled=True)
        elif (found := _candidate(folder / name, in_disabled)) is not None:
            yield found


def _list_or_none(folder: Path) -> list[str]:
    try:
        return _list(folder)
    except OSError:
        return []  # NOTE: an unreadable `.disabled` hides its packs; the enabled ones still count.


def _requirements(folder: Path, names: set[str]) -> tuple[tuple[str, ...] | None, str | None]:
    """``(lines, problem)`` of the pack's ``requirements.txt``; lines ``None`` without one."""
    if "requirements.txt" not in names:
        return None, None
    try:
        data = read_limited(folder / "requirements.txt", within=folder)
    except Unreadable as e:
        return None, str(e)
    text = data.decode("utf-8-sig", errors="replace")
    lines = (line for line in text.splitlines() if line.strip())
    return tuple(line for line in lines if not line.lstrip().startswith("#")), None


def _pyproject_id(project: Pyproject | None) -> str | None:
    return project.name.lower() if project is not None and project.name else None


def _git_entry(
    found: _Candidate, host: str, project: Pyproject | None, within: Path
) -> ManifestEntry:
    checkout = read_checkout(found.path, within=within)
    url = strip_credentials(checkout.remote_url) if checkout and checkout.remote_url else None
    head = checkout.head if checkout else None
    node_id = (
        (checkout.cnr_id if checkout else None)
        or _pyproject_id(project)
        or (repository_name(url) if url else None)
        or found.name
    )
    # NOTE: a git pack's version is its commit, and a pyproject kept only for tools (ruff,
    # black) is no fault of the pack: only a file that cannot be read at all is a problem.
    problem = project.error if project is not None else None
    entry = _entry(found, host, node_id, head, EntrySource.GIT, problem, url=url, hash=head)
    # NOTE: Manager writes `.cnr-id` for nightly installs of a registry pack; a pyproject name
    # is the id the pack is published under.
    named = bool(checkout and checkout.cnr_id) or _pyproject_id(project) is not None
    return replace(entry, registry_pack=named)


def _project_entry(
    found: _Candidate, host: str, project: Pyproject, source: EntrySource
) -> ManifestEntry:
    node_id = _pyproject_id(project) or found.name
    problem = project.error or project.problem
    version = None if problem else project.version or found.folder_version
    return _entry(found, host, node_id, version, source, problem)


def _entry(
    found: _Candidate,
    host: str,
    node_id: str,
    version: str | None,
    source: EntrySource,
    problem: str | None,
    *,
    url: str | None = None,
    hash: str | None = None,
) -> ManifestEntry:
    return ManifestEntry(
        host=host,
        node_id=node_id,
        version=version,
        source=source,
        manifest=str(found.path),
        url=url,
        hash=hash,
        disabled=found.disabled,
        problem=problem,
    )


def _folder_entry(found: _Candidate, host: str, root: Path) -> ManifestEntry:
    try:
        names = set(_list(found.path))
    except OSError as e:
        problem = f"cannot read the pack folder: {e.strerror or e}"
        return _entry(found, host, found.name, None, EntrySource.FILE, problem)
    project = read_pyproject(found.path) if "pyproject.toml" in names else None
    if ".git" in names:
        # NOTE: a submodule's gitdir lies in the install's own .git; a linked pack is its own tree.
        within = root if safeio.stays_within(found.path, root) else found.path
        entry = _git_entry(found, host, project, within)
    elif project is not None:
        source = EntrySource.REGISTRY if ".tracking" in names else EntrySource.LOCAL
        entry = _project_entry(found, host, project, source)
    else:
        entry = _entry(found, host, found.name, None, EntrySource.FILE, None)
    requirements, unread = _requirements(found.path, names)
    return replace(
        entry,
        problem=entry.problem or unread,
        declared=project.declared(entry.node_id, entry.version) if project else None,
        requirements=requirements,
    )


def _pack_entry(found: _Candidate, host: str, root: Path) -> ManifestEntry:
    if found.path.is_symlink() and (problem := distrust(found.path)) is not None:
        # NOTE: another user's folder (or file) may change under us; it is reported, not read.
        return _entry(found, host, found.name, None, EntrySource.FILE, f"symlinked: {problem}")
    if found.is_file:
        return _entry(found, host, found.name, None, EntrySource.FILE, None)
    return _folder_entry(found, host, root)


def _comfyui_commit(root: Path) -> str | None:
    checkout = read_checkout(root, within=root)
    return checkout.head if checkout else None


def scan_install(comfyui_path: str | Path, *, host: str) -> Manifest:
    """Return the manifest of the packs installed in ``comfyui_path/custom_nodes``.

    Enabled packs come first, then disabled ones (``.disabled/`` and ``*.disabled``), each group
    sorted by folder or file name. ``comfyui`` is ComfyUI's own commit when it is a checkout.
    ``import_failures`` are the packs ComfyUI's newest log says failed to import (see
    `audit.manifest.comfyui_log`), ``None`` when no log could be used.

    A symlinked pack is followed only when its target is owned by the invoking user or root and
    not writable by others; otherwise it is an entry with a ``problem``.

    :raises InputError: when ``comfyui_path`` has no ``custom_nodes`` folder, it cannot be
        listed, or it is a symlink to a folder not to be trusted (see ``audit.trust``).
    """
    root = Path(comfyui_path)
    custom_nodes = root / "custom_nodes"
    if not safeio.is_dir(custom_nodes):
        raise InputError(f"{comfyui_path}: not a ComfyUI install: no custom_nodes folder")
    if custom_nodes.is_symlink() and (problem := distrust(custom_nodes)) is not None:
        raise InputError(f"{custom_nodes}: symlinked, not followed: {problem}")
    try:
        names = _list(custom_nodes)
    except OSError as e:
        raise InputError(f"{custom_nodes}: cannot list the folder: {e.strerror or e}") from None
    found = sorted(_candidates(custom_nodes, names, in_disabled=False), key=lambda c: c.order)
    entries = tuple(_pack_entry(c, host, root) for c in found)
    log = read_import_log(root)
    failures = None if log.failures is None else failures_by_id(entries, log.failures)
    return Manifest(
        str(comfyui_path),
        host,
        "install",
        entries,
        comfyui=_comfyui_commit(root),
        pips=None,
        import_failures=failures,
    )

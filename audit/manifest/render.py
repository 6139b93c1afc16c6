"""Write a scanned install back out: as a plain list, as JSON, or as a ComfyUI-Manager snapshot.

Each form is one that ``read_manifest`` reads back. The text form is for people, with what a
list cannot hold (source, URL, disabled, problem) in a ``#`` comment; the snapshot form is for
machines, and keeps all of it (see ``to_snapshot``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePath

from packaging.utils import canonicalize_name

from audit.manifest.gitsource import repository_name
from audit.manifest.import_failures import IMPORT_FAILURES, import_failures_json
from audit.manifest.packfacts import write_pack_facts
from audit.manifest.snapshot import UNLISTED
from audit.model import EntrySource, Manifest, ManifestEntry

__all__ = ["render_json", "render_text", "to_snapshot"]

_GIT = "git_custom_nodes"
_CNR = "cnr_custom_nodes"
_DISABLED_CNR = "disabled_cnr_custom_nodes"
_FILES = "file_custom_nodes"


def _one_line(text: str) -> str:
    # NOTE: a folder name may hold a line break or a control character; escaped, so that one
    # entry stays one line of the list.
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)


def _comment(entry: ManifestEntry) -> str:
    """What the ``node_id@version`` of ``entry`` leaves out; empty for a plain registry pack."""
    extra = entry.url or entry.disabled or entry.problem
    if entry.source is EntrySource.REGISTRY and not extra:
        return ""
    parts = [f"{entry.source.value} {entry.url}" if entry.url else entry.source.value]
    if entry.disabled:
        parts.append("disabled")
    if entry.problem:
        parts.append(f"problem: {entry.problem}")
    return f"  # {', '.join(parts)}"


def _text_line(entry: ManifestEntry) -> str:
    pinned = f"{entry.node_id}@{entry.version}" if entry.version else entry.node_id
    return _one_line(pinned) + _one_line(_comment(entry))


def render_text(manifest: Manifest) -> str:
    """Return ``manifest`` as a plain list: one ``node_id@version`` line per entry.

    Entries other than enabled, healthy registry packs get a comment naming their source, URL,
    disabled state and problem. The text reader skips comments, so the list reads back.

    >>> from audit.model import ManifestEntry as E
    >>> print(render_text(Manifest("x", "h", "install", (
    ...     E("h", "a", "1.0", EntrySource.REGISTRY, "x"),
    ...     E("h", "b", None, EntrySource.FILE, "x", disabled=True),
    ... ))), end="")
    a@1.0
    b  # file, disabled
    """
    return "".join(f"{_text_line(entry)}\n" for entry in manifest.entries)


def _json_item(entry: ManifestEntry) -> dict[str, object]:
    return {
        "node_id": entry.node_id,
        "version": entry.version,
        "source": entry.source.value,
        "disabled": entry.disabled,
        "url": entry.url,
        "hash": entry.hash,
        "problem": entry.problem,
    }


def render_json(manifest: Manifest) -> str:
    """Return ``manifest`` as a JSON list of ``{node_id, version, source, disabled, url, hash,
    problem}`` objects, which the JSON reader reads back (it uses ``node_id`` and ``version``).
    """
    items = [_json_item(entry) for entry in manifest.entries]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def _is_single_file(entry: ManifestEntry) -> bool:
    # NOTE: the scanner records a single-file pack's own file as the entry's manifest; a
    # hand-copied folder is a file entry too, but Manager's file_custom_nodes cannot hold it.
    name = PurePath(entry.manifest).name
    return name in (f"{entry.node_id}.py", f"{entry.node_id}.py.disabled")


def _section(entry: ManifestEntry) -> str:
    """The snapshot key that ``entry`` belongs under."""
    if entry.problem is not None:
        return UNLISTED
    match entry.source:
        case EntrySource.GIT:
            return _GIT if entry.url and entry.hash else UNLISTED
        case EntrySource.FILE:
            return _FILES if _is_single_file(entry) else UNLISTED
        case _:
            if entry.version is None:
                return UNLISTED
            return _DISABLED_CNR if entry.disabled else _CNR


def _git_item(entry: ManifestEntry) -> dict[str, object]:
    item: dict[str, object] = {"hash": entry.hash, "disabled": entry.disabled}
    # NOTE: the reader takes a git pack's id from its URL; a registry id is kept, and says
    # that the pack is a nightly of a registry pack.
    named = entry.url is not None and repository_name(entry.url) != entry.node_id
    if entry.registry_pack or named:
        item["cnr_id"] = entry.node_id
    return item


def _unlisted_item(entry: ManifestEntry) -> dict[str, object]:
    item: dict[str, object] = {
        "source": entry.source.value,
        "version": entry.version,
        "disabled": entry.disabled,
        "problem": entry.problem,
    }
    if entry.url is not None:
        item["url"] = entry.url
    return item


def _member(entry: ManifestEntry, section: str) -> tuple[str, object]:
    """The key and value of ``entry`` in the mapping ``section``."""
    if section == _GIT:
        return entry.url or "", _git_item(entry)
    if section == UNLISTED:
        return entry.node_id, _unlisted_item(entry)
    return entry.node_id, entry.version


#: What ``pip freeze`` leaves out: a Manager restore with ``--pip-non-url`` would pin them.
FREEZE_HIDDEN = frozenset({"pip", "setuptools", "wheel", "distribute"})


def _pips(installed: Mapping[str, str | None] | None) -> dict[str, str] | None:
    # NOTE: Manager writes pip-freeze lines as keys; a URL install whose URL is unknown is
    # written as its bare name, which the reader reads as installed at an unknown version.
    if installed is None:
        return None
    kept = (pair for pair in installed.items() if canonicalize_name(pair[0]) not in FREEZE_HIDDEN)
    ordered = sorted(kept, key=lambda pair: pair[0].lower())
    return {f"{name}=={version}" if version else name: "" for name, version in ordered}


def to_snapshot(
    manifest: Manifest, installed: Mapping[str, str | None] | None = None
) -> dict[str, object]:
    """Return ``manifest`` as a ComfyUI-Manager snapshot, ready for ``json.dump``.

    Manager's own keys hold what Manager can restore: enabled registry and local packs with a
    version under ``cnr_custom_nodes``, git packs with a URL and commit, single-file packs.
    comfy-audit's extensions, which Manager ignores, hold the rest: ``disabled_cnr_custom_nodes``,
    ``cnr_id`` for a git pack whose id is not its repository name, and ``unlisted_custom_nodes``
    for packs with an unknown version, a problem, no URL, or a hand-copied folder;
    ``pack_requirements`` and ``pack_declared`` for what the packs' own files say.

    Reading the snapshot back gives the same entries (id, version, source, disabled, url, hash,
    problem), except that ``local`` packs listed under the ``cnr`` keys come back as
    ``registry``: they are looked up in the registry the same way. When two packs share a key
    (an id, a URL), the first is kept.

    :param installed: the install's distributions for ``pips``; default ``manifest.pips``.
    """
    sections: dict[str, dict[str, object]] = {_GIT: {}, _CNR: {}, _DISABLED_CNR: {}, UNLISTED: {}}
    files: list[dict[str, object]] = []
    for entry in manifest.entries:
        section = _section(entry)
        if section == _FILES:
            files.append({"filename": f"{entry.node_id}.py", "disabled": entry.disabled})
        else:
            sections[section].setdefault(*_member(entry, section))
    return {
        "comfyui": manifest.comfyui,
        _GIT: sections[_GIT],
        _CNR: sections[_CNR],
        _DISABLED_CNR: sections[_DISABLED_CNR],
        _FILES: files,
        "pips": _pips(installed if installed is not None else manifest.pips),
        UNLISTED: sections[UNLISTED],
        **write_pack_facts(manifest.entries),
        **_import_failures(manifest),
    }


def _import_failures(manifest: Manifest) -> dict[str, object]:
    failures = manifest.import_failures
    return {} if failures is None else {IMPORT_FAILURES: import_failures_json(failures)}

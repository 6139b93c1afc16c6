"""Read what a git checkout says about itself from its files: no git binary, nothing executed.

Every file is read through :mod:`audit.safeio`, and only when it lies inside the tree being
scanned: a ``gitdir:`` line or a symlink in ``.git`` that leads elsewhere is not followed.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from audit import safeio
from audit.model import ID_PATTERN

__all__ = ["GitCheckout", "read_checkout"]

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REMOTE_SECTION = re.compile(r'\[\s*remote\s+"([^"]*)"\s*\]')
_MAX_FILE = 1024 * 1024
# NOTE: a tag object is a few hundred bytes; anything inflating further is not one worth reading.
_MAX_OBJECT = 64 * 1024
_MAX_REFS = 10_000


@dataclass(frozen=True)
class GitCheckout:
    """Represents the facts of one checkout that an audit needs."""

    head: str | None
    """The commit checked out; ``None`` for a repository with no commit or an unreadable HEAD."""
    branch: str | None
    remote_url: str | None
    """The URL of ``origin`` (else of the first remote), exactly as the config writes it."""
    cnr_id: str | None
    """The registry id ComfyUI-Manager wrote to ``.git/.cnr-id`` for nightly installs."""
    tags_at_head: tuple[str, ...]
    """Tags that point at ``head`` (annotated tags peeled where git stored the answer)."""


def _read(path: Path, within: Path) -> str | None:
    if not safeio.stays_within(path, within):
        return None
    try:
        return safeio.read_text(path, limit=_MAX_FILE)
    except safeio.Refused:
        return None


def _git_dir(work_tree: Path, within: Path) -> Path | None:
    dot_git = work_tree / ".git"
    if not safeio.stays_within(dot_git, within):
        return None
    if safeio.is_dir(dot_git):
        return dot_git
    # Submodules and worktrees have a file `.git` that says "gitdir: <path>".
    text = _read(dot_git, within)
    if not text or not text.startswith("gitdir:"):
        return None
    try:
        target = (work_tree / text.removeprefix("gitdir:").strip()).resolve()
    # NOTE: a NUL byte in the path is a ValueError, a symlink loop a RuntimeError on 3.11.
    except (OSError, RuntimeError, ValueError):
        return None
    return target if safeio.stays_within(target, within) and safeio.is_dir(target) else None


def _packed_refs(git_dir: Path, within: Path) -> dict[str, str]:
    """Return ref name → commit from ``packed-refs``, with annotated tags peeled when recorded."""
    refs: dict[str, str] = {}
    last = None
    for line in (_read(git_dir / "packed-refs", within) or "").splitlines():
        if line.startswith("^") and last is not None and _SHA.fullmatch(line[1:]):
            refs[last] = line[1:]
        elif " " in line and not line.startswith("#"):
            sha, last = line.split(" ", 1)
            if _SHA.fullmatch(sha):
                refs[last] = sha
    return refs


def _ref_files(root: Path, within: Path) -> list[Path]:
    """The files under ``root``, symlinked folders not entered, at most ``_MAX_REFS`` of them."""
    if not safeio.stays_within(root, within) or not safeio.is_dir(root):
        return []
    found: list[Path] = []
    for folder, _, names in os.walk(root):
        found.extend(Path(folder, name) for name in sorted(names))
        if len(found) >= _MAX_REFS:
            return found[:_MAX_REFS]
    return found


def _loose_refs(git_dir: Path, prefix: str, within: Path) -> dict[str, str]:
    root = git_dir / prefix
    refs = {}
    for path in _ref_files(root, within):
        sha = (_read(path, within) or "").strip()
        if _SHA.fullmatch(sha):
            refs[f"{prefix}/{path.relative_to(root).as_posix()}"] = sha
    return refs


def _peel(git_dir: Path, sha: str, within: Path) -> str:
    """Return the commit an annotated tag object points to, if the object is loose; else ``sha``."""
    path = git_dir / "objects" / sha[:2] / sha[2:]
    if not safeio.stays_within(path, within):
        return sha
    try:
        data = safeio.inflate(safeio.read_bytes(path, limit=_MAX_FILE), limit=_MAX_OBJECT)
    except safeio.Refused:
        return sha
    header, _, body = data.partition(b"\0")
    if not header.startswith(b"tag "):
        return sha
    first = body.split(b"\n", 1)[0].decode("ascii", "replace")
    target = first.removeprefix("object ")
    return target if _SHA.fullmatch(target) else sha


def _head(git_dir: Path, refs: dict[str, str], within: Path) -> tuple[str | None, str | None]:
    text = (_read(git_dir / "HEAD", within) or "").strip()
    if _SHA.fullmatch(text):
        return text, None
    ref = text.removeprefix("ref:").strip() if text.startswith("ref:") else None
    if ref is None:
        return None, None
    branch = ref.removeprefix("refs/heads/")
    return refs.get(ref), branch


def _remote_url(git_dir: Path, within: Path) -> str | None:
    urls: dict[str, str] = {}
    section = None
    for line in (_read(git_dir / "config", within) or "").splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            match = _REMOTE_SECTION.fullmatch(stripped)
            section = match.group(1) if match else None
        elif section is not None and stripped.replace(" ", "").startswith("url="):
            urls.setdefault(section, stripped.split("=", 1)[1].strip().strip('"'))
    return urls.get("origin") or next(iter(urls.values()), None)


def read_checkout(work_tree: Path, *, within: Path | None = None) -> GitCheckout | None:
    """Return the facts of the checkout at ``work_tree``, or ``None`` if it is not one.

    :param within: the tree being scanned (default: ``work_tree``); no file outside it is read,
        whatever a ``gitdir:`` line or a symlink says.
    """
    tree = within if within is not None else work_tree
    git_dir = _git_dir(work_tree, tree)
    if git_dir is None:
        return None
    refs = (
        _packed_refs(git_dir, tree)
        | _loose_refs(git_dir, "refs/heads", tree)
        | _loose_refs(git_dir, "refs/tags", tree)
    )
    head, branch = _head(git_dir, refs, tree)
    tags = sorted(
        name.removeprefix("refs/tags/")
        for name, sha in refs.items()
        if name.startswith("refs/tags/") and head is not None and _peel(git_dir, sha, tree) == head
    )
    return GitCheckout(
        head, branch, _remote_url(git_dir, tree), _cnr_id(git_dir, tree), tuple(tags)
    )


def _cnr_id(git_dir: Path, tree: Path) -> str | None:
    # NOTE: Manager writes one registry id there; anything else (a megabyte of text) names
    # no pack, and kept as an id it would reach every report.
    text = (_read(git_dir / ".cnr-id", tree) or "").strip()
    return text if ID_PATTERN.fullmatch(text) else None

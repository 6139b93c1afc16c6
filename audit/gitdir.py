"""Read what a git checkout says about itself from its files: no git binary, nothing executed."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

from audit.model import ID_PATTERN

__all__ = ["GitCheckout", "read_checkout"]

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REMOTE_SECTION = re.compile(r'\[\s*remote\s+"([^"]*)"\s*\]')
_MAX_FILE = 1024 * 1024


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


def _read(path: Path) -> str | None:
    try:
        if path.stat().st_size > _MAX_FILE:
            return None
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def _git_dir(work_tree: Path) -> Path | None:
    dot_git = work_tree / ".git"
    if dot_git.is_dir():
        return dot_git
    # Submodules and worktrees have a file `.git` that says "gitdir: <path>".
    text = _read(dot_git) if dot_git.is_file() else None
    if not text or not text.startswith("gitdir:"):
        return None
    try:
        target = (work_tree / text.removeprefix("gitdir:").strip()).resolve()
        return target if target.is_dir() else None
    # NOTE: a NUL byte in the path is a ValueError, a symlink loop a RuntimeError on 3.11.
    except (OSError, RuntimeError, ValueError):
        return None


def _packed_refs(git_dir: Path) -> dict[str, str]:
    """Return ref name → commit from ``packed-refs``, with annotated tags peeled when recorded."""
    refs: dict[str, str] = {}
    last = None
    for line in (_read(git_dir / "packed-refs") or "").splitlines():
        if line.startswith("^") and last is not None and _SHA.fullmatch(line[1:]):
            refs[last] = line[1:]
        elif " " in line and not line.startswith("#"):
            sha, last = line.split(" ", 1)
            if _SHA.fullmatch(sha):
                refs[last] = sha
    return refs


def _loose_refs(git_dir: Path, prefix: str) -> dict[str, str]:
    root = git_dir / prefix
    refs = {}
    for path in root.rglob("*") if root.is_dir() else ():
        sha = (_read(path) or "").strip()
        if path.is_file() and _SHA.fullmatch(sha):
            refs[f"{prefix}/{path.relative_to(root).as_posix()}"] = sha
    return refs


def _peel(git_dir: Path, sha: str) -> str:
    """Return the commit an annotated tag object points to, if the object is loose; else ``sha``."""
    path = git_dir / "objects" / sha[:2] / sha[2:]
    try:
        data = zlib.decompress(path.read_bytes()[:_MAX_FILE])
    except (OSError, zlib.error):
        return sha
    header, _, body = data.partition(b"\0")
    if not header.startswith(b"tag "):
        return sha
    first = body.split(b"\n", 1)[0].decode("ascii", "replace")
    target = first.removeprefix("object ")
    return target if _SHA.fullmatch(target) else sha


def _head(git_dir: Path, refs: dict[str, str]) -> tuple[str | None, str | None]:
    text = (_read(git_dir / "HEAD") or "").strip()
    if _SHA.fullmatch(text):
        return text, None
    ref = text.removeprefix("ref:").strip() if text.startswith("ref:") else None
    if ref is None:
        return None, None
    branch = ref.removeprefix("refs/heads/")
    return refs.get(ref), branch


def _remote_url(git_dir: Path) -> str | None:
    urls: dict[str, str] = {}
    section = None
    for line in (_read(git_dir / "config") or "").splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            match = _REMOTE_SECTION.fullmatch(stripped)
            section = match.group(1) if match else None
        elif section is not None and stripped.replace(" ", "").startswith("url="):
            urls.setdefault(section, stripped.split("=", 1)[1].strip().strip('"'))
    return urls.get("origin") or next(iter(urls.values()), None)


def read_checkout(work_tree: Path) -> GitCheckout | None:
    """Return the facts of the checkout at ``work_tree``, or ``None`` if it is not one."""
    git_dir = _git_dir(work_tree)
    if git_dir is None:
        return None
    refs = (
        _packed_refs(git_dir)
        | _loose_refs(git_dir, "refs/heads")
        | _loose_refs(git_dir, "refs/tags")
    )
    head, branch = _head(git_dir, refs)
    tags = sorted(
        name.removeprefix("refs/tags/")
        for name, sha in refs.items()
        if name.startswith("refs/tags/") and head is not None and _peel(git_dir, sha) == head
    )
    return GitCheckout(head, branch, _remote_url(git_dir), _cnr_id(git_dir), tuple(tags))


def _cnr_id(git_dir: Path) -> str | None:
    # NOTE: Manager writes one registry id there; anything else (a megabyte of text) names
    # no pack, and kept as an id it would reach every report.
    text = (_read(git_dir / ".cnr-id") or "").strip()
    return text if ID_PATTERN.fullmatch(text) else None

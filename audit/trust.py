"""Tell whether a file or folder of an install may be trusted: who owns it, who may write to it.

comfy-audit runs as root on machines other users share, so a symlinked pack folder or an
interpreter is used only when it belongs to the invoking user or root and no one else can write
to it (or to the folder holding it).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["distrust"]


def _owner_problem(path: Path, *, follow: bool = True) -> str | None:
    """Why ``path`` (its link itself unless ``follow``) is not trusted, or ``None``."""
    try:
        info = os.stat(path, follow_symlinks=follow)
    except (OSError, ValueError) as e:
        return f"cannot be examined: {getattr(e, 'strerror', None) or e}"
    if info.st_uid not in (0, os.getuid()):
        return f"is owned by uid {info.st_uid}, neither you nor root"
    # NOTE: a sticky folder such as /tmp is still one where others plant files.
    if info.st_mode & stat.S_IWOTH and not stat.S_ISLNK(info.st_mode):
        return "is writable by others"
    return None


def distrust(path: Path, *, folder_too: bool = False) -> str | None:
    """Return why ``path`` may not be trusted, or ``None`` when it may.

    ``path`` and its resolved target must be owned by the invoking user or root and not be
    writable by others; with ``folder_too``, the same holds for the folders holding them (as for
    an interpreter, which anyone who can write its folder can replace).

    >>> distrust(Path("/")) is None
    True
    """
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError):
        return f"{path}: cannot be resolved"
    checked = [resolved]
    if folder_too:
        checked += [path.absolute().parent, resolved.parent]
    for item in dict.fromkeys(checked):
        problem = _owner_problem(item)
        if problem is not None:
            return f"{item} {problem}"
    if path.is_symlink():
        problem = _owner_problem(path, follow=False)
        return None if problem is None else f"{path} {problem}"
    return None

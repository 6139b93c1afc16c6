"""Git remote URLs as snapshots hold them: credentials removed, repository name taken."""

from __future__ import annotations

import re

__all__ = ["repository_name", "strip_credentials"]

# NOTE: greedy up to the last '@' before the path, so a password holding '@' goes too.
_USERINFO = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
_AUTHORITY = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*")


def strip_credentials(url: str) -> str:
    """Return ``url`` without the user and password of its authority.

    >>> strip_credentials("https://user:tok@github.com/a/b.git")
    'https://github.com/a/b.git'
    """
    return _USERINFO.sub(r"\g<scheme>", url.strip())


def repository_name(url: str) -> str:
    """Return the repository name of ``url``: its last path segment without ``.git``.

    Works for ``https://``, ``ssh://``, scp-like ``git@host:owner/repo.git`` and local paths;
    empty when the URL names no repository.

    >>> repository_name("https://github.com/ltdrdata/ComfyUI-Manager.git/")
    'ComfyUI-Manager'
    """
    path = _AUTHORITY.sub("", re.split(r"[?#]", url, maxsplit=1)[0]).rstrip("/\\")
    last = re.split(r"[/\\:]", path)[-1]
    return last.removesuffix(".git")

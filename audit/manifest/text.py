"""Read a plain list: one ``node_id@version`` per line, ``#`` comments and blank lines allowed."""

from __future__ import annotations

import re

from audit.manifest.interface import Context, brief, merge_duplicates
from audit.model import Manifest, ManifestEntry

__all__ = ["LINE_BREAK", "read_text", "strip_comment"]

#: The line breaks that the csv module and editors count as one line each.
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# NOTE: '#' starts a comment only at the start or after whitespace, so `a@1#b` keeps its '#'.
_COMMENT = re.compile(r"(^|\s)#.*\Z", re.DOTALL)


def strip_comment(line: str) -> str:
    """Return ``line`` without its comment and surrounding whitespace."""
    return _COMMENT.sub("", line).strip()


def _entry(line: str, number: int, ctx: Context) -> ManifestEntry | None:
    content = strip_comment(line)
    if not content:
        return None
    # NOTE: split on the first '@' only; ids never hold one, odd versions might.
    node_id, _, version = content.partition("@")
    if not node_id.strip():
        ctx.problems.add(f"missing node id in {brief(content)}: expected node_id@version", number)
        return None
    return ctx.entry(node_id.strip(), version.strip() or None, number)


def read_text(text: str, ctx: Context) -> Manifest:
    """Return the manifest of the plain list ``text``; problems go to ``ctx``.

    >>> from audit.manifest.interface import Problems
    >>> ctx = Context("hosts/a.txt", "a", Problems("hosts/a.txt"))
    >>> [(e.node_id, e.version) for e in read_text("x@1.0  # pinned\\ny\\n", ctx).entries]
    [('x', '1.0'), ('y', None)]
    """
    lines = LINE_BREAK.split(text)
    found = [_entry(line, number, ctx) for number, line in enumerate(lines, start=1)]
    entries = merge_duplicates((e for e in found if e is not None), ctx.problems)
    return Manifest(ctx.path, ctx.host, "text", entries)

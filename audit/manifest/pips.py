"""Read a snapshot's ``pips``: installed distributions, name as written → version or ``None``.

ComfyUI-Manager writes pip-freeze lines as keys with empty values (``"numpy==1.26.4": ""``);
older tools write ``{"numpy": "1.26.4"}``, or a URL as the value of a URL install.
"""

from __future__ import annotations

import functools
import re

from audit.manifest.interface import Context, Malformed, brief
from audit.manifest.tree import Map, Scalar, Tree, as_optional_str, as_str, describe, is_null

__all__ = ["parse_freeze_line", "read_pips"]

# NOTE: a distribution name, optional extras, then `==`/`===` version or `@ url` (or nothing).
_FREEZE = re.compile(
    r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*"
    r"(?:===?\s*(?P<version>[^\s;#]+)|(?P<url>@))?"
)
_EGG = re.compile(r"#egg=(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


# NOTE: a fleet's hosts list the same few hundred lines.
@functools.lru_cache(maxsize=1 << 14)
def parse_freeze_line(line: str) -> tuple[str, str | None] | None:
    """Return ``(name, version)`` of one pip-freeze line; ``None`` for lines that name nothing.

    A URL install is installed at an unknown version.

    >>> parse_freeze_line("numpy==1.26.4"), parse_freeze_line("sam2 @ git+https://x/sam2@abc")
    (('numpy', '1.26.4'), ('sam2', None))
    """
    line = line.strip()
    if line.startswith(("-e ", "--editable")):
        egg = _EGG.search(line)
        return (egg["name"], None) if egg else None
    match = _FREEZE.match(line)
    if match is None:
        return None  # NOTE: comments and options of pip freeze; they name no distribution.
    return match["name"], match["version"]


def _pip(key: Tree, value: Tree) -> tuple[str, str | None] | None:
    plain = _plain_text(key), _plain_text(value)
    # NOTE: nearly every line of a fleet's lists is plain text: no message to prepare for it.
    name = plain[0] if plain[0] is not None else as_str(key, "pips key")
    version = (
        plain[1]
        if plain[1] is not None
        else as_optional_str(value, f"pips value of {brief(name)}", key.line)
    )
    if not version or not version.strip():
        return parse_freeze_line(name)
    version = version.strip()
    return name.strip(), None if _URL.match(version) else version


def _plain_text(tree: Tree) -> str | None:
    """The text of ``tree`` when it is a printable string, which `as_str` takes as it is."""
    text = tree.value if isinstance(tree, Scalar) else None
    return text if isinstance(text, str) and text.isprintable() else None


def read_pips(tree: Tree | None, ctx: Context) -> dict[str, str | None] | None:
    """Return the distributions listed in ``tree``, or ``None`` when the snapshot has none."""
    if tree is None or is_null(tree):
        return None
    if not isinstance(tree, Map):
        message = f"pips must be a mapping of pip-freeze lines, got {describe(tree)}"
        ctx.problems.add(message, tree.line)
        return None
    pips: dict[str, str | None] = {}
    for key, value in tree.pairs:
        try:
            found = _pip(key, value)
        except Malformed as e:
            ctx.problems.add(e.message, e.line)
            continue
        if found is not None:
            pips.setdefault(*found)
    return pips

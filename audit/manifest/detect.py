"""Tell a manifest's format from its content (for files whose name does not say it)."""

from __future__ import annotations

import io
import re

from audit.manifest.interface import Malformed, ManifestFormat
from audit.manifest.jsontree import parse_json
from audit.manifest.snapshot import is_snapshot
from audit.manifest.text import strip_comment

__all__ = ["detect_format", "looks_like_json"]

# NOTE: a YAML document starts with a marker, a list item, or a `key:`; plain-list lines hold
# an '@' before any ':' and CSV headers a ',' (a URL's `https:` has no space after the colon).
_YAML_START = re.compile(r"---|%YAML|-(\s|$)|[^\s@,]([^@,]*?):(\s|$)|\"[^\"@]*\"\s*:|'[^'@]*'\s*:")


def looks_like_json(text: str) -> bool:
    """Whether ``text`` starts like a JSON object or array."""
    return text.lstrip("\ufeff \t\r\n").startswith(("{", "["))


def _first_line(text: str) -> str:
    """The first line that is neither blank nor a ``#`` comment."""
    lines = io.StringIO(text, newline="")  # NOTE: lazy, and splits lines as the csv module does.
    return next((s for line in lines if (s := strip_comment(line))), "")


def detect_format(text: str) -> ManifestFormat:
    """Return the format of the manifest ``text``; never ``AUTO``.

    - a JSON object with snapshot keys is ``SNAPSHOT``, any other JSON (even invalid) ``JSON``;
    - YAML (``key:`` first) is ``SNAPSHOT``, the only YAML manifest there is;
    - a first line with a ``,`` and no ``@`` is a ``CSV`` header;
    - anything else is ``TEXT``.

    >>> detect_format("comfyui-foo@1.0.0\\n"), detect_format("node_id,version\\n")
    (<ManifestFormat.TEXT: 'text'>, <ManifestFormat.CSV: 'csv'>)
    """
    text = text.removeprefix("\ufeff")
    if looks_like_json(text):
        try:
            tree = parse_json(text)
        except Malformed:
            return ManifestFormat.JSON
        return ManifestFormat.SNAPSHOT if is_snapshot(tree) else ManifestFormat.JSON
    first = _first_line(text)
    if _YAML_START.match(first):
        return ManifestFormat.SNAPSHOT
    if "," in first and "@" not in first:
        return ManifestFormat.CSV
    return ManifestFormat.TEXT

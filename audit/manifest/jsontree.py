"""Parse JSON into a tree, finding the line of each object key on a best-effort basis.

The json module gives no positions, so each key is looked up in the raw text. The tree is built
in document order, so the search only moves forward and the whole pass stays linear.
"""

from __future__ import annotations

import functools
import json
import re

from audit.manifest.interface import Malformed
from audit.manifest.tree import MAX_DEPTH, Map, Scalar, Seq, Tree

__all__ = ["parse_json"]

_TOO_DEEP = f"JSON nesting too deep: more than {MAX_DEPTH} levels"
_COLON = re.compile(r"\s*:")


class _Pairs(list[tuple[str, object]]):
    """A JSON object as its key/value pairs, repeated keys kept (plain lists are JSON arrays)."""


class _KeyLines:
    """Finds, in document order, the line on which each object key is written."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lost = False

    def find(self, key: str) -> int | None:
        """The line of the next ``"key":`` after the previous one, or ``None`` once lost."""
        if self.lost:
            return None
        needle = _needle(key)
        at = self.text.find(needle, self.pos)
        while at >= 0 and not _COLON.match(self.text, at + len(needle)):
            at = self.text.find(needle, at + 1)
        if at < 0:
            # NOTE: the key was written with other escapes; give up rather than rescan.
            self.lost = True
            return None
        self.line += self.text.count("\n", self.pos, at)
        self.pos = at + len(needle)
        return self.line


# NOTE: a fleet's snapshots repeat the same keys (pip names, pack ids) hundreds of times.
@functools.lru_cache(maxsize=1 << 14)
def _needle(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def parse_json(text: str) -> Tree:
    """Return the tree of the JSON document ``text``.

    :raises Malformed: for invalid JSON, and for documents nested too deep to be a manifest.
    """
    try:
        value = json.loads(text, object_pairs_hook=_Pairs)
    except json.JSONDecodeError as e:
        raise Malformed(f"invalid JSON: {e.msg}", e.lineno) from None
    except RecursionError:
        raise Malformed(_TOO_DEEP) from None
    except ValueError:  # NOTE: integers longer than Python's digit limit.
        raise Malformed("invalid JSON: a number has too many digits") from None
    start = text.count("\n", 0, len(text) - len(text.lstrip())) + 1
    return _build(value, _KeyLines(text), 0, start)


def _build(value: object, lines: _KeyLines, depth: int, line: int | None) -> Tree:
    if depth > MAX_DEPTH:
        raise Malformed(_TOO_DEEP, line)
    if isinstance(value, _Pairs):
        return _build_map(value, lines, depth, line)
    if isinstance(value, list):
        return Seq(tuple(_build(v, lines, depth + 1, line) for v in value), line)
    return Scalar(value, line)


def _build_map(pairs: _Pairs, lines: _KeyLines, depth: int, line: int | None) -> Map:
    built: list[tuple[Tree, Tree]] = []
    find, nested = lines.find, depth + 1 > MAX_DEPTH
    for key, value in pairs:
        key_line = find(key) or line
        # NOTE: most values are strings (a fleet's snapshots hold 100,000s): made here, not
        # through `_build`, which would only make the same Scalar.
        tree = (
            _build(value, lines, depth + 1, key_line)
            if nested or isinstance(value, list)
            else Scalar(value, key_line)
        )
        built.append((Scalar(key, key_line), tree))
    first = built[0][0].line if built else line
    return Map(tuple(built), first)

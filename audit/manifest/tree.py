"""A parsed JSON or YAML document with the line of every value, and typed accessors over it.

Both parsers produce the same small tree, so that the snapshot and JSON readers check types and
report lines in one way whatever the syntax was. Mappings keep every pair in order, duplicates
included, so that a key written twice is seen rather than silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

from audit.manifest.interface import Malformed, brief

__all__ = [
    "MAX_DEPTH",
    "Map",
    "Scalar",
    "Seq",
    "Tree",
    "as_bool",
    "as_id",
    "as_optional_str",
    "as_str",
    "describe",
    "is_null",
]

#: Deepest nesting read; real manifests nest five levels at most.
MAX_DEPTH = 100


@dataclass(frozen=True)
class Scalar:
    """Represents a string, number, boolean, date or null, as the parser typed it."""

    value: object
    line: int | None = None


@dataclass(frozen=True)
class Seq:
    """Represents a list."""

    items: tuple[Tree, ...]
    line: int | None = None


@dataclass(frozen=True)
class Map:
    """Represents a mapping, its pairs in document order, repeated keys included."""

    pairs: tuple[tuple[Tree, Tree], ...]
    line: int | None = None

    def get_all(self, key: str) -> list[Tree]:
        """Every value stored under the string ``key``."""
        return [v for k, v in self.pairs if isinstance(k, Scalar) and k.value == key]

    def get(self, key: str) -> Tree | None:
        """The first value stored under the string ``key``, or ``None`` when absent."""
        found = self.get_all(key)
        return found[0] if found else None


Tree = Scalar | Seq | Map


def describe(tree: Tree) -> str:
    """Name what ``tree`` holds, for messages: ``a mapping``, ``a list``, ``null`` or a repr."""
    if isinstance(tree, Map):
        return "a mapping"
    if isinstance(tree, Seq):
        return "a list"
    return "null" if tree.value is None else brief(tree.value)


def is_null(tree: Tree | None) -> bool:
    """Whether ``tree`` is absent or an explicit null."""
    return tree is None or (isinstance(tree, Scalar) and tree.value is None)


def _where(tree: Tree | None, line: int | None) -> int | None:
    return tree.line if tree is not None and tree.line is not None else line


def as_str(tree: Tree | None, what: str, line: int | None = None) -> str:
    """Return the string in ``tree``.

    :raises Malformed: when it is missing or not a string. Numbers get a hint to quote them,
        since YAML reads ``1.10`` as the float ``1.1``.
    """
    if tree is None:
        raise Malformed(f"missing {what}", line)
    at = _where(tree, line)
    if not isinstance(tree, Scalar) or tree.value is None:
        raise Malformed(f"{what} must be a string, got {describe(tree)}", at)
    if not isinstance(tree.value, str):
        raise Malformed(f"{what} must be a string, quote it: got {brief(tree.value)}", at)
    if not tree.value.isprintable() and _has_surrogate(tree.value):
        raise Malformed(f"{what} is not valid unicode: {brief(tree.value)}", at)
    return tree.value


def _has_surrogate(text: str) -> bool:
    # NOTE: JSON and YAML escapes can spell lone surrogates, which no UTF-8 writer accepts.
    return any("\ud800" <= c <= "\udfff" for c in text)


def as_optional_str(tree: Tree | None, what: str, line: int | None = None) -> str | None:
    """Return the string in ``tree``, or ``None`` when it is absent or null.

    :raises Malformed: when it is something else.
    """
    return None if is_null(tree) else as_str(tree, what, line)


def as_id(tree: Tree | None, what: str, line: int | None = None) -> str:
    """Return the non-empty string in ``tree``, stripped of surrounding whitespace.

    :raises Malformed: when it is missing, empty or not a string.
    """
    text = as_str(tree, what, line).strip()
    if not text:
        raise Malformed(f"{what} is empty", _where(tree, line))
    return text


def as_bool(tree: Tree | None, what: str, line: int | None = None) -> bool:
    """Return the boolean in ``tree``; absent or null means ``False``.

    :raises Malformed: when it is something else.
    """
    if tree is None or is_null(tree):
        return False
    if isinstance(tree, Scalar) and isinstance(tree.value, bool):
        return tree.value
    raise Malformed(f"{what} must be true or false, got {describe(tree)}", _where(tree, line))

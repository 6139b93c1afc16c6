"""Parse YAML safely into a tree with the line of every value.

Only the safe schema is read, and documents are refused before they are built when they use
tags beyond it, nest too deep, or use aliases that expand too far (``yaml.safe_load`` alone does
not stop a "billion laughs" document).
"""

from __future__ import annotations

from typing import Protocol

import yaml

from audit.manifest.interface import Malformed, brief
from audit.manifest.tree import MAX_DEPTH, Map, Scalar, Seq, Tree

__all__ = ["MAX_ALIASES", "parse_yaml"]

#: Aliases allowed in one document; hand-written snapshots use a few at most.
MAX_ALIASES = 100
# NOTE: the C loader is much faster on large pips lists; both give the same nodes and marks,
# and both construct scalars with SafeConstructor (the C one is no SafeLoader subclass, though).
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SAFE_TAGS = frozenset(t for t in yaml.SafeLoader.yaml_constructors if t is not None) | {"!"}
_MERGE_TAG = "tag:yaml.org,2002:merge"
_TOO_FAR = f"YAML aliases expand too far: more than {MAX_ALIASES} aliases or too many nodes"
_TOO_DEEP = f"YAML nesting too deep: more than {MAX_DEPTH} levels"


class _Mark(Protocol):
    """A position in the YAML text: the pure-Python and the C loader each have their own class."""

    line: int


def _line(mark: _Mark | None) -> int | None:
    return mark.line + 1 if mark is not None else None


def _reader_error(e: yaml.reader.ReaderError, text: str) -> Malformed:
    # NOTE: the pure-Python reader gives the character, the C one its code point.
    char = e.character
    code = ord(char) if isinstance(char, str) and len(char) == 1 else char
    what = f"{code:#04x}" if isinstance(code, int) else brief(code)
    line = text.count("\n", 0, e.position) + 1
    return Malformed(f"invalid YAML: unacceptable character {what}", line)


def _error(e: yaml.YAMLError, text: str) -> Malformed:
    """The problem to report for a PyYAML error, in its words, at its line."""
    if isinstance(e, yaml.reader.ReaderError):
        return _reader_error(e, text)
    if not isinstance(e, yaml.MarkedYAMLError):
        return Malformed(f"invalid YAML: {e}")
    line = _line(e.problem_mark or e.context_mark)
    what = e.problem or e.context or "syntax error"
    if "maximum nesting depth" in what:  # NOTE: libyaml's own limit (1000) hit first.
        return Malformed(_TOO_DEEP, line)
    if e.context and what.startswith("but "):  # NOTE: "but found another document".
        what = f"{e.context}, {what}"
    return Malformed(f"invalid YAML: {what}", line)


def parse_yaml(text: str) -> Tree:
    """Return the tree of the single YAML document ``text`` (an empty document is null).

    :raises Malformed: for invalid YAML, tags beyond the safe schema, nesting deeper than
        ``MAX_DEPTH``, or aliases that expand too far.
    """
    try:
        nodes = _check_events(text)
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            budget = _Budget(10 * nodes + 10_000)
            return Scalar(None) if root is None else _build(root, loader, budget, 0)
        finally:
            loader.dispose()
    except yaml.YAMLError as e:
        raise _error(e, text) from None


def _check_events(text: str) -> int:
    """Scan the event stream once, without building anything; return the number of nodes."""
    nodes = aliases = depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise Malformed(_TOO_FAR, _line(event.start_mark))
        elif isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
            nodes += 1
            _check_tag(event)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise Malformed(_TOO_DEEP, _line(event.start_mark))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return nodes


def _check_tag(event: yaml.ScalarEvent | yaml.CollectionStartEvent) -> None:
    if event.tag is not None and event.tag not in _SAFE_TAGS:
        message = f"unsupported YAML tag {brief(event.tag)}: only plain YAML is read"
        raise Malformed(message, _line(event.start_mark))


class _Budget:
    """Counts the nodes built, aliases expanded; stops a document that expands too far."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, node: yaml.Node) -> None:
        self.left -= 1
        if self.left < 0:
            raise Malformed(_TOO_FAR, _line(node.start_mark))


def _build(node: yaml.Node, loader: yaml.SafeLoader, budget: _Budget, depth: int) -> Tree:
    budget.spend(node)
    line = _line(node.start_mark)
    if depth > MAX_DEPTH:  # NOTE: reached through aliases only; the events were checked.
        raise Malformed(_TOO_FAR, line)
    if isinstance(node, yaml.MappingNode):
        return Map(tuple(_pair(k, v, loader, budget, depth) for k, v in node.value), line)
    if isinstance(node, yaml.SequenceNode):
        return Seq(tuple(_build(n, loader, budget, depth + 1) for n in node.value), line)
    return Scalar(_scalar(node, loader), line)


def _pair(
    key: yaml.Node, value: yaml.Node, loader: yaml.SafeLoader, budget: _Budget, depth: int
) -> tuple[Tree, Tree]:
    if key.tag == _MERGE_TAG:
        raise Malformed("YAML merge keys (<<) are not supported", _line(key.start_mark))
    return _build(key, loader, budget, depth + 1), _build(value, loader, budget, depth + 1)


def _scalar(node: yaml.Node, loader: yaml.SafeLoader) -> object:
    try:
        return loader.construct_object(node)
    except (ValueError, TypeError, LookupError, AttributeError, ArithmeticError, yaml.YAMLError):
        # NOTE: explicit tags such as `!!int abc` or `!!timestamp x` fail inside PyYAML.
        raise Malformed(f"invalid YAML value {brief(node.value)}", _line(node.start_mark)) from None

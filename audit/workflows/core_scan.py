"""ComfyUI's own node class names, read statically from its source (never imported).

ComfyUI registers its classes in three places: the ``NODE_CLASS_MAPPINGS`` dict of ``nodes.py``,
the ``comfy_extras`` files that ``init_builtin_extra_nodes()`` lists (each with its own
``NODE_CLASS_MAPPINGS``, or, for newer nodes, ``io.ComfyNode`` classes whose ``define_schema``
calls ``io.Schema(node_id=...)`` and which the file's ``get_node_list()`` returns), and the
partner nodes of ``comfy_api_nodes/nodes_*.py``. Everything here is Python's ``ast``: the
source of an install is data, never code to run.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

__all__ = ["CoreNodes", "class_names", "scan_core"]

_MAPPINGS = "NODE_CLASS_MAPPINGS"

ReadSource = Callable[[str], str | None]
"""Reads a file of the ComfyUI tree by its ``/``-separated relative path; ``None`` if absent."""


@dataclass(frozen=True)
class CoreNodes:
    """Represents the class names one ComfyUI tree registers."""

    version: str | None
    nodes: frozenset[str]
    """``nodes.py`` and the ``comfy_extras`` files it loads."""
    api_nodes: frozenset[str]
    """The partner (API) nodes of ``comfy_api_nodes``."""

    @property
    def all(self) -> frozenset[str]:
        return self.nodes | self.api_nodes


def scan_core(read: ReadSource, api_files: Iterable[str]) -> CoreNodes:
    """Return the class names of the ComfyUI tree that ``read`` reads.

    :param api_files: the relative paths of ``comfy_api_nodes/nodes_*.py`` in that tree.
    """
    main = _parse(read("nodes.py"))
    if main is None:
        return CoreNodes(_version(read), frozenset(), frozenset())
    nodes = set(class_names(main))
    for name in _extras_files(main):
        tree = _parse(read(f"comfy_extras/{name}"))
        nodes.update(class_names(tree) if tree is not None else ())
    api: set[str] = set()
    for path in api_files:
        tree = _parse(read(path))
        api.update(class_names(tree) if tree is not None else ())
    return CoreNodes(_version(read), frozenset(nodes), frozenset(api - nodes))


def class_names(tree: ast.Module) -> set[str]:
    """The class names one source file registers: its mappings plus its V3 schema ids."""
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    return set(_mapped(tree, classes)) | set(_schema_ids(tree, classes))


def _parse(source: str | None) -> ast.Module | None:
    if source is None:
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _version(read: ReadSource) -> str | None:
    tree = _parse(read("comfyui_version.py"))
    for node in tree.body if tree is not None else ():
        if isinstance(node, ast.Assign) and _is_name(node.targets[0], "__version__"):
            return _string(node.value)
    return None


def _extras_files(main: ast.Module) -> list[str]:
    """The file names listed in ``extras_files = [...]`` inside ``init_builtin_extra_nodes``."""
    for node in ast.walk(main):
        if (
            isinstance(node, ast.Assign)
            and _is_name(node.targets[0], "extras_files")
            and isinstance(node.value, ast.List)
        ):
            return [s for s in map(_string, node.value.elts) if s and ".." not in s]
    return []


def _mapped(tree: ast.Module, classes: dict[str, ast.ClassDef]) -> Iterator[str]:
    """String keys put into ``NODE_CLASS_MAPPINGS``: a literal, ``.update({...})``, an item
    assignment, or a loop assigning ``NODE_CLASS_MAPPINGS[node.NodeId]`` over a list of classes."""
    lists = _module_lists(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if _is_name(target, _MAPPINGS) and isinstance(node.value, ast.Dict):
                yield from _dict_keys(node.value)
            elif isinstance(target, ast.Subscript) and _is_name(target.value, _MAPPINGS):
                yield from filter(None, [_string(target.slice)])
        elif isinstance(node, ast.Call) and _is_update(node.func) and node.args:
            if isinstance(node.args[0], ast.Dict):
                yield from _dict_keys(node.args[0])
        elif isinstance(node, ast.For) and isinstance(node.iter, ast.Name):
            yield from _loop_ids(node, lists.get(node.iter.id, []), classes)


def _loop_ids(loop: ast.For, names: list[str], classes: dict[str, ast.ClassDef]) -> Iterator[str]:
    for node in ast.walk(loop):
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Subscript)):
            continue
        target = node.targets[0]
        key = target.slice
        if _is_name(target.value, _MAPPINGS) and isinstance(key, ast.Attribute):
            for name in names:
                found = _class_attribute(name, key.attr, classes)
                if found:
                    yield found


def _module_lists(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level ``x = [ClassA, ClassB]`` lists, by variable name."""
    lists: dict[str, list[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        target = node.targets[0]
        if isinstance(target, ast.Name) and isinstance(node.value, ast.List):
            lists[target.id] = [e.id for e in node.value.elts if isinstance(e, ast.Name)]
    return lists


def _schema_ids(tree: ast.Module, classes: dict[str, ast.ClassDef]) -> Iterator[str]:
    """The ``node_id`` of each V3 class: those ``get_node_list()`` returns, else every one."""
    returned = _node_list(tree)
    for name in returned if returned is not None else list(classes):
        found = _schema_id(name, classes)
        if found:
            yield found


def _node_list(tree: ast.Module) -> list[str] | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            node.name == "get_node_list"
        ):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and isinstance(inner.value, ast.List):
                    return [e.id for e in inner.value.elts if isinstance(e, ast.Name)]
    return None


def _schema_id(name: str, classes: dict[str, ast.ClassDef]) -> str | None:
    """The ``node_id=`` of the ``define_schema`` that class ``name`` has or inherits."""
    for owner in _lineage(name, classes):
        for item in owner.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and (
                item.name == "define_schema"
            ):
                value = _node_id_keyword(item)
                if isinstance(value, ast.Attribute) and _is_name(value.value, "cls"):
                    return _class_attribute(name, value.attr, classes)
                return _string(value) if value is not None else None
    return None


def _node_id_keyword(function: ast.AST) -> ast.expr | None:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "node_id":
                    return keyword.value
    return None


def _class_attribute(name: str, attribute: str, classes: dict[str, ast.ClassDef]) -> str | None:
    """A string class attribute, looked up through the module's own base classes."""
    for owner in _lineage(name, classes):
        for item in owner.body:
            if isinstance(item, ast.Assign) and _is_name(item.targets[0], attribute):
                return _string(item.value)
            if isinstance(item, ast.AnnAssign) and _is_name(item.target, attribute):
                return _string(item.value) if item.value is not None else None
    return None


def _lineage(name: str, classes: dict[str, ast.ClassDef]) -> Iterator[ast.ClassDef]:
    """The class and its bases defined in the same file, nearest first, each once."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop(0)
        if current in seen or current not in classes:
            continue
        seen.add(current)
        yield classes[current]
        pending += [b.id for b in classes[current].bases if isinstance(b, ast.Name)]


def _dict_keys(value: ast.Dict) -> Iterator[str]:
    return (s for s in map(_string, value.keys) if s)


def _is_update(func: ast.expr) -> bool:
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "update"
        and _is_name(func.value, _MAPPINGS)
    )


def _is_name(node: ast.AST | None, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _string(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None

"""Read what a pack's own ``pyproject.toml`` says, as comfy-cli maps it to registry fields.

Only data is read: the file is parsed with ``tomllib``, and a dynamic version is found with a
regular expression, never by importing the pack. Every way a real pyproject is broken (merge
markers, invalid TOML, a missing or mistyped ``[project]`` field) is a one-line problem.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath, PureWindowsPath

from audit import safeio
from audit.manifest.interface import brief
from audit.model import NodeVersion

__all__ = ["FRONTEND", "MAX_FILE", "Pyproject", "Unreadable", "read_limited", "read_pyproject"]

#: Largest pack file read (pyproject, requirements, version file); real ones are a few KiB.
MAX_FILE = 1024 * 1024
FRONTEND = "comfyui-frontend-package"
_NAME = "pyproject.toml"
_OS_PREFIXES = ("Microsoft", "POSIX", "MacOS", "OS Independent")
_ACCELERATOR_PREFIXES = ("GPU ::", "NPU ::")
_MERGE_MARKER = re.compile(r"^(?:<{7}|={7}|>{7})(?:\s|$)", re.MULTILINE)
# NOTE: what comfy-cli reads from the version file: `__version__ = "1.2.3"` or `VERSION = ...`,
# an annotation allowed; the first assignment wins.
_VERSION_ASSIGNMENT = re.compile(
    r"^\s*(?:__version__|VERSION)\s*(?::[^=\n]*)?=\s*(?P<q>['\"])(?P<version>[^'\"\n]*)(?P=q)",
    re.MULTILINE,
)

Table = Mapping[str, object]
Tags = tuple[str, ...] | None


class Unreadable(Exception):
    """A pack file that cannot be read: missing access, not a regular file, or too large."""


def read_limited(path: Path, *, within: Path | None = None) -> bytes:
    """Return the bytes of the regular file at ``path``, at most ``MAX_FILE`` of them.

    :param within: the tree being scanned; a file whose symlinks lead outside it is not read.
    :raises Unreadable: with a message naming the file by its name only.
    """
    if within is not None and not safeio.stays_within(path, within) and path.exists():
        raise Unreadable(f"{path.name} links outside {within.name}: not read")
    try:
        return safeio.read_bytes(path, limit=MAX_FILE)
    # NOTE: a FIFO or device named pyproject.toml would block or never end; it is not opened.
    except safeio.NotRegular:
        raise Unreadable(f"{path.name} is not a regular file") from None
    except safeio.TooLarge:
        raise Unreadable(f"{path.name} is larger than 1 MiB: not read") from None
    except safeio.Refused as e:
        raise Unreadable(f"{path.name} cannot be read: {e}") from None


@dataclass(frozen=True)
class Pyproject:
    """Represents what one pack's ``pyproject.toml`` declares, read tolerantly."""

    name: str | None
    """``[project].name`` stripped, as written; ``None`` when missing or not a string."""
    version: str | None
    """``[project].version`` stripped, or the dynamic version found; ``None`` when unknown."""
    error: str | None = None
    """Why the file as a whole cannot be used (unreadable, not TOML); then nothing else is set."""
    problem: str | None = None
    """The first problem of ``[project]``: the table, its name or its version."""
    has_project: bool = False
    """Whether there is a ``[project]`` table (tool-only pyprojects have none)."""
    metadata: NodeVersion | None = None
    """The declared fields, with empty ``node_id`` and ``version``; see ``declared``."""

    def declared(self, node_id: str, version: str | None) -> NodeVersion | None:
        """The pack's declaration as a NodeVersion of ``node_id@version``; ``None`` if unread."""
        if self.metadata is None:
            return None
        return replace(self.metadata, node_id=node_id, version=version or "")


def _parse(data: bytes) -> Table:
    """:raises Unreadable: when ``data`` is not UTF-8 TOML, naming the merge markers if any."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise Unreadable(f"{_NAME} is not valid UTF-8 (at line {line})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        marker = _MERGE_MARKER.search(text)
        if marker is not None:
            line = text.count("\n", 0, marker.start()) + 1
            message = f"{_NAME} has unresolved merge-conflict markers (at line {line})"
            raise Unreadable(message) from None
        raise Unreadable(f"{_NAME} is not valid TOML: {e}") from None
    except RecursionError:
        # NOTE: tomllib parses nested arrays and tables recursively; a hostile file can nest
        # deeper than the interpreter allows.
        raise Unreadable(f"{_NAME} is not valid TOML: nested too deeply") from None


def _table(value: object) -> Table:
    """``value`` when it is a table, else an empty one: mistyped sections declare nothing."""
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> Tags:
    """The strings of a list, others skipped; ``None`` when ``value`` is not a list."""
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else None


def _tails(classifiers: tuple[str, ...] | None, prefix: str, kept: tuple[str, ...]) -> Tags:
    """The classifiers under ``prefix``, without it, that start with one of ``kept``."""
    if classifiers is None:
        return None
    tails = (c.removeprefix(prefix) for c in classifiers if c.startswith(prefix))
    return tuple(t for t in tails if t.startswith(kept))


def _frontend(dependencies: Tags) -> str | None:
    # NOTE: like comfy-cli, the first entry starting with the package name, rest kept as written.
    first = next((d for d in dependencies or () if d.startswith(FRONTEND)), None)
    return first.removeprefix(FRONTEND) if first is not None else None


def _without_frontend(dependencies: Tags, dynamic: tuple[str, ...]) -> Tags:
    # NOTE: comfy-cli does not resolve dynamic dependencies; they are unknown, not empty.
    if dependencies is None or "dependencies" in dynamic:
        return None
    return tuple(d for d in dependencies if not d.startswith(FRONTEND))


def _metadata(document: Table, project: Table, dynamic: tuple[str, ...]) -> NodeVersion:
    """The registry fields comfy-cli would publish from this pyproject (registry.md §2.2)."""
    classifiers = _strings(project.get("classifiers"))
    dependencies = _strings(project.get("dependencies"))
    comfyui = _table(_table(document.get("tool")).get("comfy")).get("requires-comfyui")
    return NodeVersion(
        node_id="",
        version="",
        supported_os=_tails(classifiers, "Operating System :: ", _OS_PREFIXES),
        supported_accelerators=_tails(classifiers, "Environment :: ", _ACCELERATOR_PREFIXES),
        supported_comfyui_version=comfyui if isinstance(comfyui, str) else None,
        supported_comfyui_frontend_version=_frontend(dependencies),
        dependencies=_without_frontend(dependencies, dynamic),
    )


def _name(project: Table) -> tuple[str | None, str | None]:
    """``(name, problem)`` of ``[project].name``."""
    name = project.get("name")
    if name is None:
        return None, f"{_NAME} has no [project].name"
    if not isinstance(name, str):
        return None, f"{_NAME} [project].name must be a string, got {brief(name)}"
    if not name.strip():
        return None, f"{_NAME} [project].name is empty"
    return name.strip(), None


def _version_file(pack: Path, document: Table) -> Path:
    """The file that holds a dynamic version: ``[tool.comfy.version].path``, else ``__init__.py``.

    :raises Unreadable: when the path is not one inside the pack folder.
    """
    tool_comfy = _table(_table(document.get("tool")).get("comfy"))
    declared = _table(tool_comfy.get("version")).get("path")
    if not isinstance(declared, str) or not declared.strip():
        return pack / "__init__.py"
    where = f"{_NAME} [tool.comfy.version].path {brief(declared)}"
    if "\0" in declared:
        raise Unreadable(f"{where} is not a valid path")
    if PurePosixPath(declared).is_absolute() or PureWindowsPath(declared).is_absolute():
        raise Unreadable(f"{where} is an absolute path")
    target = pack / declared
    try:
        # NOTE: resolved, so that neither `..` nor a symlink inside the pack reads elsewhere.
        inside = target.resolve().is_relative_to(pack.resolve())
    except (OSError, RuntimeError):  # NOTE: RuntimeError is a symlink loop on 3.11.
        raise Unreadable(f"{where} cannot be resolved") from None
    if not inside:
        raise Unreadable(f"{where} is outside the pack folder")
    return target


def _dynamic_version(pack: Path, document: Table) -> str | None:
    """The version assigned in the version file; ``None`` when there is none to read.

    :raises Unreadable: when the declared version file is outside the pack.
    """
    path = _version_file(pack, document)
    try:
        text = read_limited(path, within=pack).decode("utf-8", errors="replace")
    except Unreadable:
        return None  # NOTE: no readable version file means an unknown version, not a problem.
    match = _VERSION_ASSIGNMENT.search(text)
    return (match["version"].strip() or None) if match else None


def _version(pack: Path, document: Table, project: Table) -> tuple[str | None, str | None]:
    """``(version, problem)`` of the pack, static or dynamic."""
    version = project.get("version")
    if version is None and "version" in (_strings(project.get("dynamic")) or ()):
        try:
            return _dynamic_version(pack, document), None
        except Unreadable as e:
            return None, str(e)
    if version is None:
        return None, f"{_NAME} has no [project].version"
    if not isinstance(version, str):
        return None, f"{_NAME} [project].version must be a string, got {brief(version)}"
    if not version.strip():
        return None, f"{_NAME} [project].version is empty"
    return version.strip(), None


def _from_document(pack: Path, document: Table) -> Pyproject:
    project = document.get("project")
    dynamic = _strings(_table(project).get("dynamic")) or ()
    metadata = _metadata(document, _table(project), dynamic)
    if project is None:
        return Pyproject(None, None, problem=f"{_NAME} has no [project] table", metadata=metadata)
    if not isinstance(project, dict):
        mistyped = f"{_NAME} [project] must be a table, got {brief(project)}"
        return Pyproject(None, None, problem=mistyped, metadata=metadata)
    name, name_problem = _name(project)
    version, version_problem = _version(pack, document, project)
    problem = name_problem or version_problem
    return Pyproject(name, version, problem=problem, has_project=True, metadata=metadata)


def read_pyproject(pack: Path) -> Pyproject:
    """Return what ``pack/pyproject.toml`` declares; every way it is broken becomes a problem.

    Never raises for a bad file: an unreadable or unparseable one gives ``error``, a bad
    ``[project]`` gives ``problem``, and the fields that could be read are still set.
    """
    try:
        document = _parse(read_limited(pack / _NAME, within=pack))
    except Unreadable as e:
        return Pyproject(None, None, error=str(e))
    return _from_document(pack, document)

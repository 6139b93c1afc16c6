"""Which packs ComfyUI failed to import at its last start, read from its log (files only).

ComfyUI-Manager writes ComfyUI's output to ``<install>/user/comfyui.log`` (``comfyui_<port>.log``
when several instances run), rotating earlier starts to ``.prev`` and ``.prev2``. Each line
starts with ``[YYYY-MM-DD HH:MM:SS.mmm]``. At the end of loading, ComfyUI's ``nodes.py`` logs::

    Import times for custom nodes:
       0.0 seconds: /opt/ComfyUI/custom_nodes/websocket_image_save.py
       0.3 seconds (IMPORT FAILED): /opt/ComfyUI/custom_nodes/ComfyUI-Foo

and, while loading, ``Cannot import <path> module for custom nodes: <reason>`` for each pack
that failed. The paths are the machine's (Windows or POSIX), so packs are matched by the last
part of the path: their folder (or file) name.

A log that is missing, unreadable, huge (only its last 8 MiB are read) or in another format is
never an error: the failures are then unknown, and `ImportLog.note` says why.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from audit import safeio
from audit.model import ImportFailure, ManifestEntry

__all__ = ["LOG_TAIL", "ImportLog", "failures_by_id", "parse_import_log", "read_import_log"]

#: How much of a log is read: its end, where the newest start is.
LOG_TAIL = 8 * 1024 * 1024
_LOG_NAME = re.compile(r"comfyui(?:_\d{1,5})?(?:\.prev2?)?\.log")
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")
_STAMP = re.compile(r"\[(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?)\] ?")
_BLOCK = "Import times for custom nodes:"
_TIME = re.compile(r"\s*\d+(?:\.\d+)?\s+seconds(?P<failed> \(IMPORT FAILED\))?:\s+(?P<path>.+?)\s*")
_CANNOT = re.compile(
    r".*?Cannot import (?P<path>.+?) module for custom nodes:\s*(?P<reason>.*?)\s*"
)
_NO_REASON = "listed as IMPORT FAILED in ComfyUI's log"


@dataclass(frozen=True)
class ImportLog:
    """Represents what ComfyUI's log says about the last start."""

    failures: Mapping[str, ImportFailure] | None
    """Failed packs by lower-cased folder (or file) name; ``None`` when no log could be used."""
    note: str
    """Which log was used, or why none was (for the environment profile)."""


def read_import_log(comfyui_path: str | Path) -> ImportLog:
    """Read the newest log in ``comfyui_path/user`` that holds an import block."""
    root = Path(comfyui_path)
    user = root / "user"
    logs = _logs(user, root)
    if not logs:
        return ImportLog(None, "not used: no ComfyUI log (comfyui*.log) in user/")
    problems = []
    for path in logs:
        try:
            data = safeio.read_tail(path, limit=LOG_TAIL)
            size = path.stat().st_size
        except OSError as error:
            problems.append(f"{path.name}: {error.strerror or error}")
            continue
        failures = parse_import_log(data.decode("utf-8", "replace"), partial=size > len(data))
        if failures is not None:
            return ImportLog(failures, f"user/{path.name}")
    read = "; ".join(problems) if problems else ", ".join(p.name for p in logs)
    return ImportLog(None, f"not used: no log in user/ holds an import block ({read})")


def _logs(user: Path, root: Path) -> list[Path]:
    """The log files in ``user``, newest first; symlinks out of the install are left out."""
    try:
        names = [name for name in os.listdir(user) if _LOG_NAME.fullmatch(name)]
    except OSError:
        return []
    dated = []
    for name in names:
        path = user / name
        try:
            if safeio.stays_within(path, root):
                dated.append((path.stat().st_mtime, name, path))
        except OSError:
            continue
    return [path for _, _, path in sorted(dated, key=lambda d: (-d[0], d[1]))]


def parse_import_log(text: str, *, partial: bool = False) -> dict[str, ImportFailure] | None:
    """The failed packs of the last import block in ``text`` by lower-cased folder name, or
    ``None`` when it holds no import block.

    :param partial: ``text`` starts in the middle of the file, so its first line is cut.
    """
    lines = text.split("\n")
    if partial:
        lines = lines[1:]
    if not text.endswith("\n"):
        lines = lines[:-1]  # NOTE: a log being written can end in half a line
    reasons: dict[str, str] = {}
    failed: dict[str, str | None] | None = None
    in_block = False
    for raw in lines:
        stamp, line = _split(raw)
        if _BLOCK in line:
            failed, in_block = {}, True
            continue
        timed = _TIME.fullmatch(line) if in_block else None
        if timed is not None and failed is not None:
            if timed.group("failed"):
                failed[_folder(timed.group("path"))] = stamp
            continue
        in_block = False  # NOTE: the block ends at its first other line (a blank one)
        cannot = _CANNOT.fullmatch(line)
        if cannot is not None and cannot.group("reason"):
            reasons[_folder(cannot.group("path"))] = cannot.group("reason")
    if failed is None:
        return None
    return {
        name: ImportFailure(reasons.get(name, _NO_REASON), stamp) for name, stamp in failed.items()
    }


def _split(raw: str) -> tuple[str | None, str]:
    """The line's timestamp (verbatim) and its text, colour codes removed."""
    line = _ANSI.sub("", raw).rstrip("\r")
    stamp = _STAMP.match(line)
    if stamp is None:
        return None, line
    return stamp.group(1), line[stamp.end() :]


def _folder(path: str) -> str:
    r"""The last part of a path, Windows or POSIX, lower-cased.

    >>> _folder(r"C:\ComfyUI\custom_nodes\ComfyUI-Foo\\"), _folder("/opt/c/custom_nodes/a.py")
    ('comfyui-foo', 'a.py')
    """
    parts = [p for p in re.split(r"[\\/]", path.strip()) if p]
    return parts[-1].lower() if parts else ""


def failures_by_id(
    entries: Iterable[ManifestEntry], by_folder: Mapping[str, ImportFailure]
) -> dict[str, ImportFailure]:
    """The failures of the enabled packs among ``entries`` (read from an install, so that
    ``manifest`` is the pack's path), by node id."""
    found: dict[str, ImportFailure] = {}
    for entry in entries:
        failure = by_folder.get(Path(entry.manifest).name.lower())
        if failure is not None and not entry.disabled:
            found.setdefault(entry.node_id, failure)
    return found

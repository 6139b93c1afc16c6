"""Write a local file whole or not at all, and only where a file belongs.

Every file comfy-audit writes goes through :func:`write_file` (or, for a run folder's files,
:func:`write_new`). The target is checked first (:func:`check_target`, also called before an
audit starts, so that a bad target costs nothing): a new path or a regular file is replaced
atomically, keeping an existing file's mode; a device node, a FIFO, a socket or a folder is
refused, and so is a symlink whose target the invoking user does not own. ``-`` is standard
output.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from audit.safeio import file_kind, os_reason

__all__ = [
    "STDOUT",
    "Refused",
    "check_target",
    "write_file",
    "write_new",
    "write_new_from",
    "write_with",
]

T = TypeVar("T")

#: The target that means standard output.
STDOUT = "-"


class Refused(OSError):
    """A target that is not written to; its ``str()`` is a one-line reason in lower case."""


def _resolve(path: Path) -> Path:
    """The file a write to ``path`` lands in: ``path``, or the target of its symlinks."""
    if not path.is_symlink():
        return path
    target = path.resolve()
    try:
        owner = os.stat(target).st_uid
    except FileNotFoundError:
        owner = os.stat(target.parent).st_uid
    if owner != os.getuid():
        raise Refused(f"a symlink to {target}, which is owned by uid {owner}, not by you")
    return target


_SPECIAL = (Path("/dev"), Path("/proc"))
_MAX_HOPS = 40


def _refuse_special(path: Path) -> None:
    """Refuse a path that is, or links through, ``/dev`` or ``/proc`` (``/dev/stdout`` too).

    NOTE: ``/dev/stdout`` leads to whatever standard output is; replacing it by a new file
    would take it from the process (and from whoever reads it), so ``-`` is the way.
    """
    hop = Path(os.path.abspath(path))
    for _ in range(_MAX_HOPS):
        if any(hop.is_relative_to(special) for special in _SPECIAL):
            raise Refused(f"{hop} is a device or process file; use - for standard output")
        if not hop.is_symlink():
            return
        hop = Path(os.path.abspath(hop.parent / os.readlink(hop)))
    raise Refused("too many levels of symbolic links")


def _check(path: Path) -> Path:
    try:
        _refuse_special(path)
        real = _resolve(path)
        try:
            mode = os.stat(real).st_mode
        except FileNotFoundError:
            if not real.parent.is_dir():
                raise Refused(f"no folder {real.parent}") from None
            return real
    except Refused:
        raise
    except (OSError, RuntimeError, ValueError) as e:
        raise Refused(os_reason(e) if isinstance(e, OSError) else "invalid path") from None
    if not stat.S_ISREG(mode):
        raise Refused(f"{file_kind(mode)}, not a regular file; use - for standard output")
    return real


def check_target(target: str | Path) -> None:
    """Refuse a target :func:`write_file` would refuse; ``-`` (standard output) is fine.

    :raises Refused: for a device, FIFO, socket or folder, a symlink to a file the invoking
        user does not own, or a path whose folder does not exist.
    """
    if os.fspath(target) != STDOUT:
        _check(Path(target))


def write_file(target: str | Path, data: bytes) -> None:
    """Write ``data`` to ``target`` whole, or to standard output when ``target`` is ``-``.

    A new file gets the usual mode (0666 less the umask); an existing one keeps its mode (and,
    when written by root, its owner), so a reader such as node_exporter still reads it. A
    symlink to a file the invoking user owns is written through.

    :raises Refused: as :func:`check_target`, or when the file cannot be written.
    """
    write_with(target, lambda stream: stream.write(data))


def write_with(target: str | Path, fill: Callable[[BinaryIO], T]) -> T:
    """Like :func:`write_file`, with the bytes written by ``fill(stream)``; return its result.

    Nothing replaces ``target`` unless ``fill`` returns.
    """
    if os.fspath(target) == STDOUT:
        result = fill(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return result
    real = _check(Path(target))
    try:
        existing: os.stat_result | None = os.stat(real)
    except FileNotFoundError:
        existing = None
    except OSError as e:
        raise Refused(os_reason(e)) from None
    temporary = real.with_name(f".{real.name}.{secrets.token_hex(8)}.tmp")
    result = _create(temporary, fill)
    try:
        if existing is not None:
            os.chmod(temporary, stat.S_IMODE(existing.st_mode))
            if os.getuid() == 0:
                os.chown(temporary, existing.st_uid, existing.st_gid)
        os.replace(temporary, real)
    except OSError as e:
        temporary.unlink(missing_ok=True)
        raise Refused(os_reason(e)) from None
    return result


def write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path``, which must not exist (a file of a fresh run folder).

    :raises Refused: when ``path`` exists or cannot be written.
    """
    _create(path, lambda stream: stream.write(data))


def write_new_from(path: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Write to ``path``, which must not exist, what ``fill`` writes to the stream it is given.

    :raises Refused: when ``path`` exists or cannot be written.
    """
    _create(path, fill)


def _create(path: Path, fill: Callable[[BinaryIO], T]) -> T:
    """Create ``path`` (never following or reusing what is there), filled by ``fill``."""
    try:
        # NOTE: 0o666 lets the umask decide, as for any file the user creates.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as e:
        raise Refused(os_reason(e)) from None
    try:
        with os.fdopen(descriptor, "wb") as stream:
            result = fill(stream)
            stream.flush()
            os.fsync(stream.fileno())
    except BaseException as e:
        path.unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise Refused(os_reason(e)) from None
        raise
    return result

"""Read files that may be hostile: regular files only, never blocking, size and inflation capped.

Every file comfy-audit reads from an install, a working directory or the command line goes
through this module. A FIFO, a device node or a socket is refused without being opened in a way
that blocks; a file grown past its cap is refused while it is read, not after; compressed data is
inflated only up to a cap. Callers turn :class:`Refused` into a pack problem or an input error.
"""

from __future__ import annotations

import os
import stat
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = [
    "DEFAULT_LIMIT",
    "NotRegular",
    "Refused",
    "TooLarge",
    "file_kind",
    "inflate",
    "is_dir",
    "is_file",
    "open_binary",
    "os_reason",
    "read_bytes",
    "read_head",
    "read_tail",
    "read_text",
    "stays_within",
    "too_large",
]

#: Largest file read unless a caller asks for less; manifests and pyprojects are far smaller.
DEFAULT_LIMIT = 32 * 1024 * 1024
_CHUNK = 1024 * 1024
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


class Refused(OSError):
    """A file that is not read: not a regular file, too large, unreadable or inflating too far.

    Its ``str()`` is a one-line reason in lower case, for "<path>: <reason>" messages.
    """


class NotRegular(Refused):
    """A FIFO, device, socket or folder where a regular file was expected; it was not opened."""


class TooLarge(Refused):
    """A file, or its inflated data, past the caller's cap."""


def os_reason(error: OSError) -> str:
    """The one-line reason of an OS error, in lower case (``no such file or directory``)."""
    reason = error.strerror or str(error) or type(error).__name__
    return reason[:1].lower() + reason[1:]


def file_kind(mode: int) -> str:
    """What a file of ``mode`` is, for messages: ``a directory``, ``a FIFO``, ``a device``…"""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _open_regular(path: str | Path) -> int:
    """Return a descriptor of the regular file at ``path``; refuse anything else before opening."""
    try:
        # NOTE: stat before open, since opening some devices has effects of its own.
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegular(f"{file_kind(mode)}, not a regular file")
        fd = os.open(path, _FLAGS)
    except Refused:
        raise
    except (OSError, ValueError) as e:
        raise Refused(os_reason(e) if isinstance(e, OSError) else "invalid path") from None
    # NOTE: checked again on the descriptor, since the path may have been swapped in between.
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegular(f"{file_kind(mode)}, not a regular file")
    return fd


def _too_large(limit: int) -> TooLarge:
    return TooLarge(f"larger than {_size(limit)}")


def too_large(limit: int) -> TooLarge:
    """The refusal of data past ``limit`` bytes, for readers that count what they read."""
    return _too_large(limit)


def _size(count: int) -> str:
    if count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MiB"
    if count % 1024 == 0:
        return f"{count // 1024} KiB"
    return f"{count} bytes"


def _read_upto(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while total < limit and (chunk := os.read(fd, min(_CHUNK, limit - total))):
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _read_with(path: str | Path, read: Callable[[int], bytes]) -> bytes:
    """Return what ``read`` reads from the regular file at ``path``, its OS errors refused."""
    # NOTE: the path as given, not a Path: parsing one costs more than the read of a small file.
    fd = _open_regular(path)
    try:
        return read(fd)
    except Refused:
        raise
    except OSError as e:
        raise Refused(os_reason(e)) from None
    finally:
        os.close(fd)


def _whole(fd: int, limit: int) -> bytes:
    if os.fstat(fd).st_size > limit:
        raise _too_large(limit)
    # NOTE: one byte past the cap, since a file may grow while it is read.
    data = _read_upto(fd, limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


def _tail(fd: int, limit: int) -> bytes:
    size = os.fstat(fd).st_size
    if size > limit:
        os.lseek(fd, size - limit, os.SEEK_SET)
    return _read_upto(fd, limit)


def read_bytes(path: str | Path, *, limit: int = DEFAULT_LIMIT) -> bytes:
    """Return the bytes of the regular file at ``path``, at most ``limit`` of them.

    :raises Refused: for anything but a regular file, a file larger than ``limit`` (checked
        while reading, since a file may grow), or an OS error.
    """
    return _read_with(path, lambda fd: _whole(fd, limit))


def open_binary(path: str | Path) -> BinaryIO:
    """Return the regular file at ``path`` opened for reading, for readers that stream (zip).

    :raises Refused: for anything but a regular file, or an OS error.
    """
    fd = _open_regular(Path(path))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_text(path: str | Path, *, limit: int = DEFAULT_LIMIT) -> str:
    """Return the file at ``path`` decoded as UTF-8, undecodable bytes replaced, BOM removed.

    :raises Refused: as :func:`read_bytes`.
    """
    return read_bytes(path, limit=limit).decode("utf-8", errors="replace").removeprefix("\ufeff")


def read_head(path: str | Path, *, limit: int) -> bytes:
    """Return at most the first ``limit`` bytes of the regular file at ``path`` (for headers).

    :raises Refused: as :func:`read_bytes`, except that a large file is not an error.
    """
    return _read_with(path, lambda fd: _read_upto(fd, limit))


def read_tail(path: str | Path, *, limit: int) -> bytes:
    """Return at most the last ``limit`` bytes of the regular file at ``path`` (for logs).

    :raises Refused: as :func:`read_bytes`, except that a large file is not an error.
    """
    return _read_with(path, lambda fd: _tail(fd, limit))


def inflate(data: bytes, *, limit: int) -> bytes:
    """Return ``data`` zlib-inflated, refusing output longer than ``limit`` bytes.

    >>> inflate(zlib.compress(b"abc"), limit=3)
    b'abc'

    :raises Refused: when the output would pass ``limit`` or the stream is corrupt.
    """
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise Refused("corrupt compressed data") from None
    if len(out) > limit:
        raise TooLarge(f"inflates to more than {_size(limit)}")
    return out


def is_dir(path: Path) -> bool:
    """Whether ``path`` is a folder (following links); an unreadable path is not one."""
    try:
        return path.is_dir()
    except OSError:
        return False


def is_file(path: Path) -> bool:
    """Whether ``path`` is a file (following links); an unreadable path is not one."""
    try:
        return path.is_file()
    except OSError:
        return False


def stays_within(path: str | Path, root: str | Path) -> bool:
    """Tell whether ``path``, with every symlink resolved, lies inside ``root`` (resolved too).

    >>> stays_within("/tmp/a/../b", "/tmp")
    True
    """
    try:
        resolved = Path(path).resolve()
        return resolved.is_relative_to(Path(root).resolve())
    # NOTE: a NUL byte in the path is a ValueError, a symlink loop a RuntimeError on 3.11.
    except (OSError, RuntimeError, ValueError):
        return False

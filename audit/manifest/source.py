"""Read a manifest file's bytes and decode them, refusing what cannot be a manifest."""

from __future__ import annotations

from pathlib import Path

from audit import safeio
from audit.manifest.interface import Malformed

__all__ = ["MAX_BYTES", "load_text"]

#: Largest manifest read; a full pip freeze in a snapshot is well under 1 MiB.
MAX_BYTES = 32 * 1024 * 1024
_TOO_LARGE = "larger than 32 MiB: not a manifest"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _read_bytes(path: Path) -> bytes:
    try:
        return safeio.read_bytes(path, limit=MAX_BYTES)
    except safeio.TooLarge:
        raise Malformed(_TOO_LARGE) from None
    except safeio.Refused as e:
        raise Malformed(f"cannot read: {e}") from None


def load_text(path: Path) -> str:
    """Return the text of the file at ``path``, without a UTF-8 byte-order mark.

    :raises Malformed: when the file cannot be read, is larger than ``MAX_BYTES``, is binary
        (holds NUL bytes) or is not UTF-8.
    """
    data = _read_bytes(path)
    if data.startswith(_UTF16_BOMS):
        raise Malformed("not UTF-8 text: looks like UTF-16, save it as UTF-8", 1)
    if b"\x00" in data:
        at = data.index(b"\x00")
        raise Malformed("binary file: contains NUL bytes", data.count(b"\n", 0, at) + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise Malformed(f"not UTF-8 text: invalid byte {data[e.start]:#04x}", line) from None
    return text.removeprefix("\ufeff")

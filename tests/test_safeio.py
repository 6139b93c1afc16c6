"""Tests for audit.safeio: what a hostile file can make of a read (nothing but a refusal)."""

from __future__ import annotations

import doctest
import os
import socket
import stat
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audit.safeio
from audit import safeio
from tests.hostile import NOBODY, as_nobody, fifo, needs_root, shared_tmp, sparse

__all__ = ["shared_tmp"]


def test_a_regular_file_is_read(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"\xef\xbb\xbfhello \xff\n")
    assert safeio.read_bytes(tmp_path / "f") == b"\xef\xbb\xbfhello \xff\n"
    assert safeio.read_text(tmp_path / "f") == "hello \ufffd\n"


@pytest.mark.parametrize(
    ("make", "reason", "kind"),
    [
        (fifo, "a FIFO, not a regular file", safeio.NotRegular),
        (lambda p: p.symlink_to("/dev/zero"), "a device, not a regular file", safeio.NotRegular),
        (lambda p: p.symlink_to("/dev/null"), "a device, not a regular file", safeio.NotRegular),
        (lambda p: p.mkdir(), "a directory, not a regular file", safeio.NotRegular),
        (lambda p: None, "no such file or directory", safeio.Refused),
        (lambda p: p.symlink_to(p), "too many levels of symbolic links", safeio.Refused),
        (lambda p: sparse(p, 20 * 1024**3), "larger than 1 MiB", safeio.TooLarge),
    ],
    ids=["fifo", "dev-zero", "dev-null", "folder", "missing", "loop", "sparse-20-gb"],
)
def test_what_is_refused_without_blocking_or_reading_it_all(
    tmp_path: Path, make: Callable[[Path], object], reason: str, kind: type[safeio.Refused]
) -> None:
    path = tmp_path / "HEAD"
    make(path)
    for read in (safeio.read_bytes, safeio.read_text):
        with pytest.raises(kind) as caught:
            read(path, limit=1024 * 1024)
        assert str(caught.value) == reason
    if kind is safeio.NotRegular:
        with pytest.raises(safeio.NotRegular):
            safeio.read_tail(path, limit=10)
        with pytest.raises(safeio.NotRegular):
            safeio.read_head(path, limit=10)


def test_a_socket_is_refused(tmp_path: Path) -> None:
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(safeio.NotRegular, match=r"^a socket, not a regular file$"):
            safeio.read_bytes(tmp_path / "sock")


@needs_root
def test_a_device_node_is_never_opened(tmp_path: Path) -> None:
    os.mknod(tmp_path / "zero", 0o666 | stat.S_IFCHR, os.makedev(1, 5))
    with pytest.raises(safeio.NotRegular, match=r"^a device"):
        safeio.read_bytes(tmp_path / "zero")


@needs_root
def test_an_unreadable_file_is_a_one_line_refusal(shared_tmp: Path) -> None:
    (shared_tmp / "secret").write_bytes(b"x")
    (shared_tmp / "secret").chmod(0o600)

    def read() -> str:
        try:
            safeio.read_bytes(shared_tmp / "secret")
        except safeio.Refused as e:
            return str(e)
        return "read"

    assert as_nobody(read) == "permission denied"
    assert os.stat(shared_tmp / "secret").st_uid != NOBODY


def test_the_size_cap_is_exact(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x" * 1024)
    assert safeio.read_bytes(tmp_path / "f", limit=1024) == b"x" * 1024
    with pytest.raises(safeio.TooLarge, match=r"^larger than 1023 bytes$"):
        safeio.read_bytes(tmp_path / "f", limit=1023)


def test_head_and_tail_read_only_their_part(tmp_path: Path) -> None:
    sparse(tmp_path / "big", 20 * 1024**3)
    with (tmp_path / "big").open("r+b") as f:
        f.write(b"head")
        f.seek(-4, os.SEEK_END)
        f.write(b"tail")
    assert safeio.read_head(tmp_path / "big", limit=4) == b"head"
    assert safeio.read_tail(tmp_path / "big", limit=4) == b"tail"


def test_a_zlib_bomb_inflates_only_to_its_cap() -> None:
    packer = zlib.compressobj(9)
    bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(1024)) + packer.flush()
    assert len(bomb) < 2 * 1024 * 1024
    with pytest.raises(safeio.TooLarge, match=r"^inflates to more than 64 KiB$"):
        safeio.inflate(bomb, limit=64 * 1024)


def test_corrupt_compressed_data_is_refused() -> None:
    with pytest.raises(safeio.Refused, match=r"^corrupt compressed data$"):
        safeio.inflate(b"not zlib", limit=10)


@settings(deadline=None)
@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=4000))
def test_inflate_gives_the_data_or_refuses(data: bytes, limit: int) -> None:
    packed = zlib.compress(data)
    if len(data) <= limit:
        assert safeio.inflate(packed, limit=limit) == data
    else:
        with pytest.raises(safeio.TooLarge):
            safeio.inflate(packed, limit=limit)


def test_stays_within(tmp_path: Path) -> None:
    (tmp_path / "tree" / "a").mkdir(parents=True)
    (tmp_path / "tree" / "in").symlink_to(tmp_path / "tree" / "a")
    (tmp_path / "tree" / "out").symlink_to(tmp_path)
    (tmp_path / "tree" / "loop").symlink_to(tmp_path / "tree" / "loop")
    tree = tmp_path / "tree"
    assert safeio.stays_within(tree / "in" / "x", tree)
    assert not safeio.stays_within(tree / "out" / "x", tree)
    assert not safeio.stays_within(tree / "loop", tree)
    assert not safeio.stays_within(tree / "a\0b", tree)
    assert not safeio.stays_within(tree / ".." / "x", tree)


def test_doctests() -> None:
    assert doctest.testmod(audit.safeio).failed == 0

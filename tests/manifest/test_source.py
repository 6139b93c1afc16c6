"""Files that are no manifest at all: missing, binary, not UTF-8, too large."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.manifest import read_manifest
from tests.manifest.helpers import Problems, Write, problems_of

BYTES_REFUSED: list[tuple[str, bytes, Problems]] = [
    ("nul-byte", b"foo@1\nbar\x00@2\n", [(2, "binary file: contains NUL bytes")]),
    ("png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", [(3, "binary file: contains NUL bytes")]),
    ("latin-1", b"foo@1\ncaf\xe9@2\n", [(2, "not UTF-8 text: invalid byte 0xe9")]),
    ("truncated-utf8", b"foo@1\xe2\x82", [(1, "not UTF-8 text: invalid byte 0xe2")]),
    ("encoded-surrogate", b"foo@\xed\xa0\x80", [(1, "not UTF-8 text: invalid byte 0xed")]),
    (
        "utf-16-le",
        "foo@1\n".encode("utf-16"),
        [(1, "not UTF-8 text: looks like UTF-16, save it as UTF-8")],
    ),
    ("utf-16-be", b"\xfe\xff\x00f", [(1, "not UTF-8 text: looks like UTF-16, save it as UTF-8")]),
    ("bom-only", b"\xef\xbb\xbf", [(None, "no entries")]),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in BYTES_REFUSED], ids=[c[0] for c in BYTES_REFUSED]
)
def test_bytes_refused(write: Write, content: bytes, expected: Problems) -> None:
    assert problems_of(write("x.txt", content)) == expected


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\xef\xbb\xbffoo@1\n", [("foo", "1")]),
        (b'\xef\xbb\xbf{"cnr_custom_nodes": {"a": "1"}}', [("a", "1")]),
        (b"\xef\xbb\xbfnode_id,version\nfoo,1\n", [("foo", "1")]),
        (b"\xef\xbb\xbfcustom_nodes:\n  cnr_custom_nodes: {a: '1'}\n", [("a", "1")]),
    ],
    ids=["text", "json", "csv", "yaml"],
)
def test_utf8_bom_is_stripped(
    write: Write, content: bytes, expected: list[tuple[str, str]]
) -> None:
    manifest = read_manifest(write("x.txt", content))
    assert [(e.node_id, e.version) for e in manifest.entries] == expected


def test_huge_file_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as stream:  # NOTE: sparse, so the test writes almost nothing.
        stream.truncate(33 * 1024 * 1024)
    assert problems_of(path) == [(None, "larger than 32 MiB: not a manifest")]


def test_exactly_32_mib_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    first = b"foo@1.0\n# "
    path.write_bytes(first + b"x" * (32 * 1024 * 1024 - len(first)))
    assert [(e.node_id, e.line) for e in read_manifest(path).entries] == [("foo", 1)]


def test_missing_file(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "nope.txt") == [(None, "cannot read: no such file or directory")]


def test_directory(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == [(None, "cannot read: a directory, not a regular file")]

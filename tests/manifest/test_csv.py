"""CSV lists with a header row."""

from __future__ import annotations

import pytest

from audit.manifest import read_manifest
from audit.model import EntrySource
from tests.manifest.helpers import Problems, Write, problems_of

HostRow = tuple[str, str | None, int | None, str]

CSV_CASES: list[tuple[str, str, list[HostRow]]] = [
    (
        "basic",
        "node_id,version\nfoo,1.0\nbar,\n",
        [("foo", "1.0", 2, "farm"), ("bar", None, 3, "farm")],
    ),
    (
        "host-column",
        "node_id,version,host\nfoo,1.0,gpu-1\nbar,2.0,\n",
        [("foo", "1.0", 2, "gpu-1"), ("bar", "2.0", 3, "farm")],
    ),
    (
        "header-case-spaces-extra-columns",
        "Node_ID , Version,notes\nfoo , 1.0 ,hello\n",
        [("foo", "1.0", 2, "farm")],
    ),
    ("column-order", "version,node_id\n1.0,foo\n", [("foo", "1.0", 2, "farm")]),
    (
        "quoted-cell-over-two-lines",
        'node_id,version,notes\nfoo,1.0,"line one\nline two"\nbar,2.0,x\n',
        [("foo", "1.0", 2, "farm"), ("bar", "2.0", 4, "farm")],
    ),
    ("blank-lines-skipped", "node_id,version\n\n,\nfoo,1\n", [("foo", "1", 4, "farm")]),
    ("short-row", "node_id,version\nfoo\n", [("foo", None, 2, "farm")]),
    (
        "crlf",
        "node_id,version\r\nfoo,1\r\nbar,2\r\n",
        [("foo", "1", 2, "farm"), ("bar", "2", 3, "farm")],
    ),
    (
        "same-id-other-host-is-no-duplicate",
        "node_id,version,host\nfoo,1,a\nfoo,2,b\n",
        [("foo", "1", 2, "a"), ("foo", "2", 3, "b")],
    ),
    ("odd-id-kept", "node_id,version\nmy pack,1.0\n", [("my pack", "1.0", 2, "farm")]),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in CSV_CASES], ids=[c[0] for c in CSV_CASES]
)
def test_csv_entries(write: Write, content: str, expected: list[HostRow]) -> None:
    manifest = read_manifest(write("farm.csv", content))
    assert [(e.node_id, e.version, e.line, e.host) for e in manifest.entries] == expected
    assert manifest.format == "csv"
    assert {e.source for e in manifest.entries} == {EntrySource.REGISTRY}


CSV_ERRORS: list[tuple[str, str, Problems]] = [
    (
        "missing-both-columns",
        "id,ver\nfoo,1\n",
        [
            (
                1,
                "missing columns 'node_id', 'version': expected a header row "
                "node_id,version[,host]; found 'id', 'ver'",
            )
        ],
    ),
    (
        "missing-version-column",
        "node_id,vers\nfoo,1\n",
        [
            (
                1,
                "missing column 'version': expected a header row node_id,version[,host]; "
                "found 'node_id', 'vers'",
            )
        ],
    ),
    ("header-only", "node_id,version\n", [(None, "no entries")]),
    (
        "extra-cells",
        "node_id,version\nfoo,1.0,extra\n",
        [(2, "expected 2 cells as in the header row, found 3")],
    ),
    (
        "missing-id",
        "node_id,version\n,1.0\n",
        [(2, "missing node_id: expected a node id in every row")],
    ),
    ("bad-quoting", 'node_id,version\n"foo"x,1\n', [(2, "invalid CSV: ',' expected after '\"'")]),
    ("unclosed-quote", 'node_id,version\n"foo,1\n', [(2, "invalid CSV: unexpected end of data")]),
    (
        "two-versions",
        "node_id,version\nfoo,1\nFOO,2\n",
        [(3, "FOO listed twice with different versions: '1' (line 2) and '2'")],
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in CSV_ERRORS], ids=[c[0] for c in CSV_ERRORS]
)
def test_csv_errors(write: Write, content: str, expected: Problems) -> None:
    assert problems_of(write("farm.csv", content)) == expected


def test_field_over_the_csv_limit_is_a_problem(write: Write) -> None:
    found = problems_of(write("farm.csv", "node_id,version\n" + "x" * 200_000 + ",1\n"))
    assert found == [(2, "invalid CSV: field larger than field limit (131072)")]

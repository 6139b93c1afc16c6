"""Plain node@version lists."""

from __future__ import annotations

import pytest

from audit.errors import ManifestError
from audit.manifest import read_manifest
from audit.model import EntrySource
from tests.manifest.helpers import Problems, Row, Write, problems_of, rows

TEXT_CASES: list[tuple[str, str, list[Row]]] = [
    ("basic", "comfyui-foo@1.0.0\nbar@2.1\n", [("comfyui-foo", "1.0.0", 1), ("bar", "2.1", 2)]),
    (
        "comments-and-blanks",
        "# hosts of the render farm\n\nfoo@1.0  # pinned\n   \n  bar@2 \n",
        [("foo", "1.0", 3), ("bar", "2", 5)],
    ),
    ("no-version", "foo\nbar@\nbaz @ \n", [("foo", None, 1), ("bar", None, 2), ("baz", None, 3)]),
    ("first-at-splits", "foo@1.0@x\n", [("foo", "1.0@x", 1)]),
    ("spaces-around-at", "foo @ 1.0\n", [("foo", "1.0", 1)]),
    ("hash-without-space-is-kept", "foo@1.0#abc\n", [("foo", "1.0#abc", 1)]),
    ("tab-before-comment", "foo@1.0\t# tab\n", [("foo", "1.0", 1)]),
    ("crlf", "foo@1\r\nbar@2\r\n", [("foo", "1", 1), ("bar", "2", 2)]),
    ("lone-cr", "foo@1\rbar@2", [("foo", "1", 1), ("bar", "2", 2)]),
    ("no-final-newline", "foo@1", [("foo", "1", 1)]),
    (
        "odd-ids-kept-for-the-checks",
        "../etc@1\nmy pack@1.0\nowner/repo@main\nfoo@../../x\n",
        [
            ("../etc", "1", 1),
            ("my pack", "1.0", 2),
            ("owner/repo", "main", 3),
            ("foo", "../../x", 4),
        ],
    ),
    ("repeat-merged-case-insensitively", "Foo@1.0\nfoo@1.0\n", [("Foo", "1.0", 1)]),
    ("unicode", "pâté@1.0\n", [("pâté", "1.0", 1)]),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in TEXT_CASES], ids=[c[0] for c in TEXT_CASES]
)
def test_text_entries(write: Write, content: str, expected: list[Row]) -> None:
    path = write("farm-01.txt", content)
    manifest = read_manifest(path)
    assert rows(manifest) == expected
    assert manifest.format == "text"
    assert (manifest.path, manifest.host, manifest.comfyui, manifest.pips) == (
        str(path),
        "farm-01",
        None,
        None,
    )
    assert {(e.source, e.host, e.manifest, e.disabled) for e in manifest.entries} == {
        (EntrySource.REGISTRY, "farm-01", str(path), False)
    }


TEXT_ERRORS: list[tuple[str, str, Problems]] = [
    ("empty", "", [(None, "no entries")]),
    ("blank", "\n  \n\t\n", [(None, "no entries")]),
    ("only-comments", "# nothing yet\n\n# still nothing\n", [(None, "no entries")]),
    ("missing-id", "foo@1\n@1.0\n", [(2, "missing node id in '@1.0': expected node_id@version")]),
    (
        "two-versions",
        "a@1\nb@1\ncomfyui-foo@1.0.0\nx@1\n\n\ncomfyui-foo@1.1.0\n",
        [(7, "comfyui-foo listed twice with different versions: '1.0.0' (line 3) and '1.1.0'")],
    ),
    (
        "version-and-none",
        "foo@1.0\nFOO\n",
        [(2, "FOO listed twice with different versions: '1.0' (line 1) and None")],
    ),
    (
        "every-problem-reported",
        "@1\nfoo@1\n@2\nfoo@2\n",
        [
            (1, "missing node id in '@1': expected node_id@version"),
            (3, "missing node id in '@2': expected node_id@version"),
            (4, "foo listed twice with different versions: '1' (line 2) and '2'"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in TEXT_ERRORS], ids=[c[0] for c in TEXT_ERRORS]
)
def test_text_errors(write: Write, content: str, expected: Problems) -> None:
    assert problems_of(write("farm.txt", content)) == expected


def test_error_text_names_file_and_line(write: Write) -> None:
    path = write("x.txt", "a@1\nb@1\ncomfyui-foo@1.0.0\n\n\n\ncomfyui-foo@1.1.0\n")
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    assert str(caught.value) == (
        f"{path}:7: comfyui-foo listed twice with different versions: '1.0.0' (line 3) and '1.1.0'"
    )


def test_long_values_are_cut_in_messages(write: Write) -> None:
    [(line, message)] = problems_of(write("x.txt", "@" + "v" * 500 + "\n"))
    assert line == 1
    assert len(message) < 150
    assert message.endswith("...': expected node_id@version")


def test_problems_are_capped(write: Write) -> None:
    found = problems_of(write("x.txt", "@1\n" * 60))
    assert len(found) == 51
    assert found[-1] == (None, "and 10 more problems")

"""JSON lists and {node_id: version} mappings."""

from __future__ import annotations

import pytest

from audit.manifest import read_manifest
from tests.manifest.helpers import Problems, Write, problems_of

HostRow = tuple[str, str | None, int | None, str]

NOT_RECOGNISED = (
    'not a recognised manifest: expected a list of {"node_id": ..., "version": ...} objects, '
    "a {node_id: version} object, or a ComfyUI-Manager snapshot"
)

JSON_CASES: list[tuple[str, str, list[HostRow]]] = [
    (
        "list",
        '[\n  {"node_id": "foo", "version": "1.0"},\n'
        '  {"node_id": "bar", "version": null, "host": "gpu-2"}\n]\n',
        [("foo", "1.0", 2, "farm"), ("bar", None, 3, "gpu-2")],
    ),
    (
        "list-item-over-lines",
        '[\n  {\n    "note": "x",\n    "node_id": "foo",\n    "version": "1.0"\n  }\n]',
        [("foo", "1.0", 3, "farm")],
    ),
    ("list-without-version", '[{"node_id": "foo"}]', [("foo", None, 1, "farm")]),
    (
        "mapping",
        '{\n  "foo": "1.0",\n  "bar": null\n}\n',
        [("foo", "1.0", 2, "farm"), ("bar", None, 3, "farm")],
    ),
    (
        "key-text-inside-a-value",
        '{\n  "a": "\\"b\\": 1",\n  "b": "2"\n}',
        [("a", '"b": 1', 2, "farm"), ("b", "2", 3, "farm")],
    ),
    ("odd-id-kept", '{"../x": "1"}', [("../x", "1", 1, "farm")]),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in JSON_CASES], ids=[c[0] for c in JSON_CASES]
)
def test_json_entries(write: Write, content: str, expected: list[HostRow]) -> None:
    manifest = read_manifest(write("farm.json", content))
    assert [(e.node_id, e.version, e.line, e.host) for e in manifest.entries] == expected
    assert (manifest.format, manifest.comfyui, manifest.pips) == ("json", None, None)


JSON_ERRORS: list[tuple[str, str, Problems]] = [
    (
        "syntax",
        '[{"node_id": "foo",}]',
        [(1, "invalid JSON: Expecting property name enclosed in double quotes")],
    ),
    ("truncated", '{"a": "1",\n "b": \n', [(3, "invalid JSON: Expecting value")]),
    ("empty-list", "[]", [(None, "no entries")]),
    ("empty-object", "{}", [(None, "no entries")]),
    (
        "number-version",
        '{"foo": 1.0}',
        [(1, "version of 'foo' must be a string, quote it: got 1.0")],
    ),
    (
        "number-id",
        '[{"node_id": 5, "version": "1"}]',
        [(1, "node_id of item 1 must be a string, quote it: got 5")],
    ),
    ("empty-id", '[{"node_id": " ", "version": "1"}]', [(1, "node_id of item 1 is empty")]),
    (
        "item-not-object",
        '[{"node_id": "a"},\n "b"]',
        [(1, "item 2: expected an object with node_id and version")],
    ),
    (
        "host-not-string",
        '[{"node_id": "a", "host": ["x"]}]',
        [(1, "host of 'a' must be a string, got a list")],
    ),
    (
        "object-of-objects",
        '{"batch_id": "x",\n "state_before": {"installed_nodes": {}}}',
        [(1, NOT_RECOGNISED)],
    ),
    ("list-without-node-ids", '[{"repo": "https://x/a", "commit": "abc"}]', [(1, NOT_RECOGNISED)]),
    ("list-of-strings", '["foo@1.0"]', [(1, NOT_RECOGNISED)]),
    (
        "duplicate-keys",
        '{\n"foo": "1",\n"foo": "2"\n}',
        [(3, "foo listed twice with different versions: '1' (line 2) and '2'")],
    ),
    ("lone-surrogate", '{"foo\\ud800": "1"}', [(1, "node id is not valid unicode: 'foo\\ud800'")]),
    (
        "huge-integer",
        '{"foo": ' + "9" * 5000 + "}",
        [(None, "invalid JSON: a number has too many digits")],
    ),
    ("nested-150", "[" * 150 + "]" * 150, [(1, "JSON nesting too deep: more than 100 levels")]),
    (
        "nested-100000",
        "[" * 100_000 + "]" * 100_000,
        [(None, "JSON nesting too deep: more than 100 levels")],
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in JSON_ERRORS], ids=[c[0] for c in JSON_ERRORS]
)
def test_json_errors(write: Write, content: str, expected: Problems) -> None:
    assert problems_of(write("farm.json", content)) == expected


def test_all_bad_items_reported(write: Write) -> None:
    content = (
        '[\n{"node_id": 1},\n{"node_id": "ok", "version": "1"},\n{"node_id": "b", "version": 2}\n]'
    )
    assert problems_of(write("farm.json", content)) == [
        (2, "node_id of item 1 must be a string, quote it: got 1"),
        (4, "version of 'b' must be a string, quote it: got 2"),
    ]

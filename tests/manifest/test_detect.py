"""Format detection from content, and forcing a format."""

from __future__ import annotations

import pytest

from audit.manifest import ManifestFormat, detect_format, read_manifest
from tests.manifest.helpers import Write, problems_of

TEXT, CSV, JSON, SNAPSHOT = (
    ManifestFormat.TEXT,
    ManifestFormat.CSV,
    ManifestFormat.JSON,
    ManifestFormat.SNAPSHOT,
)

DETECTION: list[tuple[str, str, ManifestFormat]] = [
    ("text", "foo@1.0\n", TEXT),
    ("text-after-comment", "# farm\n\nfoo@1.0\n", TEXT),
    ("text-without-version", "foo\n", TEXT),
    ("text-comment-with-colon-and-comma", "foo@1.0  # note: old, pinned\n", TEXT),
    ("text-url-line", "https://github.com/a/b\n", TEXT),
    ("empty", "", TEXT),
    ("csv", "node_id,version\nfoo,1\n", CSV),
    ("csv-after-blank-and-comment", "\n# c\nnode_id,version,host\n", CSV),
    ("csv-quoted-header", '"node_id","version"\n', CSV),
    ("csv-wrong-header", "id,ver\n", CSV),
    ("json-list", '[{"node_id": "a", "version": "1"}]', JSON),
    ("json-mapping", '{"a": "1"}', JSON),
    ("json-invalid", "{invalid", JSON),
    ("json-batch-history", '{"batch_id": "x", "state_before": {"installed_nodes": {}}}', JSON),
    ("json-launcher", '{"version": "1.0", "snapshot_json": {"comfyui": null}}', JSON),
    ("json-snapshot-comfyui", '{"comfyui": null}', SNAPSHOT),
    ("json-snapshot-pips", '\n  {"pips": {}}', SNAPSHOT),
    ("json-snapshot-disabled-only", '{"disabled_cnr_custom_nodes": {}}', SNAPSHOT),
    ("json-snapshot-wrapped", '{"custom_nodes": {"comfyui": "x"}}', SNAPSHOT),
    ("json-snapshot-bom", '\ufeff{"git_custom_nodes": {}}', SNAPSHOT),
    ("yaml-wrapped", "custom_nodes:\n  comfyui: x\n", SNAPSHOT),
    ("yaml-comfy-lock", "# lock\nbasic:\n  comfyui_version: v1\n", SNAPSHOT),
    ("yaml-top-level", "cnr_custom_nodes:\n  foo: '1.0'\n", SNAPSHOT),
    ("yaml-other-mapping", "name: comfy\n", SNAPSHOT),
    ("yaml-document-marker", "---\ncustom_nodes: {}\n", SNAPSHOT),
    ("yaml-list", "- foo\n", SNAPSHOT),
    ("yaml-quoted-key", '"https://github.com/a/b":\n  hash: x\n', SNAPSHOT),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in DETECTION], ids=[c[0] for c in DETECTION]
)
def test_detect_format(text: str, expected: ManifestFormat) -> None:
    assert detect_format(text) is expected


FORCED: list[tuple[str, str, ManifestFormat, str, list[tuple[str, str | None]]]] = [
    ("text-with-comma", "foo,bar@1\n", TEXT, "text", [("foo,bar", "1")]),
    ("text-with-colon", "foo: bar\n", TEXT, "text", [("foo: bar", None)]),
    ("csv", "node_id,version\nfoo,1\n", CSV, "csv", [("foo", "1")]),
    ("json-mapping", '{"a": "1"}', JSON, "json", [("a", "1")]),
    ("snapshot-json", '{"cnr_custom_nodes": {"a": "1"}}', SNAPSHOT, "snapshot-json", [("a", "1")]),
    ("snapshot-yaml", "cnr_custom_nodes: {a: '1'}\n", SNAPSHOT, "snapshot-yaml", [("a", "1")]),
]


@pytest.mark.parametrize(
    ("content", "format", "label", "expected"), [c[1:] for c in FORCED], ids=[c[0] for c in FORCED]
)
def test_forced_format(
    write: Write,
    content: str,
    format: ManifestFormat,
    label: str,
    expected: list[tuple[str, str | None]],
) -> None:
    manifest = read_manifest(write("m.txt", content), format=format)
    assert [(e.node_id, e.version) for e in manifest.entries] == expected
    assert manifest.format == label


def test_forced_json_refuses_a_snapshot(write: Write) -> None:
    path = write("m.json", '{"cnr_custom_nodes": {"a": "1"}}')
    [(line, message)] = problems_of(path, ManifestFormat.JSON)
    assert (line, message.split(":")[0]) == (1, "not a recognised manifest")


def test_forced_snapshot_refuses_a_list(write: Write) -> None:
    [(line, message)] = problems_of(write("m.txt", "foo@1.0\n"), ManifestFormat.SNAPSHOT)
    assert (line, message.split(":")[0]) == (1, "not a recognised manifest")


def test_forced_csv_reports_the_header(write: Write) -> None:
    [(line, message)] = problems_of(write("m.txt", "foo@1.0\n"), ManifestFormat.CSV)
    assert (line, message) == (
        1,
        "missing columns 'node_id', 'version': expected a header row node_id,version[,host]; "
        "found 'foo@1.0'",
    )


def test_the_file_name_does_not_matter(write: Write) -> None:
    manifest = read_manifest(write("looks-like.csv", '{"comfyui": "v0.3.30"}'))
    assert (manifest.format, manifest.comfyui) == ("snapshot-json", "v0.3.30")

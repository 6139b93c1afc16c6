"""Tests of the snapshot key ``import_failures`` and of ``registry_pack`` for git entries."""

from __future__ import annotations

import json

import pytest

from audit.manifest import read_manifest
from audit.manifest.render import to_snapshot
from audit.model import ImportFailure
from tests.manifest.helpers import Problems, Write, problems_of

CNR = '"cnr_custom_nodes": {"comfyui-broken": "1.0.0"}'
SHAPE = "{reason, timestamp}"
WITH = "a mapping with reason and timestamp"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("", None),
        (', "import_failures": null', None),
        (', "import_failures": {}', {}),
        (
            ', "import_failures": {"comfyui-broken": {"reason": "No module named \'cv2\'",'
            ' "timestamp": "2026-11-30 08:00:05.301"}}',
            {"comfyui-broken": ImportFailure("No module named 'cv2'", "2026-11-30 08:00:05.301")},
        ),
        (
            ', "import_failures": {"comfyui-broken": {"reason": "x", "timestamp": null}}',
            {"comfyui-broken": ImportFailure("x", None)},
        ),
    ],
    ids=["absent", "null", "none-failed", "one", "no-timestamp"],
)
def test_import_failures_are_read(
    write: Write, key: str, expected: dict[str, ImportFailure] | None
) -> None:
    manifest = read_manifest(write("s.json", "{" + CNR + key + "}"))
    assert manifest.import_failures == expected
    again = read_manifest(write("again.json", json.dumps(to_snapshot(manifest))))
    assert again.import_failures == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            '"import_failures": []',
            [
                (
                    1,
                    f"import_failures must be a mapping of node id to {SHAPE}, got a list",
                )
            ],
        ),
        (
            '"import_failures": {"comfyui-broken": "cv2"}',
            [
                (
                    1,
                    f"import failure of 'comfyui-broken' must be {WITH}, got 'cv2'",
                )
            ],
        ),
        (
            '"import_failures": {"comfyui-broken": {"timestamp": "2026"}}',
            [(1, "missing reason of 'comfyui-broken'")],
        ),
    ],
    ids=["a-list", "a-string", "no-reason"],
)
def test_malformed_import_failures_are_problems(write: Write, key: str, expected: Problems) -> None:
    assert problems_of(write("s.json", "{" + CNR + ", " + key + "}")) == expected


def test_a_git_entry_with_cnr_id_is_a_registry_pack_both_ways(write: Write) -> None:
    content = {
        "git_custom_nodes": {
            "https://github.com/a/ComfyUI-Foo.git": {"hash": "h1", "cnr_id": "comfyui-foo"},
            "https://github.com/a/comfyui-bar.git": {"hash": "h2", "cnr_id": "comfyui-bar"},
            "https://github.com/a/plain.git": {"hash": "h3"},
        }
    }
    manifest = read_manifest(write("s.json", json.dumps(content)))
    flags = [(e.node_id, e.registry_pack) for e in manifest.entries]
    assert flags == [("comfyui-foo", True), ("comfyui-bar", True), ("plain", False)]
    again = read_manifest(write("again.json", json.dumps(to_snapshot(manifest))))
    assert [(e.node_id, e.registry_pack) for e in again.entries] == flags

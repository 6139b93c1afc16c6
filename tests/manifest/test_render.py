"""Writing a scan out as text, JSON and a snapshot, and reading each back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from audit.manifest import read_manifest, render_json, render_text, scan_install, to_snapshot
from audit.model import EntrySource, Manifest, ManifestEntry
from tests.manifest.helpers import Write, problems_of
from tests.manifest.test_install import (
    COMFYUI_SHA,
    HAND_SHA,
    IMPACT,
    INVALID_TOML,
    Row,
    build,
    every_kind,
    hand_git,
    pyproject,
    rows,
)

REGISTRY, LOCAL = EntrySource.REGISTRY, EntrySource.LOCAL
HAND_URL = "https://github.com/o/ComfyUI-Hand.git"
INSTALLED: dict[str, str | None] = {"numpy": "1.26.4", "sam2": None, "Pillow": "10.4.0"}


def small_install(root: Path) -> Path:
    build(
        root,
        {
            ".git": hand_git(COMFYUI_SHA, None),
            "custom_nodes": {
                "comfyui-impact-pack": {"pyproject.toml": IMPACT, ".tracking": ""},
                "ComfyUI-Hand": {".git": hand_git(HAND_SHA, HAND_URL, "comfyui-hand")},
                "local-pack": {"pyproject.toml": pyproject("Local-Pack", "0.2.0")},
                "broken-toml": {"pyproject.toml": INVALID_TOML, ".tracking": ""},
                "websocket_image_save.py": "",
                "copied": {"nodes.py": ""},
                ".disabled": {
                    "comfyui-logic@1_0_0": {
                        "pyproject.toml": pyproject("comfyui-logic", "1.0.0"),
                        ".tracking": "",
                    }
                },
            },
        },
    )
    return root


TOML_PROBLEM = "pyproject.toml is not valid TOML: Invalid value (at line 4, column 13)"
SMALL_TEXT = f"""\
comfyui-hand@{HAND_SHA}  # git {HAND_URL}
broken-toml  # registry, problem: {TOML_PROBLEM}
comfyui-impact-pack@8.22.2
copied  # file
local-pack@0.2.0  # local
websocket_image_save  # file
comfyui-logic@1.0.0  # registry, disabled
"""


def _item(
    node_id: str,
    version: str | None,
    source: str,
    *,
    disabled: bool = False,
    url: str | None = None,
    problem: str | None = None,
) -> dict[str, object]:
    hash = version if source == "git" else None
    return {
        "node_id": node_id,
        "version": version,
        "source": source,
        "disabled": disabled,
        "url": url,
        "hash": hash,
        "problem": problem,
    }


SMALL_JSON = [
    _item("comfyui-hand", HAND_SHA, "git", url=HAND_URL),
    _item("broken-toml", None, "registry", problem=TOML_PROBLEM),
    _item("comfyui-impact-pack", "8.22.2", "registry"),
    _item("copied", None, "file"),
    _item("local-pack", "0.2.0", "local"),
    _item("websocket_image_save", None, "file"),
    _item("comfyui-logic", "1.0.0", "registry", disabled=True),
]
NOTHING_DECLARED = dict.fromkeys(
    (
        "supported_comfyui_version",
        "supported_comfyui_frontend_version",
        "supported_os",
        "supported_accelerators",
        "dependencies",
    )
)
SMALL_SNAPSHOT = {
    "comfyui": COMFYUI_SHA,
    "git_custom_nodes": {HAND_URL: {"hash": HAND_SHA, "disabled": False, "cnr_id": "comfyui-hand"}},
    "cnr_custom_nodes": {"comfyui-impact-pack": "8.22.2", "local-pack": "0.2.0"},
    "disabled_cnr_custom_nodes": {"comfyui-logic": "1.0.0"},
    "file_custom_nodes": [{"filename": "websocket_image_save.py", "disabled": False}],
    "pips": {"numpy==1.26.4": "", "Pillow==10.4.0": "", "sam2": ""},
    "unlisted_custom_nodes": {
        "broken-toml": {
            "source": "registry",
            "version": None,
            "disabled": False,
            "problem": TOML_PROBLEM,
        },
        "copied": {"source": "file", "version": None, "disabled": False, "problem": None},
    },
    "pack_requirements": {},
    "pack_declared": {
        "comfyui-impact-pack": {
            "supported_comfyui_version": ">=0.3.40",
            "supported_comfyui_frontend_version": ">=1.20.0",
            "supported_os": ["OS Independent"],
            "supported_accelerators": ["GPU :: NVIDIA CUDA"],
            "dependencies": ["segment-anything", "scipy>=1.11.4"],
        },
        **dict.fromkeys(("local-pack", "comfyui-logic"), NOTHING_DECLARED),
    },
}


def test_render_text(tmp_path: Path) -> None:
    manifest = scan_install(small_install(tmp_path / "ComfyUI"), host="h")
    text = render_text(manifest)
    assert text == SMALL_TEXT
    (tmp_path / "list.txt").write_text(text)
    back = read_manifest(tmp_path / "list.txt")
    assert [(e.node_id, e.version) for e in back.entries] == [
        (e.node_id, e.version) for e in manifest.entries
    ]


def test_render_json(tmp_path: Path) -> None:
    manifest = scan_install(small_install(tmp_path / "ComfyUI"), host="h")
    text = render_json(manifest)
    assert json.loads(text) == SMALL_JSON
    assert text.startswith('[\n  {\n    "node_id": "comfyui-hand",\n    "version": "4f1a')
    assert text.endswith("}\n]\n")
    # NOTE: the JSON reader takes node_id and version and ignores the other keys.
    (tmp_path / "list.json").write_text(text)
    back = read_manifest(tmp_path / "list.json")
    assert [(e.node_id, e.version) for e in back.entries] == [
        (e.node_id, e.version) for e in manifest.entries
    ]


def test_to_snapshot(tmp_path: Path) -> None:
    manifest = scan_install(small_install(tmp_path / "ComfyUI"), host="h")
    assert to_snapshot(manifest, INSTALLED) == SMALL_SNAPSHOT
    assert to_snapshot(manifest)["pips"] is None


def test_render_escapes_line_breaks_in_names() -> None:
    entry = ManifestEntry("h", "a\nb", None, EntrySource.FILE, "x", problem="bad\rthing")
    text = render_text(Manifest("x", "h", "install", (entry,)))
    assert text == "a\\nb  # file, problem: bad\\rthing\n"


def test_render_empty() -> None:
    empty = Manifest("x", "h", "install", ())
    assert (render_text(empty), render_json(empty)) == ("", "[]\n")
    assert to_snapshot(empty) == {
        "comfyui": None,
        "git_custom_nodes": {},
        "cnr_custom_nodes": {},
        "disabled_cnr_custom_nodes": {},
        "file_custom_nodes": [],
        "pips": None,
        "unlisted_custom_nodes": {},
        "pack_requirements": {},
        "pack_declared": {},
    }


def _as_listed(row: Row) -> Row:
    """What a snapshot keeps of a scanned entry: local packs with a version become registry."""
    node_id, version, source, disabled, url, hash, problem = row
    if source is LOCAL and version is not None and problem is None:
        source = REGISTRY
    return (node_id, version, source, disabled, url, hash, problem)


def _key(row: Row) -> tuple[str, ...]:
    return tuple(str(part) for part in row)


@pytest.mark.parametrize("syntax", ["json", "yaml"])
def test_snapshot_round_trip(tmp_path: Path, syntax: str) -> None:
    root = tmp_path / "ComfyUI"
    every_kind(root)
    scanned = scan_install(root, host="h")
    snapshot = to_snapshot(scanned, INSTALLED)
    path = tmp_path / f"snap.{syntax}"
    if syntax == "json":
        path.write_text(json.dumps(snapshot, indent=2))
    else:
        path.write_text(yaml.safe_dump({"custom_nodes": snapshot}))
    back = read_manifest(path, host="h")
    expected = sorted((_as_listed(r) for r in rows(scanned)), key=_key)
    assert sorted(rows(back), key=_key) == expected
    assert (back.comfyui, back.pips) == (COMFYUI_SHA, INSTALLED)
    assert any(e.source is LOCAL for e in scanned.entries)


def test_snapshot_reader_takes_cnr_id_and_unlisted(write: Write) -> None:
    path = write(
        "snap.json",
        json.dumps(
            {
                "git_custom_nodes": {
                    "https://t@github.com/o/Repo.git": {"hash": "abc", "cnr_id": " comfyui-repo "},
                    "https://github.com/o/Other": {"hash": "def", "cnr_id": None},
                },
                "unlisted_custom_nodes": {
                    "bare": {"source": "git", "version": "123", "url": "https://u:p@x.org/a/b"},
                    "copied": {"source": "file", "disabled": True},
                    "broken": {
                        "source": "local",
                        "problem": "pyproject.toml has no [project] table",
                    },
                },
            }
        ),
    )
    git, file = EntrySource.GIT, EntrySource.FILE
    assert rows(read_manifest(path)) == [
        ("comfyui-repo", "abc", git, False, "https://github.com/o/Repo.git", "abc", None),
        ("Other", "def", git, False, "https://github.com/o/Other", "def", None),
        ("bare", "123", git, False, "https://x.org/a/b", "123", None),
        ("copied", None, file, True, None, None, None),
        ("broken", None, LOCAL, False, None, None, "pyproject.toml has no [project] table"),
    ]


def test_snapshot_reader_reports_bad_extensions(write: Write) -> None:
    path = write(
        "snap.json",
        """{
  "git_custom_nodes": {"https://github.com/o/R": {"hash": "abc", "cnr_id": 5}},
  "unlisted_custom_nodes": {
    "a": "file",
    "b": {"source": "pypi"},
    "c": {"disabled": false},
    "d": {"source": "file", "problem": 1}
  }
}
""",
    )
    assert problems_of(path) == [
        (2, "cnr_id of 'https://github.com/o/R' must be a string, quote it: got 5"),
        (4, "unlisted entry 'a' must be a mapping with source, version, disabled and problem, "
            "got 'file'"),
        (5, "source of 'b' must be one of registry, git, file, local, got 'pypi'"),
        (6, "missing source of 'c'"),
        (7, "problem of 'd' must be a string, quote it: got 1"),
    ]  # fmt: skip

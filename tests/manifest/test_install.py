"""Scanning a ComfyUI install in place: every kind of pack, broken ones, odd names, no execution."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import InputError
from audit.manifest import install, scan_install
from audit.model import EntrySource, Manifest, NodeVersion
from tests.hostile import NOBODY, needs_root

REGISTRY, GIT, FILE, LOCAL = (
    EntrySource.REGISTRY,
    EntrySource.GIT,
    EntrySource.FILE,
    EntrySource.LOCAL,
)
#: (node_id, version, source, disabled, url, hash, problem) of one entry.
Row = tuple[str, str | None, EntrySource, bool, str | None, str | None, str | None]
Files = Mapping[str, "str | bytes | Files"]

HAND_SHA = "4f1a857ff1a73ad2b4cbaf1f487e6aeaf802d226"
COMFYUI_SHA = "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d"
EXECUTES = (
    'import pathlib\npathlib.Path(__file__).with_name("EXECUTED").touch()\nraise SystemExit(3)\n'
)

IMPACT = """\
[project]
name = "ComfyUI-Impact-Pack"
description = "Detector and detailer nodes."
version = " 8.22.2 "
license = { file = "LICENSE.txt" }
dependencies = ["segment-anything", "comfyui-frontend-package>=1.20.0", "scipy>=1.11.4"]
classifiers = [
    "Operating System :: OS Independent",
    "Operating System :: Unix",
    "Environment :: GPU :: NVIDIA CUDA",
    "Environment :: Console",
]

[project.urls]
Repository = "https://github.com/ltdrdata/ComfyUI-Impact-Pack"

[tool.comfy]
PublisherId = "drltdata"
DisplayName = "ComfyUI Impact Pack"
requires-comfyui = ">=0.3.40"
"""
# NOTE: the shape of a real stash-pop conflict left in a pack's pyproject.
MERGE_MARKERS = """\
[project]
name = "comfyui_controlnet_aux"
<<<<<<< Updated upstream
version = "1.0.4-alpha.7"
=======
version = "1.0.4-alpha.4"
>>>>>>> Stashed changes

[tool.comfy]
PublisherId = "fannovel16"
"""
INVALID_TOML = """\
[project]
name = "rgthree-comfy"
version = "1.0.0"
dynamic = [ dependencies ]
"""
NO_VERSION = '[project]\nname = "comfyui-noversion"\ndescription = "no version at all"\n'


def pyproject(name: str, version: str | None = None, extra: str = "") -> str:
    """A small pack pyproject; a ``None`` version makes it dynamic."""
    line = f'version = "{version}"' if version is not None else 'dynamic = ["version"]'
    return f'[project]\nname = "{name}"\n{line}\n{extra}'


def build(root: Path, files: Files) -> None:
    """Create ``files`` under ``root``: a mapping is a folder, text or bytes a file."""
    root.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = root / name
        if isinstance(content, Mapping):
            build(path, content)
        else:
            path.write_bytes(content.encode() if isinstance(content, str) else content)


def hand_git(sha: str, url: str | None, cnr_id: str | None = None) -> Files:
    """A ``.git`` folder written by hand: HEAD on main, one loose ref, an origin remote."""
    config = f'[core]\n\tbare = false\n[remote "origin"]\n\turl = {url}\n' if url else "[core]\n"
    files: dict[str, str | Files] = {
        "HEAD": "ref: refs/heads/main\n",
        "config": config,
        "refs": {"heads": {"main": f"{sha}\n"}},
    }
    if cnr_id is not None:
        files[".cnr-id"] = f"{cnr_id}\n"
    return files


GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.org",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.org",
    "GIT_AUTHOR_DATE": "2025-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2025-01-01T00:00:00Z",
}


def git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=folder,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


def git_pack(folder: Path, url: str | None, cnr_id: str | None = None) -> str:
    """Make ``folder`` a clone the way ComfyUI-Manager leaves one; return its commit."""
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "initial")
    if url is not None:
        git(folder, "remote", "add", "origin", url)
    if cnr_id is not None:
        (folder / ".git" / ".cnr-id").write_text(cnr_id)
    return git(folder, "rev-parse", "HEAD")


def rows(manifest: Manifest) -> list[Row]:
    return [
        (e.node_id, e.version, e.source, e.disabled, e.url, e.hash, e.problem)
        for e in manifest.entries
    ]


def every_kind(root: Path) -> dict[str, str]:
    """Build an install with every kind of pack under ``root``; return the real git commits."""
    nodes = root / "custom_nodes"
    build(root, {".git": hand_git(COMFYUI_SHA, "https://github.com/comfyanonymous/ComfyUI")})
    build(
        nodes,
        {
            "comfyui-impact-pack": {
                "pyproject.toml": IMPACT,
                ".tracking": "__init__.py\npyproject.toml\nrequirements.txt",
                "requirements.txt": "# detectors\nsegment-anything\n\nscipy>=1.11.4  # pinned\n",
                "__init__.py": EXECUTES,
            },
            "ComfyUI-KJNodes": {
                "pyproject.toml": pyproject("ComfyUI-KJNodes", "1.1.2"),
                "nodes.py": "x = 1\n",
            },
            "ComfyUI-Hand": {
                ".git": hand_git(HAND_SHA, "https://u:tok@github.com/o/ComfyUI-Hand.git")
            },
            "no-remote": {"nodes.py": "x = 1\n"},
            "local-pack": {"pyproject.toml": pyproject("Local-Pack", "0.2.0")},
            "copied pack ü": {"nodes.py": "x = 1\n", "requirements.txt": "numpy\n"},
            "websocket_image_save.py": EXECUTES,
            "broken-merge": {"pyproject.toml": MERGE_MARKERS, ".tracking": ""},
            "broken-toml": {"pyproject.toml": INVALID_TOML, ".tracking": ""},
            "no-version": {"pyproject.toml": NO_VERSION, ".tracking": ""},
            "dyn-version": {
                "pyproject.toml": pyproject(
                    "comfyui-dyn", extra='[tool.comfy.version]\npath = "dyn/version.py"\n'
                ),
                ".tracking": "",
                "dyn": {"version.py": '__version__ = "2.3.10"\n'},
            },
            "escape": {
                "pyproject.toml": pyproject(
                    "comfyui-escape", extra='[tool.comfy.version]\npath = "../outside.py"\n'
                ),
                ".tracking": "",
            },
            "outside.py": '__version__ = "6.6.6"\n',
            "__pycache__": {"x.pyc": b"\0"},
            "__init__.py": EXECUTES,
            ".hidden": {"pyproject.toml": pyproject("hidden", "1.0.0")},
            ".hidden.py": "",
            "example_node.py.example": "",
            "README.md": "# custom nodes\n",
            "old-style.disabled": {
                "pyproject.toml": pyproject("comfyui-old", "0.1.0"),
                ".tracking": "",
            },
            "legacy.py.disabled": "x = 1\n",
            ".disabled": {
                "comfyui-logic@1_0_0": {
                    "pyproject.toml": pyproject("comfyui-logic", "1.0.0"),
                    ".tracking": "",
                },
                "comfyui-dynfoo@2_1_0": {
                    "pyproject.toml": pyproject("comfyui-dynfoo"),
                    ".tracking": "",
                },
                "comfyui-bar@nightly": {"pyproject.toml": pyproject("comfyui-bar", "0.0.1")},
                "plain folder": {"nodes.py": "x = 1\n"},
                "gone.py": "x = 1\n",
            },
        },
    )
    return {
        "kj": git_pack(
            nodes / "ComfyUI-KJNodes",
            "https://github.com/kijai/ComfyUI-KJNodes.git",
            "comfyui-kjnodes",
        ),
        "no-remote": git_pack(nodes / "no-remote", None),
        "bar": git_pack(nodes / ".disabled" / "comfyui-bar@nightly", "git@github.com:o/Bar.git"),
    }


def every_kind_rows(commits: Mapping[str, str]) -> list[Row]:
    kj, no_remote, bar = commits["kj"], commits["no-remote"], commits["bar"]
    return [
        (
            "ComfyUI-Hand",
            HAND_SHA,
            GIT,
            False,
            "https://github.com/o/ComfyUI-Hand.git",
            HAND_SHA,
            None,
        ),
        (
            "comfyui-kjnodes",
            kj,
            GIT,
            False,
            "https://github.com/kijai/ComfyUI-KJNodes.git",
            kj,
            None,
        ),
        (
            "broken-merge",
            None,
            REGISTRY,
            False,
            None,
            None,
            "pyproject.toml has unresolved merge-conflict markers (at line 3)",
        ),
        (
            "broken-toml",
            None,
            REGISTRY,
            False,
            None,
            None,
            "pyproject.toml is not valid TOML: Invalid value (at line 4, column 13)",
        ),
        ("comfyui-impact-pack", "8.22.2", REGISTRY, False, None, None, None),
        ("copied pack ü", None, FILE, False, None, None, None),
        ("comfyui-dyn", "2.3.10", REGISTRY, False, None, None, None),
        (
            "comfyui-escape",
            None,
            REGISTRY,
            False,
            None,
            None,
            "pyproject.toml [tool.comfy.version].path '../outside.py' is outside the pack folder",
        ),
        ("local-pack", "0.2.0", LOCAL, False, None, None, None),
        ("no-remote", no_remote, GIT, False, None, no_remote, None),
        (
            "comfyui-noversion",
            None,
            REGISTRY,
            False,
            None,
            None,
            "pyproject.toml has no [project].version",
        ),
        ("outside", None, FILE, False, None, None, None),
        ("websocket_image_save", None, FILE, False, None, None, None),
        ("comfyui-bar", bar, GIT, True, "git@github.com:o/Bar.git", bar, None),
        ("comfyui-dynfoo", "2.1.0", REGISTRY, True, None, None, None),
        ("comfyui-logic", "1.0.0", REGISTRY, True, None, None, None),
        ("gone", None, FILE, True, None, None, None),
        ("legacy", None, FILE, True, None, None, None),
        ("comfyui-old", "0.1.0", REGISTRY, True, None, None, None),
        ("plain folder", None, FILE, True, None, None, None),
    ]


def test_every_kind_of_pack(tmp_path: Path) -> None:
    commits = every_kind(tmp_path)
    manifest = scan_install(tmp_path, host="render-01")
    assert rows(manifest) == every_kind_rows(commits)
    assert (manifest.path, manifest.host, manifest.format) == (
        str(tmp_path),
        "render-01",
        "install",
    )
    assert (manifest.comfyui, manifest.pips) == (COMFYUI_SHA, None)
    assert {e.host for e in manifest.entries} == {"render-01"}


def test_pack_code_is_never_executed(tmp_path: Path) -> None:
    every_kind(tmp_path)
    scan_install(tmp_path, host="h")
    assert not list(tmp_path.rglob("EXECUTED"))


def test_entries_point_at_their_folder_or_file(tmp_path: Path) -> None:
    every_kind(tmp_path)
    by_id = {e.node_id: e for e in scan_install(tmp_path, host="h").entries}
    nodes = tmp_path / "custom_nodes"
    assert by_id["comfyui-logic"].manifest == str(nodes / ".disabled" / "comfyui-logic@1_0_0")
    assert by_id["legacy"].manifest == str(nodes / "legacy.py.disabled")
    assert by_id["comfyui-impact-pack"].line is None


def test_declared_metadata_is_what_comfy_cli_would_publish(tmp_path: Path) -> None:
    every_kind(tmp_path)
    by_id = {e.node_id: e for e in scan_install(tmp_path, host="h").entries}
    assert by_id["comfyui-impact-pack"].declared == NodeVersion(
        node_id="comfyui-impact-pack",
        version="8.22.2",
        supported_os=("OS Independent",),
        supported_accelerators=("GPU :: NVIDIA CUDA",),
        supported_comfyui_version=">=0.3.40",
        supported_comfyui_frontend_version=">=1.20.0",
        dependencies=("segment-anything", "scipy>=1.11.4"),
    )
    kj = by_id["comfyui-kjnodes"]
    assert kj.declared == NodeVersion("comfyui-kjnodes", kj.version or "", dependencies=None)
    assert by_id["copied pack ü"].declared is None
    assert by_id["broken-toml"].declared is None
    assert by_id["broken-merge"].declared is None
    assert by_id["comfyui-noversion"].declared == NodeVersion("comfyui-noversion", "")


def test_requirements_are_the_lines_as_written(tmp_path: Path) -> None:
    every_kind(tmp_path)
    by_id = {e.node_id: e for e in scan_install(tmp_path, host="h").entries}
    assert by_id["comfyui-impact-pack"].requirements == (
        "segment-anything",
        "scipy>=1.11.4  # pinned",
    )
    assert by_id["copied pack ü"].requirements == ("numpy",)
    assert by_id["comfyui-kjnodes"].requirements is None
    assert by_id["websocket_image_save"].requirements is None


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"torch\r\n\r\n  # indented comment\r\nnumpy<2 ; python_version<'3.12'\r\n",
            ("torch", "numpy<2 ; python_version<'3.12'"),
        ),
        (b"\xef\xbb\xbfeinops\n", ("einops",)),
        (b"opencv-python\xff\n", ("opencv-python\ufffd",)),
        (b"\n\n# only comments\n", ()),
        (
            b"-r base.txt\n--extra-index-url https://x\n",
            ("-r base.txt", "--extra-index-url https://x"),
        ),
    ],
    ids=["crlf-and-comments", "bom", "not-utf8", "empty", "options"],
)
def test_requirements_lines(tmp_path: Path, content: bytes, expected: tuple[str, ...]) -> None:
    build(tmp_path, {"custom_nodes": {"pack": {"requirements.txt": content}}})
    (entry,) = scan_install(tmp_path, host="h").entries
    assert (entry.requirements, entry.problem) == (expected, None)


GIT_CASES: list[tuple[str, Files, tuple[str, str | None, str | None]]] = [
    (
        "cnr-id-wins",
        {
            ".git": hand_git(HAND_SHA, "https://github.com/o/Repo.git", "comfyui-repo"),
            "pyproject.toml": pyproject("Other", "1.0.0"),
        },
        ("comfyui-repo", HAND_SHA, "https://github.com/o/Repo.git"),
    ),
    (
        "pyproject-name-lowered",
        {
            ".git": hand_git(HAND_SHA, "https://github.com/o/Repo.git"),
            "pyproject.toml": pyproject(" My-Pack ", "1.0.0"),
        },
        ("my-pack", HAND_SHA, "https://github.com/o/Repo.git"),
    ),
    (
        "repository-name",
        {".git": hand_git(HAND_SHA, "https://user:pass@github.com/o/Repo.git/")},
        ("Repo", HAND_SHA, "https://github.com/o/Repo.git/"),
    ),
    (
        "tool-only-pyproject",
        {
            ".git": hand_git(HAND_SHA, "https://github.com/o/Repo"),
            "pyproject.toml": "[tool.ruff]\nline-length = 100\n",
        },
        ("Repo", HAND_SHA, "https://github.com/o/Repo"),
    ),
    ("no-remote-folder-name", {".git": hand_git(HAND_SHA, None)}, ("pack", HAND_SHA, None)),
    ("empty-git-dir", {".git": {}}, ("pack", None, None)),
    ("git-file-nowhere", {".git": "gitdir: ../../nowhere\n"}, ("pack", None, None)),
    ("git-file-nul", {".git": "gitdir: a\0b\n"}, ("pack", None, None)),
    (
        "unborn-branch",
        {
            ".git": {
                "HEAD": "ref: refs/heads/main\n",
                "config": '[remote "origin"]\n\turl = https://github.com/o/R\n',
            }
        },
        ("R", None, "https://github.com/o/R"),
    ),
]


@pytest.mark.parametrize(
    ("files", "expected"), [c[1:] for c in GIT_CASES], ids=[c[0] for c in GIT_CASES]
)
def test_git_packs(
    tmp_path: Path, files: Files, expected: tuple[str, str | None, str | None]
) -> None:
    build(tmp_path, {"custom_nodes": {"pack": files}})
    (entry,) = scan_install(tmp_path, host="h").entries
    assert (entry.node_id, entry.version, entry.url) == expected
    assert (entry.source, entry.hash, entry.problem) == (GIT, expected[1], None)


def test_git_pack_with_a_broken_pyproject_is_a_problem(tmp_path: Path) -> None:
    build(
        tmp_path,
        {
            "custom_nodes": {
                "pack": {
                    ".git": hand_git(HAND_SHA, "https://github.com/o/R"),
                    "pyproject.toml": MERGE_MARKERS,
                }
            }
        },
    )
    (entry,) = scan_install(tmp_path, host="h").entries
    assert (entry.node_id, entry.version, entry.problem) == (
        "R",
        HAND_SHA,
        "pyproject.toml has unresolved merge-conflict markers (at line 3)",
    )


FOLDER_CASES: list[tuple[str, str, Files, Row]] = [
    (
        "registry",
        "comfyui-foo",
        {"pyproject.toml": pyproject("ComfyUI-Foo", "1.0.0"), ".tracking": ""},
        ("comfyui-foo", "1.0.0", REGISTRY, False, None, None, None),
    ),
    (
        "tracking-without-pyproject",
        "foo",
        {".tracking": "a.py"},
        ("foo", None, FILE, False, None, None, None),
    ),
    (
        "odd-version-kept",
        "foo",
        {"pyproject.toml": pyproject("foo", "1.0.4-alpha.7"), ".tracking": ""},
        ("foo", "1.0.4-alpha.7", REGISTRY, False, None, None, None),
    ),
    (
        "dynamic-version-in-init",
        "foo",
        {"pyproject.toml": pyproject("foo"), "__init__.py": 'VERSION = "0.9.1"\n' + EXECUTES},
        ("foo", "0.9.1", LOCAL, False, None, None, None),
    ),
    (
        "dynamic-version-unknown",
        "foo",
        {"pyproject.toml": pyproject("foo"), ".tracking": ""},
        ("foo", None, REGISTRY, False, None, None, None),
    ),
    (
        "absolute-version-path",
        "foo",
        {
            "pyproject.toml": pyproject(
                "foo", extra='[tool.comfy.version]\npath = "/etc/hostname"\n'
            )
        },
        (
            "foo",
            None,
            LOCAL,
            False,
            None,
            None,
            "pyproject.toml [tool.comfy.version].path '/etc/hostname' is an absolute path",
        ),
    ),
    (
        "name-missing",
        "foo",
        {"pyproject.toml": '[project]\nversion = "1.0.0"\n', ".tracking": ""},
        ("foo", None, REGISTRY, False, None, None, "pyproject.toml has no [project].name"),
    ),
    (
        "name-not-a-string",
        "foo",
        {"pyproject.toml": '[project]\nname = ["a"]\nversion = "1.0.0"\n', ".tracking": ""},
        (
            "foo",
            None,
            REGISTRY,
            False,
            None,
            None,
            "pyproject.toml [project].name must be a string, got ['a']",
        ),
    ),
    (
        "version-not-a-string",
        "foo",
        {"pyproject.toml": '[project]\nname = "Bar"\nversion = 1.0\n', ".tracking": ""},
        (
            "bar",
            None,
            REGISTRY,
            False,
            None,
            None,
            "pyproject.toml [project].version must be a string, got 1.0",
        ),
    ),
    (
        "project-missing",
        "foo",
        {"pyproject.toml": "[tool.comfy]\nPublisherId = 'x'\n"},
        ("foo", None, LOCAL, False, None, None, "pyproject.toml has no [project] table"),
    ),
    (
        "pyproject-is-a-folder",
        "foo",
        {"pyproject.toml": {}, ".tracking": ""},
        ("foo", None, REGISTRY, False, None, None, "pyproject.toml is not a regular file"),
    ),
    (
        "pyproject-too-large",
        "foo",
        {"pyproject.toml": "#" * (1024 * 1024 + 1), ".tracking": ""},
        ("foo", None, REGISTRY, False, None, None, "pyproject.toml is larger than 1 MiB: not read"),
    ),
    (
        "requirements-too-large",
        "foo",
        {"pyproject.toml": pyproject("foo", "1.0.0"), "requirements.txt": "x\n" * 600_000},
        (
            "foo",
            "1.0.0",
            LOCAL,
            False,
            None,
            None,
            "requirements.txt is larger than 1 MiB: not read",
        ),
    ),
    (
        "disabled-plain-name",
        ".disabled/ComfyUI-Thing",
        {"pyproject.toml": pyproject("comfyui-thing", "3.0.0"), ".tracking": ""},
        ("comfyui-thing", "3.0.0", REGISTRY, True, None, None, None),
    ),
    (
        "disabled-version-from-folder",
        ".disabled/comfyui-foo@1_0_3",
        {"pyproject.toml": pyproject("comfyui-foo"), ".tracking": ""},
        ("comfyui-foo", "1.0.3", REGISTRY, True, None, None, None),
    ),
    (
        "disabled-pyproject-version-wins",
        ".disabled/comfyui-foo@1_0_3",
        {"pyproject.toml": pyproject("comfyui-foo", "1.0.4"), ".tracking": ""},
        ("comfyui-foo", "1.0.4", REGISTRY, True, None, None, None),
    ),
    (
        "disabled-nightly-is-no-version",
        ".disabled/comfyui-foo@nightly",
        {"pyproject.toml": pyproject("comfyui-foo"), ".tracking": ""},
        ("comfyui-foo", None, REGISTRY, True, None, None, None),
    ),
    (
        "disabled-broken-keeps-folder-id",
        ".disabled/comfyui-foo@1_0_3",
        {"pyproject.toml": INVALID_TOML, ".tracking": ""},
        (
            "comfyui-foo",
            None,
            REGISTRY,
            True,
            None,
            None,
            "pyproject.toml is not valid TOML: Invalid value (at line 4, column 13)",
        ),
    ),
    (
        "disabled-hand-copied",
        ".disabled/my-nodes@2_0",
        {"nodes.py": ""},
        ("my-nodes", None, FILE, True, None, None, None),
    ),
    (
        "space-and-unicode",
        "Nodes für ComfyUI (copy)",
        {"nodes.py": ""},
        ("Nodes für ComfyUI (copy)", None, FILE, False, None, None, None),
    ),
]


@pytest.mark.parametrize(
    ("where", "files", "expected"), [c[1:] for c in FOLDER_CASES], ids=[c[0] for c in FOLDER_CASES]
)
def test_one_folder(tmp_path: Path, where: str, files: Files, expected: Row) -> None:
    build(tmp_path / "custom_nodes" / where, files)
    assert rows(scan_install(tmp_path, host="h")) == [expected]


def test_non_utf8_folder_name(tmp_path: Path) -> None:
    nodes = tmp_path / "custom_nodes"
    nodes.mkdir(parents=True)
    os.mkdir(os.fsencode(nodes) + b"/caf\xe9-nodes")
    (entry,) = scan_install(tmp_path, host="h").entries
    assert entry.node_id == "caf\ufffd-nodes"


def test_symlink_loops_are_skipped_or_problems(tmp_path: Path) -> None:
    nodes = tmp_path / "custom_nodes"
    build(nodes, {"pack": {".tracking": ""}})
    (nodes / "loop").symlink_to("loop")
    (nodes / "loop.py").symlink_to("loop.py")
    (nodes / "pack" / "pyproject.toml").symlink_to("pyproject.toml")
    assert rows(scan_install(tmp_path, host="h")) == [
        (
            "pack",
            None,
            REGISTRY,
            False,
            None,
            None,
            "pyproject.toml cannot be read: too many levels of symbolic links",
        ),
    ]


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    build(tmp_path, {"custom_nodes": {"pack": {".tracking": ""}}})
    os.mkfifo(tmp_path / "custom_nodes" / "pack" / "pyproject.toml")
    (entry,) = scan_install(tmp_path, host="h").entries
    assert entry.problem == "pyproject.toml is not a regular file"


def test_unreadable_folder_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build(tmp_path, {"custom_nodes": {"locked": {}, "fine.py": ""}})
    real = install._list

    def refuse(folder: Path) -> list[str]:
        if folder.name == "locked":
            raise PermissionError(13, "Permission denied", str(folder))
        return real(folder)

    # NOTE: tests run as root here, where chmod cannot take access away.
    monkeypatch.setattr(install, "_list", refuse)
    assert rows(scan_install(tmp_path, host="h")) == [
        ("fine", None, FILE, False, None, None, None),
        ("locked", None, FILE, False, None, None, "cannot read the pack folder: Permission denied"),
    ]


def test_empty_custom_nodes(tmp_path: Path) -> None:
    (tmp_path / "custom_nodes" / ".disabled").mkdir(parents=True)
    manifest = scan_install(str(tmp_path), host="h")
    assert (manifest.entries, manifest.comfyui, manifest.path) == ((), None, str(tmp_path))


@pytest.mark.parametrize("layout", ["missing", "no-custom-nodes", "custom-nodes-is-a-file"])
def test_not_an_install(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "ComfyUI"
    if layout != "missing":
        root.mkdir()
    if layout == "custom-nodes-is-a-file":
        (root / "custom_nodes").write_text("")
    with pytest.raises(InputError) as caught:
        scan_install(root, host="h")
    assert str(caught.value) == f"{root}: not a ComfyUI install: no custom_nodes folder"


TOML_FRAGMENTS = [
    "[project]\n", "[tool.comfy.version]\n", "[project", "name", "version", "dynamic", "path",
    " = ", "=", '"', "'", '"1.0"', '["version"]', '"../x"', '"/x"', '"__init__.py"', "\n", " ",
    "<<<<<<< x\n", "=======\n", "[", "]", "{", "}", ",", "#", "1", "x", "\\u0000", "\\ud800", "é",
]  # fmt: skip


@settings(deadline=None, max_examples=200)
@given(
    pyproject=st.binary(max_size=300)
    | st.lists(st.sampled_from(TOML_FRAGMENTS), max_size=40).map(lambda f: "".join(f).encode()),
    requirements=st.binary(max_size=50),
    tracking=st.booleans(),
)
def test_scan_never_raises_on_random_files(
    pyproject: bytes, requirements: bytes, tracking: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        pack: dict[str, str | bytes | Files] = {
            "pyproject.toml": pyproject,
            "requirements.txt": requirements,
        }
        if tracking:
            pack[".tracking"] = ""
        build(Path(folder), {"custom_nodes": {"pack": pack}})
        (entry,) = scan_install(folder, host="h").entries
    assert entry.source in (REGISTRY, LOCAL)
    assert entry.problem is None or "\n" not in entry.problem
    assert entry.version is None or entry.problem is None


# Symlinks a co-tenant can plant: followed only to what the invoking user or root owns.


def _linked_pack(tmp_path: Path, owner: int | None) -> Path:
    target = tmp_path / "shared" / "ComfyUI-Foo"
    build(
        target, {"pyproject.toml": '[project]\nname = "foo"\nversion = "1.0.0"\n', ".tracking": ""}
    )
    if owner is not None:
        os.chown(target, owner, owner)
    build(tmp_path / "ComfyUI", {"custom_nodes": {}})
    (tmp_path / "ComfyUI" / "custom_nodes" / "ComfyUI-Foo").symlink_to(target)
    return tmp_path / "ComfyUI"


def test_a_symlinked_pack_of_the_user_is_followed(tmp_path: Path) -> None:
    root = _linked_pack(tmp_path, owner=None)
    assert rows(scan_install(root, host="h")) == [
        ("foo", "1.0.0", REGISTRY, False, None, None, None)
    ]


@needs_root
def test_a_symlinked_pack_of_another_user_is_a_problem(tmp_path: Path) -> None:
    root = _linked_pack(tmp_path, owner=NOBODY)
    target = tmp_path / "shared" / "ComfyUI-Foo"
    problem = f"symlinked: {target} is owned by uid {NOBODY}, neither you nor root"
    assert rows(scan_install(root, host="h")) == [
        ("ComfyUI-Foo", None, FILE, False, None, None, problem)
    ]


def test_a_symlinked_pack_writable_by_others_is_a_problem(tmp_path: Path) -> None:
    root = _linked_pack(tmp_path, owner=None)
    target = tmp_path / "shared" / "ComfyUI-Foo"
    target.chmod(0o777)
    (entry,) = scan_install(root, host="h").entries
    assert entry.problem == f"symlinked: {target} is writable by others"


@needs_root
def test_a_custom_nodes_linked_to_another_users_folder_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "theirs").mkdir()
    os.chown(tmp_path / "theirs", NOBODY, NOBODY)
    (tmp_path / "ComfyUI").mkdir()
    (tmp_path / "ComfyUI" / "custom_nodes").symlink_to(tmp_path / "theirs")
    message = f"symlinked, not followed: {tmp_path / 'theirs'} is owned by uid {NOBODY}"
    with pytest.raises(InputError, match=re.escape(message)):
        scan_install(tmp_path / "ComfyUI", host="h")


def test_a_pyproject_linked_outside_the_pack_is_not_read(tmp_path: Path) -> None:
    build(tmp_path, {"custom_nodes": {"pack": {".tracking": ""}}, "secret.toml": "[project]\n"})
    (tmp_path / "custom_nodes" / "pack" / "pyproject.toml").symlink_to(tmp_path / "secret.toml")
    (entry,) = scan_install(tmp_path, host="h").entries
    assert entry.problem == "pyproject.toml links outside pack: not read"


def test_a_requirements_file_linked_to_a_device_is_not_read(tmp_path: Path) -> None:
    build(tmp_path, {"custom_nodes": {"pack": {".tracking": ""}}})
    (tmp_path / "custom_nodes" / "pack" / "requirements.txt").symlink_to("/dev/zero")
    (entry,) = scan_install(tmp_path, host="h").entries
    assert entry.problem == "requirements.txt links outside pack: not read"

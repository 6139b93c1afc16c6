"""Reading a pack's own pyproject.toml: names, versions (static and dynamic), declared fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.manifest.pyproject import Pyproject, read_pyproject
from audit.model import NodeVersion
from tests.manifest.test_install import INVALID_TOML, MERGE_MARKERS, Files, build

#: (name, version, error, problem) as read.
Read = tuple[str | None, str | None, str | None, str | None]


def read(tmp_path: Path, content: str | bytes, **files: str | bytes | Files) -> Pyproject:
    build(tmp_path / "pack", {"pyproject.toml": content, **files})
    return read_pyproject(tmp_path / "pack")


def fields(project: Pyproject) -> Read:
    return (project.name, project.version, project.error, project.problem)


# NOTE: a TOML error in a real pack (an unquoted git URL as a key), as the LTX-Video history has.
UNQUOTED_KEY = """\
[project]
name = "comfyui-ltxvideo"
version = "0.1.0"

[tool.uv.sources]
ltx-video@git+https://github.com/Lightricks/LTX-Video@ltx-video-0.9.1",
"""
DYNAMIC = '[project]\nname = "comfyui-dyn"\ndynamic = ["version", "dependencies"]\n'

CASES: list[tuple[str, str | bytes, dict[str, str | bytes | Files], Read]] = [
    (
        "static",
        '[project]\nname = " Foo-Bar "\nversion = " 1.2.3 "\n',
        {},
        ("Foo-Bar", "1.2.3", None, None),
    ),
    (
        "prerelease-kept",
        '[project]\nname = "x"\nversion = "3.0.0-beta.9"\n',
        {},
        ("x", "3.0.0-beta.9", None, None),
    ),
    ("bom", '\ufeff[project]\nname = "x"\nversion = "1.0"\n', {}, ("x", "1.0", None, None)),
    (
        "merge-markers",
        MERGE_MARKERS,
        {},
        (None, None, "pyproject.toml has unresolved merge-conflict markers (at line 3)", None),
    ),
    (
        "invalid-value",
        INVALID_TOML,
        {},
        (
            None,
            None,
            "pyproject.toml is not valid TOML: Invalid value (at line 4, column 13)",
            None,
        ),
    ),
    (
        "unquoted-key",
        UNQUOTED_KEY,
        {},
        (
            None,
            None,
            "pyproject.toml is not valid TOML: "
            "Expected '=' after a key in a key/value pair (at line 6, column 10)",
            None,
        ),
    ),
    (
        "not-utf8",
        b'[project]\nname = "caf\xe9"\n',
        {},
        (None, None, "pyproject.toml is not valid UTF-8 (at line 2)", None),
    ),
    ("empty", "", {}, (None, None, None, "pyproject.toml has no [project] table")),
    (
        "nested-too-deeply",
        "[project]\nname = " + "[" * 100_000,
        {},
        (None, None, "pyproject.toml is not valid TOML: nested too deeply", None),
    ),
    (
        "project-not-a-table",
        "project = 1\n",
        {},
        (None, None, None, "pyproject.toml [project] must be a table, got 1"),
    ),
    (
        "name-empty",
        '[project]\nname = "  "\nversion = "1"\n',
        {},
        (None, "1", None, "pyproject.toml [project].name is empty"),
    ),
    (
        "version-empty",
        '[project]\nname = "x"\nversion = " "\n',
        {},
        ("x", None, None, "pyproject.toml [project].version is empty"),
    ),
    (
        "version-a-date",
        "[project]\nname = 'x'\nversion = 2025-01-01\n",
        {},
        (
            "x",
            None,
            None,
            "pyproject.toml [project].version must be a string, got datetime.date(2025, 1, 1)",
        ),
    ),
    (
        "dynamic-init",
        DYNAMIC,
        {"__init__.py": '__version__ = "1.4.10"\n'},
        ("comfyui-dyn", "1.4.10", None, None),
    ),
    (
        "dynamic-annotated-single-quotes",
        DYNAMIC,
        {"__init__.py": "import os\n__version__: str = '2.0.0'  # bumped\n"},
        ("comfyui-dyn", "2.0.0", None, None),
    ),
    (
        "dynamic-VERSION",
        DYNAMIC,
        {"__init__.py": 'VERSION = "0.3"\n__version__ = "9"\n'},
        ("comfyui-dyn", "0.3", None, None),
    ),
    (
        "dynamic-computed",
        DYNAMIC,
        {"__init__.py": "__version__ = get_version()\n"},
        ("comfyui-dyn", None, None, None),
    ),
    ("dynamic-no-file", DYNAMIC, {}, ("comfyui-dyn", None, None, None)),
    (
        "dynamic-path",
        DYNAMIC + '[tool.comfy.version]\npath = "src/pkg/version.py"\n',
        {
            "src": {"pkg": {"version.py": 'VERSION = "5.1.0"\n'}},
            "__init__.py": '__version__ = "0"\n',
        },
        ("comfyui-dyn", "5.1.0", None, None),
    ),
    (
        "dynamic-path-not-a-string",
        DYNAMIC + "[tool.comfy.version]\npath = 3\n",
        {"__init__.py": '__version__ = "1.0.0"\n'},
        ("comfyui-dyn", "1.0.0", None, None),
    ),
    (
        "dynamic-path-missing-file",
        DYNAMIC + '[tool.comfy.version]\npath = "v.py"\n',
        {},
        ("comfyui-dyn", None, None, None),
    ),
    (
        "dynamic-path-escapes",
        DYNAMIC + '[tool.comfy.version]\npath = "sub/../../secret.py"\n',
        {"sub": {}},
        (
            "comfyui-dyn",
            None,
            None,
            "pyproject.toml [tool.comfy.version].path 'sub/../../secret.py' "
            "is outside the pack folder",
        ),
    ),
    (
        "dynamic-path-nul",
        DYNAMIC + '[tool.comfy.version]\npath = "v\\u0000.py"\n',
        {},
        (
            "comfyui-dyn",
            None,
            None,
            "pyproject.toml [tool.comfy.version].path 'v\\x00.py' is not a valid path",
        ),
    ),
    (
        "dynamic-path-windows-absolute",
        DYNAMIC + "[tool.comfy.version]\npath = 'C:\\v.py'\n",
        {},
        (
            "comfyui-dyn",
            None,
            None,
            "pyproject.toml [tool.comfy.version].path 'C:\\\\v.py' is an absolute path",
        ),
    ),
    (
        "static-wins-over-dynamic",
        '[project]\nname = "x"\nversion = "1"\ndynamic = ["version"]\n',
        {},
        ("x", "1", None, None),
    ),
]


@pytest.mark.parametrize(
    ("content", "files", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_read(
    tmp_path: Path, content: str | bytes, files: dict[str, str | bytes | Files], expected: Read
) -> None:
    assert fields(read(tmp_path, content, **files)) == expected


def test_version_path_through_a_symlink_loop(tmp_path: Path) -> None:
    build(tmp_path / "pack", {"pyproject.toml": DYNAMIC + '[tool.comfy.version]\npath = "v.py"\n'})
    (tmp_path / "pack" / "v.py").symlink_to("v.py")
    project = read_pyproject(tmp_path / "pack")
    assert (project.version, project.problem) == (
        None,
        "pyproject.toml [tool.comfy.version].path 'v.py' cannot be resolved",
    )


def test_version_path_through_a_symlink_out_of_the_pack(tmp_path: Path) -> None:
    (tmp_path / "secret.py").write_text('__version__ = "6.6.6"\n')
    build(tmp_path / "pack", {"pyproject.toml": DYNAMIC + '[tool.comfy.version]\npath = "v.py"\n'})
    (tmp_path / "pack" / "v.py").symlink_to(tmp_path / "secret.py")
    project = read_pyproject(tmp_path / "pack")
    assert (project.version, project.problem) == (
        None,
        "pyproject.toml [tool.comfy.version].path 'v.py' is outside the pack folder",
    )


FULL = """\
[project]
name = "ComfyUI-Example"
version = "1.0.0"
dependencies = [
    "torch",
    "comfyui-frontend-package>=1.20.0",
    "comfyui-frontend-package<=1.21.6",
    7,
    "numpy<2",
]
classifiers = [
    "Operating System :: OS Independent",
    "Operating System :: Microsoft :: Windows :: Windows 10",
    "Operating System :: POSIX :: Linux",
    "Operating System :: MacOS",
    "Operating System :: Unix",
    "Environment :: GPU :: NVIDIA CUDA",
    "Environment :: NPU :: Huawei Ascend",
    "Environment :: Console",
    "Environment :: Web Environment",
    "Programming Language :: Python :: 3",
    42,
]

[tool.comfy]
requires-comfyui = ">=0.3.40,<1.0.0"
"""


def test_declared_fields(tmp_path: Path) -> None:
    project = read(tmp_path, FULL)
    assert project.declared("comfyui-example", "1.0.0") == NodeVersion(
        node_id="comfyui-example",
        version="1.0.0",
        supported_os=(
            "OS Independent",
            "Microsoft :: Windows :: Windows 10",
            "POSIX :: Linux",
            "MacOS",
        ),
        supported_accelerators=("GPU :: NVIDIA CUDA", "NPU :: Huawei Ascend"),
        supported_comfyui_version=">=0.3.40,<1.0.0",
        supported_comfyui_frontend_version=">=1.20.0",
        dependencies=("torch", "numpy<2"),
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[project]\nname = "x"\nversion = "1"\n', NodeVersion("x", "")),
        (
            '[project]\nname = "x"\nversion = "1"\nclassifiers = []\ndependencies = []\n',
            NodeVersion("x", "", supported_os=(), supported_accelerators=(), dependencies=()),
        ),
        (
            '[project]\nname = "x"\nversion = "1"\nclassifiers = "OS Independent"\n'
            'dependencies = "torch"\n[tool.comfy]\nrequires-comfyui = 0.3\n',
            NodeVersion("x", ""),
        ),
        (
            '[project]\nname = "x"\nversion = "1"\ndynamic = ["dependencies"]\n'
            'dependencies = ["comfyui-frontend-package==1.2.3"]\n',
            NodeVersion("x", "", supported_comfyui_frontend_version="==1.2.3"),
        ),
        ("tool = 1\n[project]\nname = 'x'\nversion = '1'\n", NodeVersion("x", "")),
        (
            "[tool.comfy]\nrequires-comfyui = '>=0.3'\n",
            NodeVersion("x", "", supported_comfyui_version=">=0.3"),
        ),
    ],
    ids=[
        "nothing-declared",
        "empty-lists",
        "wrong-types-ignored",
        "dynamic-dependencies",
        "tool-not-a-table",
        "no-project",
    ],
)
def test_declared_tolerates_missing_and_mistyped(
    tmp_path: Path, content: str, expected: NodeVersion
) -> None:
    assert read(tmp_path, content).declared("x", None) == expected


def test_unparseable_declares_nothing(tmp_path: Path) -> None:
    assert read(tmp_path, MERGE_MARKERS).declared("x", "1") is None

"""Markers are judged from what the audited environment knows, and unknown facts stay unknown."""

from __future__ import annotations

import pytest
from packaging.markers import Marker

from audit.dependencies.markers import applies, marker_facts
from audit.model import Environment

LINUX_311 = Environment(os="linux", python_version="3.11.9")
WINDOWS_312 = Environment(os="windows", python_version="3.12.1")
MACOS = Environment(os="macos")
NOTHING = Environment()
SHORT_PYTHON = Environment(os="linux", python_version="3.11")


@pytest.mark.parametrize(
    ("marker", "env", "expected"),
    [
        ("python_version <= '3.11'", LINUX_311, True),
        ("python_version <= '3.11'", WINDOWS_312, False),
        ("python_version <= '3.11'", MACOS, None),
        ("python_version >= '3.12'", SHORT_PYTHON, False),
        ('python_full_version >= "3.11.2"', LINUX_311, True),
        ('python_full_version >= "3.11.2"', SHORT_PYTHON, None),
        ('platform_system == "Windows"', LINUX_311, False),
        ('platform_system == "Windows"', WINDOWS_312, True),
        ('platform_system == "Windows"', NOTHING, None),
        ('platform_system != "Windows"', LINUX_311, True),
        ("platform_system=='Darwin'", MACOS, True),
        ('sys_platform == "win32"', WINDOWS_312, True),
        ('sys_platform == "darwin"', MACOS, True),
        ('"linux" in sys_platform', LINUX_311, True),
        ('os_name == "nt"', WINDOWS_312, True),
        ('os_name == "posix"', MACOS, True),
        ('platform_machine == "x86_64"', LINUX_311, None),
        ('platform_python_implementation == "CPython"', LINUX_311, None),
        ('platform_system == "Linux" and platform_machine == "x86_64"', LINUX_311, None),
        ('extra == "gpu"', LINUX_311, False),
        ('extra == "gpu"', NOTHING, False),
        ('extra == "gpu" or python_version < "3.12"', LINUX_311, True),
        ('extra != "gpu"', LINUX_311, True),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_applies(marker: str, env: Environment, expected: bool | None) -> None:
    assert applies(Marker(marker), marker_facts(env)) is expected


def test_no_marker_always_applies() -> None:
    assert applies(None, {}) is True


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            LINUX_311,
            {
                "sys_platform": "linux",
                "platform_system": "Linux",
                "os_name": "posix",
                "python_version": "3.11",
                "python_full_version": "3.11.9",
            },
        ),
        (
            WINDOWS_312,
            {
                "sys_platform": "win32",
                "platform_system": "Windows",
                "os_name": "nt",
                "python_version": "3.12",
                "python_full_version": "3.12.1",
            },
        ),
        (MACOS, {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"}),
        (Environment(python_version="3"), {}),
        (Environment(os="freebsd", python_version="three"), {}),
        (NOTHING, {}),
    ],
    ids=["linux", "windows", "macos", "major-only", "unknown-words", "nothing"],
)
def test_marker_facts_come_from_the_environment_only(
    env: Environment, expected: dict[str, str]
) -> None:
    assert marker_facts(env) == expected

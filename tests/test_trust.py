"""Tests for audit.trust: who may have planted a file or folder comfy-audit would follow or run."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import audit.trust
from audit.trust import distrust
from tests.hostile import NOBODY, needs_root


def test_the_user_s_own_file_is_trusted(tmp_path: Path) -> None:
    (tmp_path / "python").write_text("")
    assert distrust(tmp_path / "python", folder_too=True) is None


def test_a_file_writable_by_others(tmp_path: Path) -> None:
    (tmp_path / "python").write_text("")
    (tmp_path / "python").chmod(0o666)
    assert distrust(tmp_path / "python") == f"{tmp_path / 'python'} is writable by others"


def test_a_folder_writable_by_others_counts_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared").chmod(0o1777)
    (tmp_path / "shared" / "python").write_text("")
    assert distrust(tmp_path / "shared" / "python") is None
    assert distrust(tmp_path / "shared" / "python", folder_too=True) == (
        f"{tmp_path / 'shared'} is writable by others"
    )


def test_a_symlink_is_judged_by_its_target(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target").chmod(0o777)
    (tmp_path / "link").symlink_to(tmp_path / "target")
    assert distrust(tmp_path / "link") == f"{tmp_path / 'target'} is writable by others"


@needs_root
def test_another_user_s_file_or_link(tmp_path: Path) -> None:
    (tmp_path / "theirs").write_text("")
    os.chown(tmp_path / "theirs", NOBODY, NOBODY)
    assert distrust(tmp_path / "theirs") == (
        f"{tmp_path / 'theirs'} is owned by uid {NOBODY}, neither you nor root"
    )
    (tmp_path / "mine").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "mine")
    os.lchown(tmp_path / "link", NOBODY, NOBODY)
    assert distrust(tmp_path / "link") == (
        f"{tmp_path / 'link'} is owned by uid {NOBODY}, neither you nor root"
    )


def test_a_missing_path(tmp_path: Path) -> None:
    assert distrust(tmp_path / "missing") == (
        f"{tmp_path / 'missing'} cannot be examined: No such file or directory"
    )


def test_doctests() -> None:
    assert doctest.testmod(audit.trust).failed == 0

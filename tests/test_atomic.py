"""Tests for audit.atomic: what is replaced, what is refused, and the modes files end with."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from audit import atomic
from tests.hostile import NOBODY, fifo, needs_root


@pytest.fixture
def umask_077() -> Iterator[None]:
    """A strict umask: a file written with it, yet readable by others, kept its old mode."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_follows_the_umask(tmp_path: Path, umask_077: None) -> None:
    atomic.write_file(tmp_path / "new.prom", b"x 1\n")
    assert ((tmp_path / "new.prom").read_bytes(), mode(tmp_path / "new.prom")) == (b"x 1\n", 0o600)


def test_an_existing_file_keeps_its_mode(tmp_path: Path, umask_077: None) -> None:
    """node_exporter, another user, must still read the textfile after each run."""
    target = tmp_path / "audit.prom"
    target.write_bytes(b"old\n")
    target.chmod(0o644)
    atomic.write_file(target, b"new\n")
    assert (target.read_bytes(), mode(target)) == (b"new\n", 0o644)


@needs_root
def test_root_keeps_an_existing_file_s_owner(tmp_path: Path) -> None:
    target = tmp_path / "audit.prom"
    target.write_bytes(b"old\n")
    os.chown(target, NOBODY, NOBODY)
    atomic.write_file(target, b"new\n")
    assert (os.stat(target).st_uid, target.read_bytes()) == (NOBODY, b"new\n")


def test_a_symlink_to_the_user_s_file_is_written_through(tmp_path: Path) -> None:
    (tmp_path / "real.md").write_bytes(b"old\n")
    (tmp_path / "link.md").symlink_to("real.md")
    atomic.write_file(tmp_path / "link.md", b"new\n")
    assert (tmp_path / "link.md").is_symlink()
    assert (tmp_path / "real.md").read_bytes() == b"new\n"


@needs_root
def test_a_symlink_to_another_user_s_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "theirs").write_bytes(b"keep\n")
    os.chown(tmp_path / "theirs", NOBODY, NOBODY)
    (tmp_path / "link").symlink_to(tmp_path / "theirs")
    with pytest.raises(atomic.Refused) as caught:
        atomic.check_target(tmp_path / "link")
    assert str(caught.value) == (
        f"a symlink to {tmp_path / 'theirs'}, which is owned by uid {NOBODY}, not by you"
    )
    assert (tmp_path / "theirs").read_bytes() == b"keep\n"


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: p.symlink_to("/dev/full"), "/dev/full is a device or process file"),
        (lambda p: p.symlink_to("/proc/self/fd/1"), "/proc/self/fd/1 is a device or process file"),
        (fifo, "a FIFO, not a regular file"),
        (lambda p: p.mkdir(), "a directory, not a regular file"),
    ],
    ids=["dev-full", "proc-fd", "fifo", "folder"],
)
def test_what_is_not_a_regular_file_is_refused_and_left_alone(
    tmp_path: Path, make: Callable[[Path], object], kind: str
) -> None:
    target = tmp_path / "target"
    make(target)
    before = os.lstat(target)
    for attempt in (atomic.check_target, lambda p: atomic.write_file(p, b"x")):
        with pytest.raises(atomic.Refused) as caught:
            attempt(target)
        assert str(caught.value) == f"{kind}; use - for standard output"
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


@needs_root
def test_a_device_node_outside_dev_is_refused(tmp_path: Path) -> None:
    os.mknod(tmp_path / "full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    with pytest.raises(atomic.Refused, match=r"^a device, not a regular file"):
        atomic.write_file(tmp_path / "full", b"x")
    assert stat.S_ISCHR(os.lstat(tmp_path / "full").st_mode)


def test_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(atomic.Refused, match=r"^no folder "):
        atomic.check_target(tmp_path / "missing" / "file")


def test_dash_is_standard_output(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    atomic.check_target("-")
    atomic.write_file("-", b"to stdout\n")
    assert capfdbinary.readouterr().out == b"to stdout\n"


def test_a_failed_fill_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "mirror.jsonl"
    target.write_bytes(b"old\n")

    def fail(stream: object) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        atomic.write_with(target, fail)
    assert [p.name for p in tmp_path.iterdir()] == ["mirror.jsonl"]
    assert target.read_bytes() == b"old\n"


def test_write_new_never_reuses_a_path(tmp_path: Path) -> None:
    (tmp_path / "there").write_bytes(b"keep")
    with pytest.raises(atomic.Refused, match="exists"):
        atomic.write_new(tmp_path / "there", b"x")
    assert (tmp_path / "there").read_bytes() == b"keep"

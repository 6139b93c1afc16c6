"""Tests for audit.gitdir against checkouts made by the real git, and hand-written ones."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from audit.gitdir import GitCheckout, read_checkout

SHA = "0123456789abcdef0123456789abcdef01234567"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "ComfyUI-KJNodes"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "nodes.py").write_text("x = 1\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "first")
    git(path, "remote", "add", "origin", "https://github.com/kijai/ComfyUI-KJNodes.git")
    return path


@pytest.mark.parametrize("packed", [False, True], ids=["loose-refs", "packed-refs"])
def test_reads_what_git_says(repo: Path, packed: bool) -> None:
    git(repo, "tag", "v1.0.0")
    git(repo, "tag", "-a", "v1.0.1", "-m", "annotated")
    if packed:
        git(repo, "pack-refs", "--all")
    (repo / ".git" / ".cnr-id").write_text("comfyui-kjnodes\n")
    assert read_checkout(repo) == GitCheckout(
        head=git(repo, "rev-parse", "HEAD"),
        branch="main",
        remote_url="https://github.com/kijai/ComfyUI-KJNodes.git",
        cnr_id="comfyui-kjnodes",
        tags_at_head=("v1.0.0", "v1.0.1"),
    )


def test_tags_elsewhere_and_detached_head(repo: Path) -> None:
    git(repo, "tag", "v0.9.0")
    (repo / "more.py").write_text("y = 2\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "second")
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach", head)
    checkout = read_checkout(repo)
    assert checkout is not None
    assert (checkout.head, checkout.branch, checkout.tags_at_head) == (head, None, ())


def test_not_a_checkout(tmp_path: Path) -> None:
    assert read_checkout(tmp_path) is None


def test_hand_written_checkout_and_gitdir_file(tmp_path: Path) -> None:
    real = tmp_path / "modules" / "pack"
    (real / "refs" / "heads").mkdir(parents=True)
    (real / "HEAD").write_text("ref: refs/heads/main\n")
    (real / "refs" / "heads" / "main").write_text(SHA + "\n")
    (real / "config").write_text('[remote "upstream"]\n\turl = git@github.com:a/b.git\n')
    work = tmp_path / "pack"
    work.mkdir()
    (work / ".git").write_text("gitdir: ../modules/pack\n")
    assert read_checkout(work) == GitCheckout(SHA, "main", "git@github.com:a/b.git", None, ())


def test_garbage_never_raises(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_bytes(b"\xff\xfe garbage")
    (tmp_path / ".git" / "packed-refs").write_text("nonsense\n^also\n")
    assert read_checkout(tmp_path) == GitCheckout(None, None, None, None, ())


@pytest.mark.parametrize(
    "gitdir",
    ["gitdir: bad\x00path\n", "gitdir: loop\n"],
    ids=["nul-byte", "symlink-loop"],
)
def test_unresolvable_gitdir_file_is_no_checkout(tmp_path: Path, gitdir: str) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / ".git").write_text(gitdir)
    assert read_checkout(tmp_path) is None

"""Tests for audit.gitdir against checkouts made by the real git, and hand-written ones."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import pytest

from audit.gitdir import GitCheckout, read_checkout
from tests.hostile import as_nobody, fifo, needs_root, shared_tmp, sparse

__all__ = ["shared_tmp"]

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"


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
    expected = GitCheckout(SHA, "main", "git@github.com:a/b.git", None, ())
    assert read_checkout(work, within=tmp_path) == expected


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


# Hostile checkouts: each of these hung, exhausted memory, read outside the install or crashed.


def _checkout(root: Path) -> Path:
    git_dir = root / ".git"
    (git_dir / "refs" / "heads").mkdir(parents=True)
    (git_dir / "HEAD").write_text("ref: refs/heads/main\n")
    (git_dir / "refs" / "heads" / "main").write_text(SHA + "\n")
    (git_dir / "config").write_text('[remote "origin"]\n\turl = https://x.example/a.git\n')
    return git_dir


@pytest.mark.parametrize("name", ["HEAD", "config", ".cnr-id"])
def test_a_fifo_is_not_opened(tmp_path: Path, name: str) -> None:
    git_dir = _checkout(tmp_path)
    (git_dir / name).unlink(missing_ok=True)
    fifo(git_dir / name)
    checkout = read_checkout(tmp_path)
    assert checkout is not None
    assert (checkout.head is None) == (name == "HEAD")
    assert (checkout.remote_url is None) == (name == "config")


def test_head_linked_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    git_dir = _checkout(tmp_path)
    (git_dir / "HEAD").unlink()
    (git_dir / "HEAD").symlink_to("/dev/zero")
    assert read_checkout(tmp_path) == GitCheckout(None, None, "https://x.example/a.git", None, ())


def test_a_head_inside_the_tree_through_a_symlink_is_read(tmp_path: Path) -> None:
    git_dir = _checkout(tmp_path)
    (git_dir / "HEAD").rename(tmp_path / "HEAD.real")
    (git_dir / "HEAD").symlink_to(tmp_path / "HEAD.real")
    checkout = read_checkout(tmp_path)
    assert checkout is not None and checkout.head == SHA


def test_refs_linked_to_dev_open_no_device(tmp_path: Path) -> None:
    git_dir = _checkout(tmp_path)
    (git_dir / "refs" / "tags").symlink_to("/dev")
    (git_dir / "refs" / "heads" / "zero").symlink_to("/dev/zero")
    checkout = read_checkout(tmp_path)
    assert checkout is not None and (checkout.head, checkout.tags_at_head) == (SHA, ())


def test_a_sparse_20_gb_object_is_not_read(tmp_path: Path) -> None:
    git_dir = _checkout(tmp_path)
    (git_dir / "refs" / "tags").mkdir()
    (git_dir / "refs" / "tags" / "v1").write_text(OTHER + "\n")
    (git_dir / "objects" / OTHER[:2]).mkdir(parents=True)
    sparse(git_dir / "objects" / OTHER[:2] / OTHER[2:], 20 * 1024**3)
    checkout = read_checkout(tmp_path)
    assert checkout is not None and checkout.tags_at_head == ()


def test_a_zlib_bomb_object_is_inflated_only_to_a_cap(tmp_path: Path) -> None:
    git_dir = _checkout(tmp_path)
    (git_dir / "refs" / "tags").mkdir()
    (git_dir / "refs" / "tags" / "v1").write_text(OTHER + "\n")
    (git_dir / "objects" / OTHER[:2]).mkdir(parents=True)
    bomb = zlib.compressobj(9)
    data = bomb.compress(b"tag 1\0object " + SHA.encode() + b"\n")
    chunk = bytes(1024 * 1024)
    data += b"".join(bomb.compress(chunk) for _ in range(1024)) + bomb.flush()
    assert len(data) < 3 * 1024 * 1024  # 1 GiB of zeros
    (git_dir / "objects" / OTHER[:2] / OTHER[2:]).write_bytes(data)
    checkout = read_checkout(tmp_path)
    assert checkout is not None and checkout.tags_at_head == ()


def test_a_small_annotated_tag_is_still_peeled(tmp_path: Path) -> None:
    git_dir = _checkout(tmp_path)
    (git_dir / "refs" / "tags").mkdir()
    (git_dir / "refs" / "tags" / "v1").write_text(OTHER + "\n")
    (git_dir / "objects" / OTHER[:2]).mkdir(parents=True)
    tag = zlib.compress(b"tag 60\0object " + SHA.encode() + b"\ntype commit\n")
    (git_dir / "objects" / OTHER[:2] / OTHER[2:]).write_bytes(tag)
    checkout = read_checkout(tmp_path)
    assert checkout is not None and checkout.tags_at_head == ("v1",)


def test_a_gitdir_line_leading_outside_the_tree_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    _checkout(outside)
    (outside / ".git").rename(tmp_path / "secret")
    work = tmp_path / "install" / "pack"
    work.mkdir(parents=True)
    (work / ".git").write_text(f"gitdir: {tmp_path / 'secret'}\n")
    assert read_checkout(work, within=tmp_path / "install") is None
    assert read_checkout(work, within=tmp_path) is not None


def test_a_dot_git_linked_outside_the_tree_is_not_followed(tmp_path: Path) -> None:
    _checkout(tmp_path / "elsewhere")
    work = tmp_path / "pack"
    work.mkdir()
    (work / ".git").symlink_to(tmp_path / "elsewhere" / ".git")
    assert read_checkout(work) is None


@needs_root
def test_an_unreadable_dot_git_is_no_checkout_and_no_crash(shared_tmp: Path) -> None:
    git_dir = _checkout(shared_tmp)
    git_dir.chmod(0o000)
    checkout = as_nobody(lambda: read_checkout(shared_tmp))
    assert checkout == GitCheckout(None, None, None, None, ())

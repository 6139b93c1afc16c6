"""Helpers for tests that plant what a hostile co-tenant would: FIFOs, device links, other owners.

Tests that need root (to own a file as another user, or to drop to another user) skip with a
reason otherwise; run the suite as root (``sudo .venv/bin/pytest``) to run them all.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

__all__ = ["NOBODY", "as_nobody", "fifo", "needs_root", "shared_tmp", "sparse"]

T = TypeVar("T")

#: The uid of ``nobody`` on Linux; a user that is neither the tester nor root.
NOBODY = 65534

needs_root = pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="needs root to own files as another user (run the suite as root to include it)",
)


def fifo(path: Path) -> Path:
    """Make a FIFO at ``path``: opening it to read blocks until a writer comes, forever here."""
    os.mkfifo(path)
    return path


def sparse(path: Path, size: int) -> Path:
    """Make a sparse file of ``size`` bytes at ``path``: it takes no disk, but reads as zeros."""
    with path.open("wb") as f:
        f.truncate(size)
    return path


def as_nobody(call: Callable[[], T]) -> T:
    """Return ``call()`` run in a forked child that has dropped to the ``nobody`` user."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            payload = pickle.dumps(("ok", call()))
        except BaseException as e:  # NOTE: every failure goes back to the test
            payload = pickle.dumps(("error", f"{type(e).__name__}: {e}"))
        os.write(write_end, payload)
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        kind, value = pickle.loads(f.read())
    os.waitpid(pid, 0)
    if kind == "error":
        raise AssertionError(f"in the child: {value}")
    return value  # type: ignore[no-any-return]


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A fresh folder other users can enter (pytest's own tmp_path is private to the tester)."""
    folder = Path(tempfile.mkdtemp(prefix="comfy-audit-hostile-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)

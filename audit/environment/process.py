"""Run a command with its output in files, bounded in time and in the bytes it may write.

Used to ask another interpreter what it has installed: whatever it does, it is killed (with the
whole session it started) once it runs too long or says too much.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from audit.errors import InputError

__all__ = ["run_captured"]

_POLL_S = 0.05


def run_captured(argv: list[str], *, timeout: float, max_output: int) -> bytes:
    """Run ``argv`` in an empty folder and return its stdout (at most ``max_output + 1`` bytes).

    :raises InputError: naming ``argv[0]``, if it cannot be run, fails, runs longer than
        ``timeout`` seconds or writes more than ``max_output`` bytes.
    """
    with tempfile.TemporaryDirectory(prefix="comfy-audit-", ignore_cleanup_errors=True) as tmp:
        # NOTE: an empty working folder, so that nothing local shadows the stdlib.
        work = Path(tmp, "cwd")
        work.mkdir()
        with Path(tmp, "stdout").open("w+b") as out, Path(tmp, "stderr").open("w+b") as err:
            returncode = _run(argv, work, out, err, timeout, max_output)
            if returncode != 0:
                raise InputError(f"{argv[0]}: {_failure(returncode, err)}")
            out.seek(0)
            return out.read(max_output + 1)


def _run(
    argv: list[str], cwd: Path, out: IO[bytes], err: IO[bytes], timeout: float, max_output: int
) -> int:
    """Run ``argv`` with its output in files, killing it on timeout or when it says too much."""
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=os.name == "posix",
        )
    except OSError as e:
        raise InputError(f"{argv[0]}: cannot run it: {e.strerror or e}") from e
    deadline = time.monotonic() + timeout
    while True:
        try:
            return process.wait(timeout=max(0.0, min(_POLL_S, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pass
        if max(os.fstat(out.fileno()).st_size, os.fstat(err.fileno()).st_size) > max_output:
            _kill(process)
            raise InputError(f"{argv[0]}: answered more than {max_output} bytes")
        if time.monotonic() >= deadline:
            _kill(process)
            raise InputError(f"{argv[0]}: did not answer within {timeout:g} s")


def _kill(process: subprocess.Popen[bytes]) -> None:
    # NOTE: the whole session we started, so that a wrapper script's children die with it.
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:
        pass  # it ended in the meantime
    process.wait()


def _failure(returncode: int, err: IO[bytes]) -> str:
    if returncode < 0:
        return f"was killed by signal {-returncode}"
    size = err.seek(0, os.SEEK_END)
    err.seek(max(0, size - 4096))
    lines = err.read().decode("utf-8", "replace").splitlines()
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    return f"exited with status {returncode}" + (f": {last[:200]}" if last else "")

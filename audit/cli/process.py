"""How the command line's process starts and ends: the collector's settings for a batch of
millions of values, and an exit that frees none of them."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from audit.cli.core import cli
from audit.parallel import stop_children

__all__ = ["keep_until_exit", "main"]

#: New container values between two passes of the cyclic collector over the young generation.
_YOUNG = 1_000_000
#: A collector threshold no batch reaches.
_NEVER = 1_000_000_000
#: What `keep_until_exit` holds.
_KEPT: list[object] = []


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line and exit with its code."""
    # NOTE: a fleet's run builds millions of long-lived, acyclic frozen values, which the cyclic
    # collector would scan again and again: its full passes took about a third of a 500-host
    # run's CPU time, and young passes every 100,000 new values 0.4 s more. The young
    # generation is collected once per million new values (the short-lived cycles some
    # libraries make, per HTTP request say, are freed), the old ones never; this batch
    # process's values are freed by their reference counts.
    gc.set_threshold(_YOUNG, _NEVER, _NEVER)
    try:
        cli.main(args=argv, prog_name="comfy-audit")
    except SystemExit as e:
        _exit_at_once(e.code)
    _exit_at_once(0)


def keep_until_exit(*values: object) -> None:
    """Hold ``values`` until the process exits, which it does without freeing them.

    NOTE: a command's values are freed one by one when it returns, before `_exit_at_once`
    can skip that: a 5,000-host run's took 0.8 s.
    """
    _KEPT.extend(values)


def _exit_at_once(code: str | int | None) -> NoReturn:
    """Exit with ``code`` (as `sys.exit` reads it) without freeing the heap.

    NOTE: Python frees a fleet's millions of values one by one at exit (0.6 s of a 5,000-host
    run), for nothing: by now every file is closed and every thread done. A helper process
    is still working only when the run failed before it read the helper's advice; it is
    stopped. mypy exits the same way.
    """
    stop_children()
    if isinstance(code, str):
        print(code, file=sys.stderr)
    for stream in (sys.stdout, sys.stderr):
        # NOTE: a reader that went away (`| head`) is no error of the run's.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code if isinstance(code, int) else int(code is not None))

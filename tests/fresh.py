"""A fresh interpreter, for what a command loads (the test process has loaded everything)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence


def python_lines(*code: str) -> list[str]:
    """The lines a fresh interpreter prints running ``code``, one statement a line."""
    done = subprocess.run(
        [sys.executable, "-c", "\n".join(code)], capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def cli_lines(argv: Sequence[str], *after: str) -> list[str]:
    """What a fresh interpreter prints running ``comfy-audit ARGV``, its exit code, and then
    ``after`` (``sys`` is imported)."""
    return python_lines(
        "import sys",
        "from audit.cli import cli",
        "try:",
        f"    cli.main({list(argv)!r}, prog_name='comfy-audit')",
        "except SystemExit as exit:",
        "    print(exit.code)",
        *after,
    )

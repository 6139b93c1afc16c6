"""The command line: parses options, calls the stages, prints, and maps errors to exit codes.

`core` holds the command group and the one mapping of errors to exit codes, `process` how the
process starts and ends, `options` the options that several commands share, `progress` the
progress display; each command is one module. This is the only package that prints or exits.
pandas, pyarrow and requests are imported only by the commands that need them, when they run,
so that ``--help`` stays fast.
"""

# NOTE: importing the command modules registers their commands on `cli`.
from audit.cli import advise, env, fleet, mirror, needs, run, scan  # noqa: F401
from audit.cli.core import cli
from audit.cli.process import main
from audit.cli.progress import StderrProgress

__all__ = ["StderrProgress", "cli", "main"]

"""The command group and the one place where errors and results become messages and exit codes.

Every command returns its exit code (``None`` is 0) or raises; `AuditCommand` turns both into
the process's exit. Commands print their output; errors and warnings go through `error` and
`warn`, so that every message has the same ``comfy-audit: <level>:`` form.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from audit import atomic, terminal
from audit.errors import AuditError, ExitCode, InputError, ReportError, UsageError

__all__ = ["Incomplete", "check_outputs", "cli", "error", "warn", "write_atomically"]


class Failure(click.ClickException):
    """An error shown as plain ``comfy-audit: error:`` lines; bad input by default, exit 2."""

    exit_code = ExitCode.INPUT

    def show(self, file: Any = None) -> None:
        for line in self.message.splitlines() or [""]:
            error(line)


class Incomplete(Failure):
    """An error that leaves the command's work incomplete, exit 3."""

    exit_code = ExitCode.INCOMPLETE


def printable(text: str) -> str:
    """``text`` with its control characters made visible: a manifest can hold them."""
    return terminal.visible_line(text)


def error(message: str) -> None:
    """Print ``message`` as an error on stderr."""
    click.echo(f"comfy-audit: error: {printable(message)}", err=True)


def warn(message: str | None) -> None:
    """Print ``message``, if any, as a warning on stderr."""
    if message:
        click.echo(f"comfy-audit: warning: {printable(message)}", err=True)


@contextlib.contextmanager
def exits(ctx: click.Context) -> Iterator[None]:
    """Turn the exceptions of the block into messages and exit codes."""
    try:
        yield
    except UsageError as e:
        raise click.UsageError(str(e), ctx) from e
    except AuditError as e:
        raise Failure(str(e)) from e
    except KeyboardInterrupt:
        click.echo("comfy-audit: interrupted", err=True)
        ctx.exit(ExitCode.INTERRUPTED)
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except Exception as e:  # NOTE: a traceback reaching a user is a bug; say so in one line.
        if os.environ.get("COMFY_AUDIT_DEBUG"):
            raise
        click.echo(
            f"comfy-audit: internal error: {type(e).__name__}: {printable(str(e))}"
            " (set COMFY_AUDIT_DEBUG=1 for a traceback, and please report it)",
            err=True,
        )
        ctx.exit(ExitCode.INTERNAL)


class AuditCommand(click.Command):
    """A command: it returns its exit code (``None`` is 0) or raises, and exits with it."""

    def invoke(self, ctx: click.Context) -> Any:
        with exits(ctx):
            code = super().invoke(ctx)
        ctx.exit(code or ExitCode.CLEAN)


class AuditGroup(click.Group):
    """The command group: its commands are `AuditCommand`s; what fails while their options are
    parsed is mapped the same way."""

    command_class = AuditCommand

    def invoke(self, ctx: click.Context) -> Any:
        with exits(ctx):
            return super().invoke(ctx)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # NOTE: the version is looked up only here, so that --help never reads package metadata.
    if value and not ctx.resilient_parsing:
        from audit import __version__

        click.echo(f"comfy-audit, version {__version__}")
        ctx.exit()


@click.group(cls=AuditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """Audit installed ComfyUI custom-node packs against the Comfy Registry.

    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 bad input,
    3 incomplete (some registry lookups failed), 130 interrupted.
    """
    logger = logging.getLogger("audit")
    if not any(isinstance(h, _WarningsToStderr) for h in logger.handlers):
        logger.addHandler(_WarningsToStderr(logging.WARNING))
        logger.propagate = False


class _WarningsToStderr(logging.Handler):
    """Shows the stages' warnings (an unusable cache…) as ``comfy-audit: warning:`` lines.

    It looks ``sys.stderr`` up at each message, not once, so that it follows redirection.
    """

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelname.lower()
        click.echo(f"comfy-audit: {level}: {printable(record.getMessage())}", err=True)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all."""
    try:
        atomic.write_file(path, text.encode("utf-8"))
    except atomic.Refused as e:
        raise ReportError(f"{path}: cannot write: {e}") from e


def check_outputs(*targets: str | None) -> None:
    """Refuse, before anything is audited, an output file that would not be written."""
    for target in targets:
        if target is None:
            continue
        try:
            atomic.check_target(target)
        except atomic.Refused as e:
            raise InputError(f"{target}: not an output file: {e}") from e

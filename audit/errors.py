"""The exception tree; every error a user can see is one of these.

- AuditError: base of everything the CLI turns into a message.
  - InputError: bad user input; exit code 2.
    - ManifestError: a manifest is unreadable or malformed (one or more problems).
    - ProfileError: an environment profile is unreadable or malformed.
    - MirrorError: a registry mirror file is unreadable or malformed.
  - ReportError: the reports could not be written.
  - UsageError (an InputError): options that do not go together; shown with the usage.

`ExitCode` is the one definition of the exit codes (README "Exit codes"); `describe_error` describes
any error in one line for messages.

Per-entry registry failures are not exceptions: they are `LookupResult` values (see model.py).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AuditError",
    "ExitCode",
    "InputError",
    "ManifestError",
    "MirrorError",
    "Problem",
    "ProfileError",
    "ReportError",
    "UsageError",
    "describe_error",
]


class ExitCode(enum.IntEnum):
    """Represents how a command ends (README "Exit codes")."""

    CLEAN = 0
    """Nothing at or above ``--fail-on``."""
    FAILED = 1
    """A finding at or above ``--fail-on``."""
    INPUT = 2
    """A usage or input error; nothing audited."""
    INCOMPLETE = 3
    """Some lookups failed after retries and nothing else reached ``--fail-on``."""
    INTERNAL = 70
    """A bug, reported in one line."""
    INTERRUPTED = 130
    """Ctrl-C."""


def describe_error(error: BaseException) -> str:
    """Describe ``error`` in one line: an OS error by its ``strerror``, else by its text.

    >>> describe_error(FileNotFoundError(2, "No such file or directory", "x.csv"))
    'No such file or directory'
    >>> describe_error(ValueError("bad\\n  value")), describe_error(KeyError())
    ('bad value', 'KeyError')
    """
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return " ".join(text.split()) or type(error).__name__


class AuditError(Exception):
    """Base of every error comfy-audit reports to a user."""


class InputError(AuditError, ValueError):
    """Bad input from the user: a flag, a file, a profile. Nothing is audited."""


class UsageError(InputError):
    """Options that do not go together (or a source that cannot do what was asked); the command
    line shows it with the command's usage."""


@dataclass(frozen=True)
class Problem:
    """Represents one thing wrong with an input file, with its location where known."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


class ManifestError(InputError):
    """A manifest that cannot be read; carries every problem found in it, not just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(cls, path: str, message: str, line: int | None = None) -> ManifestError:
        return cls([Problem(path, message, line)])


class ProfileError(InputError):
    """An environment profile that cannot be read."""


class MirrorError(InputError):
    """A registry mirror file that cannot be read."""


class ReportError(AuditError):
    """The reports could not be written."""

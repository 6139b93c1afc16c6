"""The exception tree; every error a user can see is one of these.

- AuditError: base of everything the CLI turns into a message.
  - InputError: bad user input; exit code 2.
    - ManifestError: a manifest is unreadable or malformed (one or more problems).
    - ProfileError: an environment profile is unreadable or malformed.
    - MirrorError: a registry mirror file is unreadable or malformed.
  - ReportError: the reports could not be written.

Per-entry registry failures are not exceptions: they are `LookupResult` values (see model.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AuditError",
    "InputError",
    "ManifestError",
    "MirrorError",
    "Problem",
    "ProfileError",
    "ReportError",
]


class AuditError(Exception):
    """Base of every error comfy-audit reports to a user."""


class InputError(AuditError, ValueError):
    """Bad input from the user: a flag, a file, a profile. Nothing is audited."""


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

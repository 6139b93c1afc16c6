"""Shared pieces of the manifest readers: the format enum, the problem collector, entry building."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from audit.errors import ManifestError, Problem
from audit.model import EntrySource, ManifestEntry

__all__ = [
    "MAX_PROBLEMS",
    "Context",
    "Malformed",
    "ManifestFormat",
    "Problems",
    "brief",
    "merge_duplicates",
]

#: Problems kept per file; a broken 30 MiB file must not produce a million-line error.
MAX_PROBLEMS = 50
_BRIEF = 80


def brief(value: object) -> str:
    """Return ``repr(value)``, cut to a length that fits in one line of a message.

    >>> len(brief("x" * 100)), brief("x" * 100)[-5:]
    (80, "x...'")
    """
    text = repr(value)
    return text if len(text) <= _BRIEF else f"{text[: _BRIEF - 4]}...{text[-1]}"


class ManifestFormat(enum.StrEnum):
    """Represents the format of a manifest file; ``AUTO`` detects it from the content."""

    AUTO = "auto"
    TEXT = "text"
    CSV = "csv"
    JSON = "json"
    SNAPSHOT = "snapshot"


class Malformed(Exception):
    """One structural problem in a manifest, raised inside a reader and caught by its caller."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Problems:
    """Collects the problems of one manifest, so that all of them are reported at once."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, message: str, line: int | None = None) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem(self.path, message, line))
        else:
            self.dropped += 1

    def all(self) -> list[Problem]:
        """Every problem kept, in line order, plus one line that counts those left out."""
        ordered = sorted(self.items, key=lambda p: p.line or 0)
        tail = [Problem(self.path, f"and {self.dropped} more problems")] if self.dropped else []
        return [*ordered, *tail]

    def raise_if_any(self) -> None:
        """:raises ManifestError: when at least one problem was found."""
        if self.items:
            raise ManifestError(self.all())


@dataclass(frozen=True)
class Context:
    """Represents the manifest being read: where it is, whose it is, and where problems go."""

    path: str
    host: str
    problems: Problems = field(compare=False)

    def entry(
        self,
        node_id: str,
        version: str | None,
        line: int | None,
        *,
        source: EntrySource = EntrySource.REGISTRY,
        host: str | None = None,
        url: str | None = None,
        disabled: bool = False,
    ) -> ManifestEntry:
        """Return an entry of this manifest; ``host`` overrides the manifest's host."""
        return ManifestEntry(
            host=host or self.host,
            node_id=node_id,
            version=version,
            source=source,
            manifest=self.path,
            line=line,
            url=url,
            hash=version if source is EntrySource.GIT else None,
            disabled=disabled,
        )


def _identity(entry: ManifestEntry) -> tuple[str, str, bool, str]:
    # NOTE: git entries are keyed by URL, since forks share a repository name.
    if entry.source is EntrySource.GIT and entry.url:
        name = entry.url.rstrip("/").removesuffix(".git").lower()
    else:
        name = entry.node_id.lower()
    return (entry.host, entry.source.value, entry.disabled, name)


def _listed_twice(first: ManifestEntry, second: ManifestEntry) -> str:
    is_git = second.source is EntrySource.GIT
    name = second.url if is_git and second.url else second.node_id
    name = name if len(name) <= _BRIEF else f"{name[: _BRIEF - 3]}..."
    noun = "commits" if is_git else "versions"
    where = f" (line {first.line})" if first.line else ""
    return (
        f"{name} listed twice with different {noun}: "
        f"{brief(first.version)}{where} and {brief(second.version)}"
    )


def merge_duplicates(
    entries: Iterable[ManifestEntry], problems: Problems
) -> tuple[ManifestEntry, ...]:
    """Return ``entries`` with repeats merged (the first is kept); report conflicting repeats.

    Ids compare case-insensitively, as the registry does. The same pack twice at one version is
    harmless; twice at two versions means the manifest contradicts itself.
    """
    seen: dict[tuple[str, str, bool, str], ManifestEntry] = {}
    for entry in entries:
        first = seen.setdefault(_identity(entry), entry)
        if first is not entry and first.version != entry.version:
            problems.add(_listed_twice(first, entry), entry.line)
    return tuple(seen.values())

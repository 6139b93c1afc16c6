"""Judge each requirement line of a pack on one host: does it apply there, and is it met?"""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from audit.dependencies.interface import DEPENDENCY_CHECKS, PackRequirements
from audit.dependencies.markers import applies
from audit.dependencies.parse import (
    InvalidLine,
    Line,
    RequirementLine,
    RequirementSource,
    file_lines,
    parse_line,
)
from audit.model import Finding, FindingSource, Severity

__all__ = [
    "FREEZE_HIDDEN",
    "Installed",
    "Judged",
    "host_finding",
    "index_installed",
    "judge",
    "label",
    "meets",
    "pack_finding",
    "pack_lines",
    "range_text",
    "source_of",
]

Installed = Mapping[NormalizedName, tuple[str, str | None]]
"""Installed distributions by canonical name → (name as written, version or ``None``)."""

#: What ``pip freeze`` leaves out unless given ``--all``: absent from a snapshot's ``pips``,
#: they may well be installed, so their absence proves nothing.
FREEZE_HIDDEN = frozenset(map(canonicalize_name, ("pip", "setuptools", "wheel", "distribute")))


@dataclass(frozen=True)
class Judged:
    """Represents one requirement line of one pack, judged on the audited host."""

    pack: PackRequirements
    index: int
    """The pack's position in the host's list: the identity of a pack, which may repeat."""
    line: Line
    applies: bool | None
    """Whether the line's marker holds there; ``None`` when it needs an unknown fact."""
    installed: tuple[str, str | None] | None
    """The installed distribution it names, as in `Installed`; ``None`` when it is not
    installed, or the installed set is unknown."""
    satisfied: bool | None

    @property
    def requirement(self) -> RequirementLine | None:
        """The line, when it is a requirement that applies here."""
        line = self.line
        return line if isinstance(line, RequirementLine) and self.applies else None

    @property
    def enabled(self) -> bool:
        return not self.pack.entry.disabled

    def cells(self, host: str) -> tuple[object, ...]:
        """The ``requirements`` row of this line, its cells in `REQUIREMENT_FIELDS` order.

        NOTE: cells, not a `RequirementRow`: a fleet's million rows are held column by column
        (`RequirementRows`), and making each row an object first cost a fifth of the audit.
        """
        line, entry = self.line, self.pack.entry
        valid = line if isinstance(line, RequirementLine) else None
        return (
            host,
            entry.node_id,
            entry.version,
            line.text,
            valid.distribution if valid else None,
            valid.specifier_text or None if valid else None,
            valid.marker_text if valid else None,
            line.source.value,
            self.installed[1] if self.installed else None,
            self.satisfied,
        )


def index_installed(installed: Mapping[str, str | None] | None) -> Installed | None:
    """Key the installed distributions by canonical name; the first spelling of a name wins."""
    if installed is None:
        return None
    found: dict[NormalizedName, tuple[str, str | None]] = {}
    for name, version in installed.items():
        found.setdefault(_canonical(name), _pair(name, version))
    return found


@functools.lru_cache(maxsize=1 << 16)
def _pair(name: str, version: str | None) -> tuple[str, str | None]:
    """``(name, version)``, one tuple for every host that has that version installed: an
    advisor holds every host's index at once."""
    return name, version


# NOTE: a fleet's hosts install the same few hundred distributions.
_canonical = functools.lru_cache(maxsize=1 << 14)(canonicalize_name)


def pack_lines(pack: PackRequirements) -> tuple[Line, ...]:
    """The requirement lines of ``pack``: the registry's, then ``requirements.txt``, then the
    pyproject's; a line repeated within one source is kept once. Packs with the same lines
    get the same tuple."""
    entry = pack.entry
    declared = entry.declared.dependencies if entry.declared is not None else None
    return _lines(tuple(pack.registry or ()), entry.requirements or (), tuple(declared or ()))


# NOTE: a fleet has the same few thousand packs on every host: parse their lines once.
@functools.lru_cache(maxsize=1 << 14)
def _lines(
    registry: tuple[str, ...], requirements: tuple[str, ...], declared: tuple[str, ...]
) -> tuple[Line, ...]:
    texts = [
        *((RequirementSource.REGISTRY, t) for t in registry),
        *((RequirementSource.LOCAL, t) for t in file_lines(requirements)),
        *((RequirementSource.LOCAL, t) for t in declared),
    ]
    unique = dict.fromkeys((source, text.strip()) for source, text in texts)
    return tuple(parse_line(text, source) for source, text in unique)


def judge(
    pack: PackRequirements,
    index: int,
    facts: Mapping[str, str],
    installed: Installed | None,
    distributions: Collection[str] | None = None,
) -> list[Judged]:
    """Judge every line of ``pack`` against the marker ``facts`` and the ``installed`` set.

    :param distributions: only the lines over these (canonical names), when given.
    """
    judged = []
    for line in pack_lines(pack):
        if distributions is not None and _distribution(line) not in distributions:
            continue
        if isinstance(line, InvalidLine):
            judged.append(Judged(pack, index, line, None, None, None))
            continue
        holds = applies(line.marker, facts)
        found = installed.get(line.distribution) if installed and line.distribution else None
        satisfied = _satisfied(line, holds, installed, found)
        judged.append(Judged(pack, index, line, holds, found, satisfied))
    return judged


def _distribution(line: Line) -> str | None:
    return line.distribution if isinstance(line, RequirementLine) else None


def _satisfied(
    line: RequirementLine,
    holds: bool | None,
    installed: Installed | None,
    found: tuple[str, str | None] | None,
) -> bool | None:
    # NOTE: a requirement that does not apply here asks for nothing, so it is met.
    if holds is False:
        return True
    if holds is None or installed is None or line.distribution is None:
        return None
    if found is None:
        return None if line.distribution in FREEZE_HIDDEN else False
    version = found[1]
    if line.specifier is None:
        return True
    # NOTE: a URL install has no version to compare.
    return None if version is None else meets(line.specifier_text, version)


# NOTE: a fleet compares the same ranges with the same installed versions on every host; keyed
# by the range's text, which is cheaper to hash than the range.
@functools.lru_cache(maxsize=1 << 16)
def meets(text: str, version: str) -> bool | None:
    """Whether an installed ``version`` meets the range ``text`` (as `SpecifierSet` writes it);
    ``None`` if the version is not PEP 440.

    An installed pre-release is a fact, not a choice, so it is compared like any version; a local
    version meets a pin of its public part (``2.9.1+cu126`` meets ``==2.9.1``).

    >>> meets("==2.9.1", "2.9.1+cu126"), meets("<2", "2.0.0rc1")
    (True, False)
    """
    specifier = SpecifierSet(text)
    if any(s.operator == "===" for s in specifier):
        return specifier.contains(version, prereleases=True)
    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return None


def range_text(lines: Iterable[RequirementLine]) -> str:
    """The specifiers of ``lines`` as one range (``<2,>=1.26``), empty when none has any."""
    parts = dict.fromkeys(line.specifier_text for line in lines if line.specifier)
    return _joined_range(tuple(parts)) if parts else ""


# NOTE: a fleet writes the same few ranges into hundreds of thousands of rows and messages.
@functools.lru_cache(maxsize=1 << 14)
def _joined_range(parts: tuple[str, ...]) -> str:
    return str(SpecifierSet(",".join(parts)))


def label(pack: PackRequirements) -> str:
    """How a message names a pack: ``comfyui-foo 1.0.0``."""
    entry = pack.entry
    return entry.node_id if entry.version is None else f"{entry.node_id} {entry.version}"


def source_of(lines: Sequence[Line]) -> FindingSource:
    """``local`` when any of ``lines`` comes from the pack's own files, else ``registry``."""
    local = any(line.source is RequirementSource.LOCAL for line in lines)
    return FindingSource.LOCAL if local else FindingSource.REGISTRY


def pack_finding(
    host: str,
    pack: PackRequirements,
    check: str,
    message: str,
    source: FindingSource,
    expected: str | None = None,
    actual: str | None = None,
) -> Finding:
    """A finding about ``pack``; ``info`` when the pack is disabled."""
    entry = pack.entry
    severity = Severity.INFO if entry.disabled else DEPENDENCY_CHECKS[check]
    return Finding(
        host, entry.node_id, entry.version, check, severity, message, source, expected, actual
    )


def host_finding(
    host: str,
    check: str,
    severity: Severity,
    message: str,
    expected: str | None = None,
    actual: str | None = None,
) -> Finding:
    """A finding about the host's environment, belonging to no pack."""
    return Finding(
        host, None, None, check, severity, message, FindingSource.ENVIRONMENT, expected, actual
    )

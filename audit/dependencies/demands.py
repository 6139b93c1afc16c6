"""What a host's packs demand of each distribution: what the other packs of its host add to
one pack's dependency findings, decided from their ranges.

`findings_of_first` judges a pack among the other packs of its host, which costs a pass over
their lines. But a conflict is over one distribution and a clash within one family, and
whether a pack takes part in one is decided from the ranges alone (`HostDemands.involvement`):
its findings among the others are those it has alone, plus a conflict over each distribution it
is in one over and a clash for each family seen twice (`with_others`). An advisor judges each
candidate version so, without a pass over the host's packs.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import NormalizedName

from audit.dependencies.interface import PackRequirements
from audit.dependencies.judge import Installed, pack_finding, pack_lines
from audit.dependencies.markers import applies
from audit.dependencies.parse import Line, RequirementLine
from audit.dependencies.solve import involved, satisfiable_texts
from audit.dependencies.variants import FAMILIES, family_of
from audit.model import Finding, FindingSource, ManifestEntry

__all__ = ["HostDemands", "Involvement", "with_others"]

_CONFLICT, _CLASH = "dependency.conflict", "dependency.variant-clash"
_COMPROMISED = "dependency.compromised"
#: The findings of a pack that depend on other packs, or come after those that do.
_WITH_OTHERS = frozenset({_CONFLICT, _CLASH, _COMPROMISED})


# NOTE: slots: an advisor holds every host's demands at once, a million of them for a fleet.
@dataclass(frozen=True, slots=True)
class _Demand:
    """Represents one enabled pack's lines over one distribution that apply on the host."""

    entry: ManifestEntry
    ranges: tuple[str, ...]
    """The version ranges of those lines, as text; empty when none has a range."""


class HostDemands:
    """Indexes the lines of one host's enabled packs that apply there, by distribution.

    :param packs: the host's packs, as the dependency audit reads them.
    :param facts: the host's marker facts (`audit.dependencies.markers.marker_facts`).
    :param installed: the host's installed packages (`audit.dependencies.judge.index_installed`).
    """

    def __init__(
        self,
        packs: Sequence[PackRequirements],
        facts: Mapping[str, str],
        installed: Installed | None,
    ) -> None:
        self._facts = tuple(sorted(facts.items()))
        self._installed = installed or {}
        self._by_name: dict[NormalizedName, list[_Demand]] = {}
        self._ids = Counter((p.entry.node_id, p.entry.version) for p in packs)
        for pack in packs:
            if not pack.entry.disabled:
                for name, ranges in _applying(pack, self._facts).items():
                    self._by_name.setdefault(name, []).append(_Demand(pack.entry, ranges))

    def involvement(self, pack: PackRequirements, replaced: ManifestEntry) -> Involvement | None:
        """What the host's other packs add to the dependency findings ``pack`` has alone, put
        in the place of ``replaced``; ``None`` when another pack has its id and version (their
        findings would count as its own, and only a full audit can tell them apart)."""
        mine_id = (pack.entry.node_id, pack.entry.version)
        if self._ids[mine_id] > ((replaced.node_id, replaced.version) == mine_id):
            return None
        mine = _applying(pack, self._facts)
        conflicts = (n for n, ranges in mine.items() if self._conflicted(n, ranges, replaced))
        required = {family_of(name) for name in mine}
        clashes = (f for f in FAMILIES if f in required and self._clash(f.members, mine, replaced))
        return Involvement(tuple(sorted(conflicts)), tuple(f.module for f in clashes))

    def _others(self, name: NormalizedName, replaced: ManifestEntry) -> list[_Demand]:
        return [d for d in self._by_name.get(name, ()) if d.entry is not replaced]

    def _conflicted(
        self, name: NormalizedName, ranges: tuple[str, ...], replaced: ManifestEntry
    ) -> bool:
        # NOTE: a pack whose own ranges admit no version is in a conflict alone, never with others.
        if not ranges or not satisfiable_texts(ranges):
            return False
        others = self._others(name, replaced)
        return _in_conflict(ranges, frozenset(o.ranges for o in others if _consistent(o.ranges)))

    def _clash(
        self,
        members: Sequence[NormalizedName],
        mine: Collection[NormalizedName],
        replaced: ManifestEntry,
    ) -> bool:
        seen = [
            m for m in members if m in mine or m in self._installed or self._others(m, replaced)
        ]
        return len(seen) > 1


@dataclass(frozen=True)
class Involvement:
    """Represents what a host's other packs add to one pack's dependency findings."""

    conflicts: tuple[NormalizedName, ...]
    """The distributions, sorted, over which it is in a conflict with other packs (those it is
    in alone, its own ranges admitting no version, are not among them)."""
    clashes: tuple[str, ...]
    """The variant families (by module) it requires a member of that are seen twice on the
    host, in the order of `FAMILIES`."""


def with_others(
    alone: Sequence[Finding], involvement: Involvement, pack: PackRequirements
) -> list[Finding]:
    """The dependency findings of ``pack`` among the other packs of its host, from those it
    has ``alone`` and what the others add, in the order `findings_of_first` gives them: its
    own lines', then conflicts by distribution, then variant clashes, then compromised
    releases. What the others add says what it is about, not with whom (an advisor reads no
    more)."""
    own = [f for f in alone if f.check not in _WITH_OTHERS]
    conflicts = {f.message.split(":", 1)[0]: f for f in alone if f.check == _CONFLICT}
    for name in involvement.conflicts:
        message = f"{name}: in a conflict with other packs of the host"
        conflicts.setdefault(name, _added(pack, _CONFLICT, message))
    clashes = [
        _added(pack, _CLASH, f"the {module} family is seen twice on the host")
        for module in involvement.clashes
    ]
    compromised = [f for f in alone if f.check == _COMPROMISED]
    return [*own, *(conflicts[name] for name in sorted(conflicts)), *clashes, *compromised]


def _added(pack: PackRequirements, check: str, message: str) -> Finding:
    return pack_finding(pack.entry.host, pack, check, message, FindingSource.REGISTRY)


def _consistent(ranges: tuple[str, ...]) -> bool:
    return bool(ranges) and satisfiable_texts(ranges)


@functools.lru_cache(maxsize=1 << 14)
def _in_conflict(mine: tuple[str, ...], others: frozenset[tuple[str, ...]]) -> bool:
    """Whether a pack asking ``mine`` takes part in a conflict with packs asking ``others``
    (each consistent by itself), as `audit.dependencies.crosspack.conflict_findings` decides:
    all of them together admit no version, and it is among those `involved`."""
    if satisfiable_texts((*mine, *(r for other in others for r in other))):
        return False
    return 0 in involved([mine, *others])


_Ranges = dict[NormalizedName, tuple[str, ...]]


def _applying(pack: PackRequirements, facts: tuple[tuple[str, str], ...]) -> _Ranges:
    """The distributions ``pack`` requires with lines that apply where the marker facts are
    ``facts`` (sorted pairs), each with those lines' ranges."""
    return _applying_lines(_Same(pack_lines(pack)), facts)


class _Same:
    """Holds a value that hashes and compares by identity: the same packs' lines are one
    tuple (`pack_lines`), whose value is dear to hash."""

    __slots__ = ("value",)

    def __init__(self, value: tuple[Line, ...]) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value


# NOTE: a fleet has the same few thousand packs on every host, and a few sets of marker facts.
@functools.lru_cache(maxsize=1 << 14)
def _applying_lines(lines: _Same, facts: tuple[tuple[str, str], ...]) -> _Ranges:
    found: dict[NormalizedName, list[str]] = {}
    marker_facts = dict(facts)
    for line in lines.value:
        if not isinstance(line, RequirementLine) or line.distribution is None:
            continue
        if applies(line.marker, marker_facts) is True:
            ranges = found.setdefault(line.distribution, [])
            if line.specifier is not None:
                ranges.append(line.specifier_text)
    return {name: tuple(ranges) for name, ranges in found.items()}

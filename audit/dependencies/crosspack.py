"""The findings that weigh packs against each other and against the host's installed set:
range conflicts, variant clashes and compromised releases."""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from packaging.utils import NormalizedName

from audit.dependencies.compromised import CompromisedRelease, is_compromised
from audit.dependencies.interface import DEPENDENCY_CHECKS, PackRequirements
from audit.dependencies.judge import (
    Installed,
    Judged,
    host_finding,
    label,
    pack_finding,
    range_text,
    source_of,
)
from audit.dependencies.parse import RequirementLine
from audit.dependencies.solve import involved, satisfiable_texts
from audit.dependencies.variants import FAMILIES, Family, VariantsSeen
from audit.model import Finding

__all__ = ["compromised_findings", "conflict_findings", "variant_findings"]


@dataclass(frozen=True)
class _Demand:
    """Represents what one enabled pack asks of one distribution: its lines that apply."""

    pack: PackRequirements
    lines: tuple[RequirementLine, ...]

    @property
    def ranges(self) -> list[str]:
        return [line.specifier_text for line in self.lines if line.specifier is not None]

    def describe(self) -> str:
        return f"{label(self.pack)} wants {range_text(self.lines)}"


def conflict_findings(
    host: str, judged: Sequence[Judged], involving: tuple[str, str | None] | None = None
) -> Iterator[Finding]:
    """Yield ``dependency.conflict`` findings, by distribution name, one per pack involved.

    Only enabled packs take part, with the lines whose markers hold; a line whose marker cannot
    be judged, and a line without a range, constrain nothing. A pack whose own lines admit no
    version (``numpy>=2`` and ``numpy<1``) is a conflict of that pack alone, and is then left out
    of the others'. Among the rest, the packs involved are those in a pair that admits no
    version; when no pair does but all of them together do not either, all of them.

    :param involving: a pack's ``(node_id, version)``: only the conflicts it takes part in
        (a candidate's, for the advisor; the others' messages are never written).
    """
    by_name = _by_name(judged if involving is None else _over_names_of(judged, involving))
    for name in sorted(by_name):
        groups = by_name[name].values()
        if _agreeing(frozenset(tuple(map(_range, g)) for g in groups)):
            continue
        demands = [_Demand(g[0].pack, tuple(_requirements(g))) for g in groups]
        if involving is not None and not any(_of(d, involving) for d in demands):
            continue  # NOTE: a conflict over this name cannot involve that pack.
        consistent = []
        for demand in (d for d in demands if d.ranges):
            if not satisfiable_texts(demand.ranges):
                yield from _conflict(host, name, [demand], involving)
            else:
                consistent.append(demand)
        if len(consistent) > 1 and not satisfiable_texts(r for d in consistent for r in d.ranges):
            yield from _conflict(host, name, _involved(consistent), involving)


def _by_name(judged: Sequence[Judged]) -> dict[NormalizedName, dict[int, list[Judged]]]:
    """The enabled packs' lines that apply, by distribution, then by pack."""
    lines: dict[NormalizedName, dict[int, list[Judged]]] = {}
    for j in judged:
        line = j.requirement
        if j.enabled and line is not None and line.distribution is not None:
            lines.setdefault(line.distribution, {}).setdefault(j.index, []).append(j)
    return lines


def _range(judged: Judged) -> str | None:
    line = judged.line
    return line.specifier_text if isinstance(line, RequirementLine) and line.specifier else None


# NOTE: a fleet's hosts ask the same few questions: decided once per distinct set of ranges.
@functools.lru_cache(maxsize=1 << 14)
def _agreeing(packs: frozenset[tuple[str | None, ...]]) -> bool:
    """Whether packs asking these ranges (one tuple per pack, ``None`` for a line without
    one) are in no conflict: each pack's own ranges, and all of them together, admit a
    version."""
    asked = [tuple(r for r in ranges if r is not None) for ranges in packs]
    return all(map(satisfiable_texts, asked)) and satisfiable_texts(r for a in asked for r in a)


def _over_names_of(judged: Sequence[Judged], pack: tuple[str, str | None]) -> list[Judged]:
    """The lines over the distributions that ``pack`` requires: a conflict is over one."""
    names = {
        j.requirement.distribution
        for j in judged
        if j.requirement is not None and (j.pack.entry.node_id, j.pack.entry.version) == pack
    }
    return [j for j in judged if j.requirement is not None and j.requirement.distribution in names]


def _requirements(group: Sequence[Judged]) -> Iterator[RequirementLine]:
    return (j.line for j in group if isinstance(j.line, RequirementLine))


def _involved(demands: Sequence[_Demand]) -> list[_Demand]:
    return [demands[i] for i in involved([d.ranges for d in demands])]


def _of(demand: _Demand, pack: tuple[str, str | None]) -> bool:
    return (demand.pack.entry.node_id, demand.pack.entry.version) == pack


def _conflict(
    host: str, name: str, involved: Sequence[_Demand], involving: tuple[str, str | None] | None
) -> Iterator[Finding]:
    if involving is not None and not any(_of(d, involving) for d in involved):
        return
    described = [d.describe() for d in involved]
    # NOTE: named in one order whatever order the packs were listed in, so a scan and its
    # snapshot say the same.
    named = sorted(described, key=str.casefold)
    if len(involved) == 1:
        message = f"{name}: no version satisfies the pack's own range: {named[0]}"
    else:
        message = f"{name}: no version satisfies every pack: " + ", ".join(named)
    for demand, text in zip(involved, described, strict=True):
        others = "; ".join(n for n in named if n != text) or "no version"
        yield pack_finding(
            host,
            demand.pack,
            "dependency.conflict",
            message,
            source_of(demand.lines),
            range_text(demand.lines),
            others,
        )


def variant_findings(
    host: str, judged: Sequence[Judged], installed: Installed | None
) -> Iterator[Finding]:
    """Yield ``dependency.variant-clash`` findings, family by family.

    A family clashes when two of its members are seen on the host, installed or required by
    enabled packs (with markers that hold). Each enabled pack requiring a member gets one finding,
    since changing its requirement is the fix; when no pack requires one, the host gets one
    finding (no ``node_id``). Each message lists every member seen and where.
    """
    for family in FAMILIES:
        seen, requirers = _seen(family, judged, installed)
        if not seen.clash:
            continue
        expected = "one of " + ", ".join(family.members)
        actual = ", ".join(seen.members)
        if not requirers:
            severity = DEPENDENCY_CHECKS["dependency.variant-clash"]
            yield host_finding(
                host, "dependency.variant-clash", severity, seen.describe(), expected, actual
            )
        for pack, lines in requirers.values():
            yield pack_finding(
                host,
                pack,
                "dependency.variant-clash",
                seen.describe(),
                source_of(lines),
                expected,
                actual,
            )


def _seen(
    family: Family, judged: Sequence[Judged], installed: Installed | None
) -> tuple[VariantsSeen, dict[int, tuple[PackRequirements, list[RequirementLine]]]]:
    members = set(family.members)
    found = {m: installed[m][1] for m in family.members if installed and m in installed}
    required: dict[NormalizedName, list[str]] = {}
    requirers: dict[int, tuple[PackRequirements, list[RequirementLine]]] = {}
    for j in judged:
        line = j.requirement
        if not j.enabled or line is None or line.distribution not in members:
            continue
        packs = required.setdefault(line.distribution, [])
        if label(j.pack) not in packs:
            packs.append(label(j.pack))
        requirers.setdefault(j.index, (j.pack, []))[1].append(line)
    return VariantsSeen(family, found, required), requirers


def compromised_findings(
    host: str, judged: Sequence[Judged], installed: Installed | None
) -> Iterator[Finding]:
    """Yield a ``dependency.compromised`` finding for each installed compromised release (no
    ``node_id``: it belongs to no pack), by name, then one for each pack that pins that release
    (or requires the distribution at all, when every release of it is malicious)."""
    for name in sorted(installed or {}):
        written, version = (installed or {})[name]
        release = is_compromised(name, version)
        if release is None:
            continue
        yield _installed_compromised(host, judged, written, version, release)
        pinned: set[int] = set()
        for j in judged:
            line = j.requirement
            if line is None or line.distribution != name or j.index in pinned:
                continue
            if _pins(line, release, version):
                pinned.add(j.index)
                yield _pinned_compromised(host, j.pack, line, release)


def _installed_compromised(
    host: str,
    judged: Sequence[Judged],
    written: str,
    version: str | None,
    release: CompromisedRelease,
) -> Finding:
    shown = written if version is None else f"{written} {version}"
    requirers = dict.fromkeys(
        label(j.pack)
        for j in judged
        if j.requirement is not None and j.requirement.distribution == release.distribution
    )
    required = f"; required by {', '.join(requirers)}" if requirers else ""
    message = (
        f"{shown} is installed and is a known-compromised release: {release.summary} "
        f"(see {release.sources[0]}){required}"
    )
    severity = DEPENDENCY_CHECKS["dependency.compromised"]
    expected = "no known-compromised release"
    return host_finding(host, "dependency.compromised", severity, message, expected, shown)


def _pins(line: RequirementLine, release: CompromisedRelease, version: str | None) -> bool:
    if release.versions is None:
        return True
    exact = [s for s in line.specifier or () if s.operator in ("==", "===")]
    return version is not None and any(
        not s.version.endswith(".*") and s.contains(version, prereleases=True) for s in exact
    )


def _pinned_compromised(
    host: str, pack: PackRequirements, line: RequirementLine, release: CompromisedRelease
) -> Finding:
    wanted = f"{release.distribution}{line.specifier or ''}"
    message = (
        f"the pack requires {wanted}, a known-compromised release installed here: "
        f"{release.summary} (see {release.sources[0]})"
    )
    return pack_finding(
        host,
        pack,
        "dependency.compromised",
        message,
        source_of([line]),
        "no known-compromised release",
        wanted,
    )

"""The vulnerability stage: every host's installed distributions against known advisories."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import astuple, dataclass
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from audit.model import Environment, Finding, FindingSource, RequirementRow, Severity
from audit.vulnerabilities.advisory import release_of
from audit.vulnerabilities.interface import (
    VULNERABILITY_CHECKS,
    Candidates,
    DistributionAdvice,
    Pair,
    VulnerabilityAudit,
    VulnerabilityRow,
    VulnerabilitySource,
)
from audit.vulnerabilities.merge import Vulnerability, group_aliases, merge

__all__ = ["audit_vulnerabilities", "installed_pairs"]

Progress = Callable[[str, int, int], None]
#: A `VulnerabilityRow`'s fields between ``host`` and ``required_by``.
_RowFields = tuple[str, str, str, tuple[str, ...], Severity, float | None, str | None, str]
#: A `Finding`'s fields after ``host``.
_FindingFields = tuple[None, None, str, Severity, str, FindingSource, str | None, str]


@dataclass(frozen=True)
class _Installed:
    """One installed distribution of one host."""

    distribution: str
    """Canonical."""
    written: str
    """The installed version as the environment gives it (``2.5.1+cu124``)."""
    release: Version
    pair: Pair
    """What is asked for: ``(distribution, str(release))``."""


def installed_pairs(environments: Mapping[str, Environment]) -> dict[str, list[_Installed]]:
    """Each host's installed distributions that have a readable version, by host."""
    hosts: dict[str, list[_Installed]] = {}
    seen: dict[tuple[str, str], _Installed | None] = {}
    for host, env in environments.items():
        mine = hosts.setdefault(host, [])
        for name, written in (env.installed or {}).items():
            if written is None:
                continue
            if (name, written) not in seen:
                seen[name, written] = _installed(name, written)
            item = seen[name, written]
            if item is not None:
                mine.append(item)
        mine.sort(key=lambda i: i.distribution)
    return hosts


def _installed(name: str, written: str) -> _Installed | None:
    release = release_of(written)
    if release is None:
        return None
    canonical = canonicalize_name(name)
    return _Installed(canonical, written, release, (canonical, str(release)))


def audit_vulnerabilities(
    source: VulnerabilitySource | None,
    environments: Mapping[str, Environment],
    requirements: Sequence[RequirementRow],
    progress: Progress | None = None,
) -> VulnerabilityAudit:
    """Check every host's installed distributions against ``source`` (``None``: no check).

    Each distinct (distribution, release) is asked for and matched once, however many hosts
    have it. One finding per host, distribution and vulnerability: ``vulnerability.known``, or
    ``dependency.compromised`` for a malicious-package (``MAL-``) record; one
    ``vulnerability.lookup-failed`` per host whose lookups did not all succeed.
    """
    if source is None:
        return VulnerabilityAudit()
    hosts = installed_pairs(environments)
    pairs = list(dict.fromkeys(i.pair for m in hosts.values() for i in m))
    if progress:
        progress("vulnerabilities", 0, len(pairs))
    answer = source.candidates(pairs) if pairs else Candidates({})
    if progress:
        progress("vulnerabilities", len(pairs), len(pairs))
    fan_out = _FanOut(answer)
    required = _required_by(requirements)
    findings: list[Finding] = []
    rows: list[VulnerabilityRow] = []
    advice: list[DistributionAdvice] = []
    for host, installed in hosts.items():
        failed = [i for i in installed if i.pair in answer.failed]
        findings += _lookup_failed(host, failed, answer.failed, source.name)
        for item in installed:
            needs = tuple(required.get((host, item.distribution), ()))
            required_by = tuple(sorted({pack for pack, _ in needs}))
            for row, finding in fan_out.reports(item):
                rows.append(VulnerabilityRow(host, *row, required_by))
                findings.append(Finding(host, *finding, vuln_id=row[2]))
            advice += fan_out.advice(host, item, needs)
    return VulnerabilityAudit(tuple(findings), tuple(rows), tuple(advice))


class _FanOut:
    """Matches, merges and words each distinct installed version once and gives the result to
    every host that has it, so a fleet costs distinct versions, not hosts."""

    def __init__(self, answer: Candidates) -> None:
        self._answer = answer
        self._found: dict[Pair, tuple[Vulnerability, ...]] = {}
        self._reports: dict[tuple[str, str], list[tuple[_RowFields, _FindingFields]]] = {}
        self._advice: dict[tuple[object, ...], tuple[tuple[Any, ...], ...]] = {}

    def found(self, item: _Installed) -> tuple[Vulnerability, ...]:
        if item.pair not in self._found:
            self._found[item.pair] = _vulnerabilities(self._answer, item.pair)
        return self._found[item.pair]

    def reports(self, item: _Installed) -> list[tuple[_RowFields, _FindingFields]]:
        """The fields of each row and finding of ``item`` but the host (and ``required_by``)."""
        key = (item.distribution, item.written)
        if key not in self._reports:
            self._reports[key] = [_report(item, v) for v in self.found(item)]
        return self._reports[key]

    def advice(
        self, host: str, item: _Installed, needs: tuple[tuple[str, str | None], ...]
    ) -> list[DistributionAdvice]:
        if not self.found(item):
            return []
        key = (item.distribution, item.written, needs)
        if key not in self._advice:
            made = _advice("", item, self.found(item), needs)
            self._advice[key] = tuple(astuple(a)[1:] for a in made)
        return [DistributionAdvice(host, *fields) for fields in self._advice[key]]


def _vulnerabilities(answer: Candidates, pair: Pair) -> tuple[Vulnerability, ...]:
    name, version = pair
    release = Version(version)
    hits = [a for a in answer.advisories.get(pair, ()) if a.matches(name, release)]
    merged = (merge(group, name) for group in group_aliases(hits))
    return tuple(sorted(merged, key=lambda v: v.vuln_id))


def _required_by(
    requirements: Sequence[RequirementRow],
) -> dict[tuple[str, str], list[tuple[str, str | None]]]:
    """``(host, distribution)`` → the ``(pack, specifier)`` of each requirement naming it."""
    found: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
    for row in requirements:
        if row.distribution is not None:
            pack = row.node_id if row.version is None else f"{row.node_id} {row.version}"
            found.setdefault((row.host, row.distribution), []).append((pack, row.specifier))
    return found


def _report(item: _Installed, vulnerability: Vulnerability) -> tuple[_RowFields, _FindingFields]:
    """The fields of a `VulnerabilityRow` between ``host`` and ``required_by``, and of its
    `Finding` after ``host``."""
    fixed = vulnerability.fixed_above(item.release)
    fixed_in = None if fixed is None else str(fixed)
    ids = ", ".join((vulnerability.vuln_id, *vulnerability.aliases))
    fix = f"; fixed in {fixed_in}" if fixed_in else "; no fixed version known"
    if vulnerability.malicious:
        check, what, fix = "dependency.compromised", "is a known malicious release", ""
    else:
        check, what = "vulnerability.known", "has a known vulnerability"
    score = "" if vulnerability.score is None else f" (CVSS {vulnerability.score:.1f})"
    summary = vulnerability.summary.rstrip(".") or "no summary"
    message = f"{item.distribution} {item.written} {what}: {ids}{score}: {summary}{fix}"
    row: _RowFields = (
        item.distribution,
        item.written,
        vulnerability.vuln_id,
        vulnerability.aliases,
        vulnerability.severity,
        vulnerability.score,
        fixed_in,
        vulnerability.summary,
    )
    severity = vulnerability.severity
    return row, (None, None, check, severity, message, FindingSource.OSV, fixed_in, item.written)


def _lookup_failed(
    host: str, failed: Sequence[_Installed], reasons: Mapping[Pair, str], source: str
) -> Iterator[Finding]:
    if not failed:
        return
    first = failed[0]
    reason = reasons[first.pair]
    names = ", ".join(i.distribution for i in failed[:5]) + (", …" if len(failed) > 5 else "")
    message = (
        f"vulnerability lookup in {source} failed for {len(failed)} installed "
        f"distribution{'s' if len(failed) > 1 else ''} ({names}): {reason}"
    )
    severity = VULNERABILITY_CHECKS["vulnerability.lookup-failed"]
    yield Finding(
        host, None, None, "vulnerability.lookup-failed", severity, message, FindingSource.OSV
    )


def _advice(
    host: str,
    item: _Installed,
    found: Sequence[Vulnerability],
    needs: Sequence[tuple[str, str | None]],
) -> Iterator[DistributionAdvice]:
    """Upgrade advice for one vulnerable distribution: the lowest version at or above every
    nearest fix that every pack's requirement admits (the fix itself, or a lower bound a pack
    names above it), else the packs that admit none of those versions."""
    fixes = [f for v in found if not v.malicious and (f := v.fixed_above(item.release))]
    if not fixes:
        return
    target = max(fixes)
    specs = [(pack, spec) for pack, spec in needs if spec and _specifier(spec) is not None]
    candidates = sorted({target, *(b for _, spec in specs for b in _bounds(spec, target))})
    fitting = [c for c in candidates if all(_allows(spec, c) for _, spec in specs)]
    blocked = () if fitting else _holding_back(item.distribution, specs, candidates)
    yield DistributionAdvice(
        host=host,
        distribution=item.distribution,
        version=item.written,
        recommended_version=str(fitting[0]) if fitting else None,
        clears=("vulnerability.known",) if fitting else (),
        blocked_by=blocked,
    )


def _holding_back(
    distribution: str, specs: Sequence[tuple[str, str]], candidates: list[Version]
) -> tuple[str, ...]:
    """The packs that admit none of ``candidates``; when each admits one but not together, the
    packs that cap the version below the highest."""
    none = [(p, s) for p, s in specs if not any(_allows(s, c) for c in candidates)]
    chosen = none or [(p, s) for p, s in specs if not _allows(s, candidates[-1])]
    return tuple(dict.fromkeys(f"{pack} requires {distribution}{spec}" for pack, spec in chosen))


def _specifier(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def _bounds(text: str, floor: Version) -> Iterator[Version]:
    """The versions a specifier names as a lowest admitted version, at or above ``floor``."""
    for spec in _specifier(text) or ():
        bound = release_of(spec.version) if spec.operator in (">=", "==", "~=") else None
        if bound is not None and bound >= floor and not spec.version.endswith(".*"):
            yield bound


def _allows(text: str, version: Version) -> bool:
    specifier = _specifier(text)
    return specifier is None or specifier.contains(version, prereleases=True)

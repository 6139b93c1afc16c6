"""The vulnerability stage: every host's installed distributions against known advisories."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from audit.model import Environment, Finding, FindingSource, RequirementRow
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


@dataclass(frozen=True)
class _Installed:
    """One installed distribution of one host."""

    distribution: str
    """Canonical."""
    written: str
    """The installed version as the environment gives it (``2.5.1+cu124``)."""
    release: Version


def installed_pairs(environments: Mapping[str, Environment]) -> dict[str, list[_Installed]]:
    """Each host's installed distributions that have a readable version, by host."""
    hosts: dict[str, list[_Installed]] = {}
    for host, env in environments.items():
        mine = hosts.setdefault(host, [])
        for name, written in (env.installed or {}).items():
            release = release_of(written) if written else None
            if written is not None and release is not None:
                mine.append(_Installed(canonicalize_name(name), written, release))
        mine.sort(key=lambda i: i.distribution)
    return hosts


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
    pairs = list(dict.fromkeys((i.distribution, str(i.release)) for m in hosts.values() for i in m))
    if progress:
        progress("vulnerabilities", 0, len(pairs))
    answer = source.candidates(pairs) if pairs else Candidates({})
    if progress:
        progress("vulnerabilities", len(pairs), len(pairs))
    matched = {pair: _vulnerabilities(answer, pair) for pair in pairs}
    required = _required_by(requirements)
    findings: list[Finding] = []
    rows: list[VulnerabilityRow] = []
    advice: list[DistributionAdvice] = []
    for host, installed in hosts.items():
        failed = [i for i in installed if (i.distribution, str(i.release)) in answer.failed]
        findings += _lookup_failed(host, failed, answer.failed, source.name)
        for item in installed:
            found = matched[(item.distribution, str(item.release))]
            needs = required.get((host, item.distribution), ())
            for vulnerability in found:
                row = _row(host, item, vulnerability, tuple(sorted({p for p, _ in needs})))
                rows.append(row)
                findings.append(_finding(row, vulnerability))
            advice += _advice(host, item, found, needs)
    return VulnerabilityAudit(tuple(findings), tuple(rows), tuple(advice))


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


def _row(
    host: str, item: _Installed, vulnerability: Vulnerability, required_by: tuple[str, ...]
) -> VulnerabilityRow:
    fixed = vulnerability.fixed_above(item.release)
    return VulnerabilityRow(
        host=host,
        distribution=item.distribution,
        installed_version=item.written,
        vuln_id=vulnerability.vuln_id,
        aliases=vulnerability.aliases,
        severity=vulnerability.severity,
        score=vulnerability.score,
        fixed_in=None if fixed is None else str(fixed),
        summary=vulnerability.summary,
        required_by=required_by,
    )


def _finding(row: VulnerabilityRow, vulnerability: Vulnerability) -> Finding:
    ids = ", ".join((row.vuln_id, *row.aliases))
    shown = f"{row.distribution} {row.installed_version}"
    fix = f"; fixed in {row.fixed_in}" if row.fixed_in else "; no fixed version known"
    if vulnerability.malicious:
        check, what, fix = "dependency.compromised", "is a known malicious release", ""
    else:
        check, what = "vulnerability.known", "has a known vulnerability"
    score = "" if row.score is None else f" (CVSS {row.score:.1f})"
    summary = row.summary.rstrip(".") or "no summary"
    message = f"{shown} {what}: {ids}{score}: {summary}{fix}"
    return Finding(
        row.host,
        None,
        None,
        check,
        row.severity,
        message,
        FindingSource.OSV,
        expected=row.fixed_in,
        actual=row.installed_version,
    )


def _lookup_failed(
    host: str, failed: Sequence[_Installed], reasons: Mapping[Pair, str], source: str
) -> Iterator[Finding]:
    if not failed:
        return
    first = failed[0]
    reason = reasons[(first.distribution, str(first.release))]
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

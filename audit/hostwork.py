"""How a run's work is spread over its hosts: each distinct pack evaluated once and fanned
out, pip requirements audited host by host, dependency findings attached to their packs, and
advice put back in run order."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter

from audit import checks
from audit.advisor import Recommendation
from audit.checks.pack import node_id_of
from audit.dependencies import PackRequirements
from audit.dependencies.shared import SharedAudits
from audit.model import (
    AuditedEntry,
    Environment,
    Finding,
    Found,
    LookupResult,
    ManifestEntry,
    NodeAnswer,
    NodeKey,
    RequirementRows,
)
from audit.model.tagging import on_host, replaced

__all__ = [
    "Evaluator",
    "HostsDependencies",
    "Progress",
    "attach",
    "dependency_audits",
    "entries_by_host",
    "entry_positions",
    "grouped",
    "host_packs",
    "in_run_order",
    "no_progress",
    "positioned",
]

Progress = Callable[[str, int, int], None]
"""Told ``(stage, done, total)`` as the audit goes: ``lookup``, ``checks``, ``dependencies``."""


def no_progress(stage: str, done: int, total: int) -> None:
    """Report nothing."""


def entries_by_host(
    entries: Iterable[ManifestEntry], hosts: Iterable[str]
) -> dict[str, list[ManifestEntry]]:
    """The entries of each of ``hosts``, in run order."""
    by_host: dict[str, list[ManifestEntry]] = {host: [] for host in hosts}
    for entry in entries:
        by_host[entry.host].append(entry)
    return by_host


def host_packs(
    entries: Iterable[ManifestEntry], results: Mapping[NodeKey, LookupResult]
) -> list[PackRequirements]:
    """The packs of ``entries`` (one host's) with the requirements the registry gives them."""
    packs = []
    for entry in entries:
        result = results[key] if (key := entry.key) is not None else None
        registry = result.node_version.dependencies if isinstance(result, Found) else None
        packs.append(PackRequirements(entry, registry))
    return packs


@dataclass(frozen=True)
class HostsDependencies:
    """Represents the dependency audits of some hosts: their findings and requirement rows, in
    host order."""

    findings: tuple[Finding, ...]
    requirements: RequirementRows


def dependency_audits(
    hosts: Iterable[str],
    packs: Mapping[str, Sequence[PackRequirements]],
    environments: Mapping[str, Environment],
    progress: Progress = no_progress,
    done_before: int = 0,
    audit_host: SharedAudits | None = None,
) -> HostsDependencies:
    """Audit each of ``hosts``' pip requirements against that host's installed packages.

    :param audit_host: audits hosts once per distinct set of packs and environment; one for
        these hosts alone when not given.
    """
    audits, audit_host = [], audit_host or SharedAudits()
    for done, host in enumerate(hosts, done_before + 1):
        audits.append(audit_host(host, packs[host], environments[host]))
        progress("dependencies", done, len(environments))
    return HostsDependencies(
        tuple(f for a in audits for f in a.findings),
        RequirementRows.joined(a.requirements for a in audits),
    )


def grouped(hosts: Iterable[str], environments: Mapping[str, Environment]) -> list[str]:
    """``hosts``, those with equal environments next to each other: a part of a fleet then holds
    whole groups, and the judgements its hosts share are made once in one process."""
    groups: dict[object, list[str]] = {}
    for host in hosts:
        env = environments[host]
        # NOTE: the same packages listed in another order make another group; that costs time
        # only, and is cheaper than sorting them.
        installed = None if env.installed is None else (*env.installed, *env.installed.values())
        key = (checks.environment_facts(env), env.python_version, env.installed_partial, installed)
        groups.setdefault(key, []).append(host)
    return [host for group in groups.values() for host in group]


def entry_positions(audited: Iterable[AuditedEntry]) -> dict[str, list[int]]:
    """The positions of each host's entries among ``audited``, by host."""
    positions: dict[str, list[int]] = {}
    for n, a in enumerate(audited):
        positions.setdefault(a.entry.host, []).append(n)
    return positions


def positioned(
    audited: Sequence[AuditedEntry],
    positions: Sequence[int],
    recommendations: Iterable[Recommendation],
) -> list[tuple[int, Recommendation]]:
    """Each of ``recommendations`` with the position in the run of the entry of ``audited`` it
    is about; ``positions`` are those of ``audited``'s entries."""
    # NOTE: read backwards, an entry's first position is the one kept.
    position = dict(zip(map(_entry_key, reversed(audited)), reversed(positions), strict=True))
    return [(position[_advised_key(r)], r) for r in recommendations]


def in_run_order(
    recommendations: Iterable[tuple[int, Recommendation]],
) -> tuple[Recommendation, ...]:
    """The `positioned` ``recommendations`` in the order of the entries they are about (hosts'
    advice comes in parts; a CSV manifest may interleave its hosts)."""
    # NOTE: each part comes in run order already: sorting them is merging them.
    return tuple(r for _, r in sorted(recommendations, key=itemgetter(0)))


def attach(
    audited: Sequence[AuditedEntry], findings: Iterable[Finding]
) -> tuple[AuditedEntry, ...]:
    """Add each pack's dependency findings to its entry, so its row counts them."""
    extra: dict[object, list[Finding]] = {}
    for f in findings:
        extra.setdefault(_finding_key(f), []).append(f)
    attached = []
    for a in audited:
        mine = extra.pop(_entry_key(a), None)
        attached.append(replaced(a, findings=(*a.findings, *mine)) if mine else a)
    return tuple(attached)


# NOTE: what ties a finding or a recommendation to its entry, read in C: a fleet has 100,000s.
_entry_key = attrgetter("entry.host", "entry.node_id", "entry.version")
_finding_key = _advised_key = attrgetter("host", "node_id", "version")


class Evaluator:
    """Evaluates the checks once per distinct (pack, registry answer, environment) and fans the
    result out to every host that has that pack, so a fleet costs distinct pairs, not hosts."""

    def __init__(
        self, results: Mapping[NodeKey, LookupResult], nodes: Mapping[str, NodeAnswer]
    ) -> None:
        self._results = results
        self._nodes = nodes
        self._seen: dict[object, checks.Evaluation] = {}

    def __call__(self, entry: ManifestEntry, env: Environment) -> AuditedEntry:
        result = self._results[lookup] if (lookup := entry.key) is not None else None
        node_id = node_id_of(entry)
        node = self._nodes.get(node_id.lower()) if node_id is not None else None
        key = checks.evaluation_key(entry, result, env, node)
        evaluation = self._seen.get(key)
        if evaluation is None:
            evaluation = self._seen[key] = checks.evaluate(entry, result, env, node)
        findings = on_host(evaluation.findings, entry.host)
        return AuditedEntry(
            entry,
            result,
            findings,
            evaluation.compatible_now,
            evaluation.compatible_after_upgrade,
            node,
        )

"""The orchestrator: manifests → registry lookup → checks → one AuditRun."""

from __future__ import annotations

import functools
import math
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from audit import checks
from audit.advisor import CandidateJudge, Recommendation, recommend
from audit.checks.imports import import_findings
from audit.checks.pack import pack_ids
from audit.dependencies.shared import SharedAudits
from audit.environment import override
from audit.errors import ExitCode
from audit.hostwork import (
    Evaluator,
    HostsDependencies,
    Progress,
    attach,
    dependency_audits,
    entries_by_host,
    entry_positions,
    grouped,
    host_packs,
    in_run_order,
    no_progress,
    positioned,
)
from audit.model import (
    AuditedEntry,
    AuditRun,
    Environment,
    Finding,
    LookupResult,
    Manifest,
    ManifestEntry,
    NodeAnswer,
    NodeKey,
    RequirementRows,
    Severity,
)
from audit.parallel import Pending, held_bytes, in_chunks, in_chunks_later, only_here
from audit.policy import Policy
from audit.registry import NodeLookup, Registry, VersionLister
from audit.registry.interface import InMemory
from audit.registry.padded import lookup_padded
from audit.versions import parse_local_version
from audit.vulnerabilities import VulnerabilitySource, audit_vulnerabilities

if TYPE_CHECKING:  # NOTE: a baseline reads Parquet; only runs with --baseline load pyarrow.
    from audit.baseline import Baseline
    from audit.workflows.audit import WorkflowAudit

__all__ = [
    "INCOMPLETE_CHECKS",
    "AuditOptions",
    "Auditor",
    "Progress",
    "exit_code",
    "new_run_id",
]

#: Findings that mean the audit could not finish; they give exit 3, never exit 1.
INCOMPLETE_CHECKS = frozenset(
    {
        "registry.fetch-failed",
        "registry.invalid-response",
        "manifest.unreadable",
        "vulnerability.lookup-failed",
    }
)

_COMMIT = re.compile(r"[0-9a-f]{7,40}")
#: Hosts a forked process must have at least, to be worth its start (`audit.parallel`).
_MIN_HOSTS_PER_PROCESS = 4
#: The parts a run's hosts are cut in for their dependency audits, taken one by one by the two
#: processes: each then ends at most one part after the other.
_DEPENDENCY_CHUNKS = 64
#: The parts a run's hosts are cut in for their advice, taken from either end by the two
#: processes (`audit.parallel.in_chunks_later`).
_ADVICE_CHUNKS = 64
#: The most a run may hold for its advice to go on beside the reports: writing them reads every
#: object of the run, and so writes to every page (reference counts), which the kernel then
#: copies for the child. The two processes hold the run twice: a 5,000-host run holds 1.4 GB.
_BESIDE_REPORTS_MAX_BYTES = 2**30


@dataclass(frozen=True)
class AuditOptions:
    """Represents the settings of one audit."""

    fail_on: Severity | None = Severity.ERROR
    """The lowest severity that fails the run; ``None`` never fails it."""
    installed_is_explicit: bool = False
    """The environment's installed packages came from a profile or ``--python``, so they beat a
    snapshot's ``pips`` (DESIGN.md "Installed packages")."""
    policy: Policy | None = None
    """Severity overrides and waivers; waived findings are reported but never counted."""
    baseline: Baseline | None = None
    """A previous run: each finding is marked ``new`` or ``known``."""
    new_only: bool = False
    """Only new findings fail the run (``--fail-on-new``; needs a baseline)."""
    advice: bool = True
    """Recommend a version to move to for each pack that blocks or is unsafe (needs a lister)."""
    allow_prerelease: bool = False
    """Let the advisor recommend pre-release versions."""


def new_run_id(now: datetime) -> str:
    """Return a run id that sorts by time and differs between runs started in the same second."""
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def exit_code(
    findings: Iterable[Finding], fail_on: Severity | None, *, new_only: bool = False
) -> int:
    """Return the exit code DESIGN.md defines for ``findings``.

    Lookup failures make a run incomplete (3) but never failing (1). Waived findings never
    count. Findings of disabled packs are info and so never reach a threshold above info.
    With ``new_only``, findings a baseline already had do not fail the run (but a lookup that
    failed again still leaves it incomplete).
    """
    failing = incomplete = False
    for finding in findings:
        if finding.waived:
            continue
        if finding.check in INCOMPLETE_CHECKS:
            incomplete = incomplete or finding.severity > Severity.INFO
        elif fail_on is not None and finding.severity >= fail_on:
            failing = failing or not (new_only and finding.baseline == "known")
    code = ExitCode.FAILED if failing else ExitCode.INCOMPLETE if incomplete else ExitCode.CLEAN
    return int(code)


def host_environment(
    manifest: Manifest, base: Environment, *, installed_is_explicit: bool
) -> Environment:
    """Return the environment of ``manifest``'s host: ``base`` plus the facts the manifest holds.

    A snapshot's ``comfyui`` tag (``v0.3.30``) is the installed ComfyUI version unless a flag or
    profile already gave one; a commit says nothing about the version. A snapshot's ``pips`` are
    the installed packages unless a profile or ``--python`` gave them.
    """
    env = base
    tag = manifest.comfyui
    if base.comfyui_version is None and tag is not None and _is_version_tag(tag):
        env = override(env, f"snapshot {manifest.path}", comfyui_version=tag)
    if manifest.pips is not None and not installed_is_explicit:
        env = override(env, f"snapshot {manifest.path} pips", installed=manifest.pips)
        env = replace(env, installed_partial=False)
    return env


def _is_version_tag(tag: str) -> bool:
    return _COMMIT.fullmatch(tag) is None and parse_local_version(tag) is not None


class Auditor:
    """Runs the audit: looks every distinct node@version up once, then checks every entry."""

    def __init__(
        self,
        registry: Registry,
        options: AuditOptions,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        progress: Progress = no_progress,
        lister: VersionLister | None = None,
        nodes: NodeLookup | None = None,
        vulnerabilities: VulnerabilitySource | None = None,
        workflows: WorkflowAudit | None = None,
    ) -> None:
        """:param lister: lists a node's versions for the advisor; without one, no advice.
        :param nodes: answers the packs' Node records; without one, no pack-level checks.
        :param vulnerabilities: where advisories come from; without one, no vulnerability check.
        :param workflows: the workflows to judge on every host (``run --workflow``).
        """
        self._vulnerabilities = vulnerabilities
        self._workflows = workflows
        self._registry = registry
        self._options = options
        self._clock = clock
        self._progress = progress
        self._lister = lister
        self._nodes = nodes

    def run(
        self,
        manifests: Sequence[Manifest],
        environment: Environment,
        run_options: Mapping[str, object],
        profiles: Mapping[str, Environment] | None = None,
    ) -> AuditRun:
        """Audit every entry of ``manifests`` against ``environment``.

        :param profiles: a host's own environment by manifest path (a fleet's ``<stem>.env.json``),
            used instead of ``environment`` for that manifest.
        """
        # NOTE: the run is made in a call of its own, so that what only making it needs (the
        # entries before their dependency findings, the parts' requirement rows, each pack's
        # requirements: 150 MB of a 5,000-host run) is freed before the advice.
        return self._judge(self._audited(manifests, environment, run_options, profiles or {}))

    def _audited(
        self,
        manifests: Sequence[Manifest],
        environment: Environment,
        run_options: Mapping[str, object],
        profiles: Mapping[str, Environment],
    ) -> AuditRun:
        started_at = self._clock()
        environments = self._host_environments(manifests, environment, profiles)
        entries = [e for m in manifests for e in m.entries]
        results, nodes = self._lookups(entries)
        unreadable = [m for m in manifests if m.unreadable]
        # NOTE: a host known only from a file that could not be read has nothing to audit.
        audited_hosts = {h for m in manifests if not m.unreadable for h in m.hosts}
        readable = {h: e for h, e in environments.items() if h in audited_hosts}
        by_host = entries_by_host(entries, readable)
        # NOTE: the dependency audit reads the registry's answers, not the checks': a child
        # audits hosts while this process runs the checks, and then audits hosts too.
        audited, audits = in_chunks(
            self._dependency_audit(by_host, results, readable),
            list(readable),
            max(_MIN_HOSTS_PER_PROCESS, math.ceil(len(readable) / _DEPENDENCY_CHUNKS)),
            lambda: self._checked(entries, Evaluator(results, nodes), environments),
        )
        found = tuple(f for a in audits for f in a.findings)
        extra = [f for f in found if f.node_id]
        attached = attach(audited, [*extra, *(f for m in manifests for f in import_findings(m))])
        host_findings = (
            *(checks.registry.check_unreadable(m) for m in unreadable),
            *(f for f in found if f.node_id is None),
        )
        requirements = RequirementRows.joined([a.requirements for a in audits])
        vulns = audit_vulnerabilities(self._vulnerabilities, readable, requirements, self._progress)
        workflow_rows, workflow_findings = (
            self._workflows.judge(attached, readable, nodes) if self._workflows else ((), ())
        )
        return AuditRun(
            run_id=new_run_id(started_at),
            started_at=started_at,
            finished_at=self._clock(),
            environment=environment,
            host_environments=environments,
            entries=attached,
            host_findings=host_findings + vulns.findings + workflow_findings,
            options=run_options,
            exit_code=0,
            requirements=requirements,
            vulnerabilities=vulns.rows,
            upgrades=vulns.advice,
            workflows=workflow_rows,
        )

    def _judge(self, run: AuditRun) -> AuditRun:
        """Apply the policy, then the baseline (so expiry warnings are marked too), then the
        exit code, which depends on both."""
        options = self._options
        if options.policy is not None:
            run = options.policy.apply_to_run(run, run.started_at.astimezone().date())
        if options.baseline is not None:
            run = options.baseline.mark_run(run)
        # NOTE: the advice first: a child makes most of it while this process goes on.
        recommendations = self._advise(run)
        code = exit_code(run.findings, options.fail_on, new_only=options.new_only)
        return replace(run, exit_code=code, recommendations=recommendations)

    def _advise(self, run: AuditRun) -> Sequence[Recommendation]:
        lister = self._lister
        if lister is None or not self._options.advice:
            return ()
        # NOTE: a lister that asks nothing of files or the network can answer in a forked child,
        # so hosts are advised there too: each host's advice depends on that host alone. The
        # child begins at once; while the run is small, this process goes on meanwhile, and
        # advises the hosts the child has not come to when the advice is first read.
        hosts = grouped(dict.fromkeys(a.entry.host for a in run.entries), run.host_environments)
        in_memory = isinstance(lister, InMemory)
        parts = _ADVICE_CHUNKS if in_memory else 1
        chunk = max(_MIN_HOSTS_PER_PROCESS, math.ceil(len(hosts) / parts))
        # NOTE: the judge is made before the fork, so that both processes start from its indexes.
        positions, judge = entry_positions(run.entries), CandidateJudge(run.entries)
        advise = functools.partial(self._recommend, lister, run, positions, judge)
        advised = in_chunks_later(advise, hosts, chunk)
        advice = Pending(lambda: in_run_order(r for part in advised.results() for r in part))
        beside_reports = in_memory and held_bytes() <= _BESIDE_REPORTS_MAX_BYTES
        return advice if beside_reports else advice[:]

    def _recommend(
        self,
        lister: VersionLister,
        run: AuditRun,
        positions: Mapping[str, Sequence[int]],
        judge: CandidateJudge,
        hosts: Sequence[str],
    ) -> list[tuple[int, Recommendation]]:
        """The recommendations for the entries of ``hosts``, each with its entry's position;
        ``positions`` are every host's entries' positions in the run."""
        at = sorted(n for host in hosts for n in positions[host])
        audited = [run.entries[n] for n in at]
        # NOTE: a mirror lists every version at no cost: settling packs by their newest version
        # (`recommend`'s ``newest``) saves requests, and only costs judgements there.
        newest = self._nodes is not None and not isinstance(lister, InMemory)
        # NOTE: the policy speaks about what is installed: candidates are judged without it.
        recommendations = recommend(
            lister,
            audited,
            run.host_environments,
            allow_prerelease=self._options.allow_prerelease,
            newest=self._registry.lookup if newest else None,
            judge=judge,
        )
        return positioned(audited, at, recommendations)

    def _host_environments(
        self,
        manifests: Sequence[Manifest],
        environment: Environment,
        profiles: Mapping[str, Environment],
    ) -> dict[str, Environment]:
        """Return each host's environment; a CSV's host column can put several in one file."""
        environments: dict[str, Environment] = {}
        for manifest in manifests:
            profile = profiles.get(manifest.path)
            # A host's own profile is its --env-profile: what it says is installed wins.
            base, explicit = (
                (profile, profile.installed is not None)
                if profile is not None
                else (environment, self._options.installed_is_explicit)
            )
            env = host_environment(manifest, base, installed_is_explicit=explicit)
            for host in manifest.hosts:
                environments.setdefault(host, env)
        return environments

    def _lookups(
        self, entries: Sequence[ManifestEntry]
    ) -> tuple[Mapping[NodeKey, LookupResult], Mapping[str, NodeAnswer]]:
        """The registry's answers and the packs' Node answers, asked at the same time: neither
        needs the other, so the run waits for the slower, not for both."""
        with ThreadPoolExecutor(1, thread_name_prefix="nodes") as pool:
            nodes = pool.submit(self._lookup_nodes, entries)
            return self._lookup(entries), nodes.result()

    def _lookup(self, entries: Iterable[ManifestEntry]) -> Mapping[NodeKey, LookupResult]:
        keys = [key for key in dict.fromkeys(e.key for e in entries) if key is not None]
        self._progress("lookup", 0, len(keys))
        results = lookup_padded(self._registry, keys) if keys else {}
        self._progress("lookup", len(keys), len(keys))
        return results

    def _lookup_nodes(self, entries: Iterable[ManifestEntry]) -> Mapping[str, NodeAnswer]:
        """The Node answer of every distinct pack id (lower-cased), asked once per run: the
        entries' packs and the packs the workflows name, installed or not."""
        ids = pack_ids(entries, self._workflows.packs if self._workflows else ())
        if self._nodes is None or not ids:
            return {}
        answers = self._nodes.lookup_nodes(ids)
        return {node_id.lower(): answer for node_id, answer in answers.items()}

    def _dependency_audit(
        self,
        entries: Mapping[str, Sequence[ManifestEntry]],
        results: Mapping[NodeKey, LookupResult],
        environments: Mapping[str, Environment],
    ) -> Callable[[Sequence[str]], HostsDependencies]:
        """What audits the dependencies of a part of ``environments``' hosts, whose ``entries``
        are given by host: an audit shared with a part before, in the same process, is made
        once. Each host's packs are made in the part, by whichever process takes it."""
        position = {host: n for n, host in enumerate(environments)}
        progress, audit_host = only_here(self._progress), SharedAudits()

        def audit(hosts: Sequence[str]) -> HostsDependencies:
            done = position[hosts[0]]
            packs = {host: host_packs(entries[host], results) for host in hosts}
            return dependency_audits(hosts, packs, environments, progress, done, audit_host)

        return audit

    def _checked(
        self,
        entries: Sequence[ManifestEntry],
        evaluate: Evaluator,
        environments: Mapping[str, Environment],
    ) -> list[AuditedEntry]:
        audited = []
        for done, entry in enumerate(entries, 1):
            audited.append(evaluate(entry, environments[entry.host]))
            self._progress("checks", done, len(entries))
        return audited

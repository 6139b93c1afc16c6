"""What an audit finds: the environment, findings, audited entries and the rows of each table."""

from __future__ import annotations

import functools
import operator
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from itertools import chain
from typing import Any, overload

from audit.model.registry import Found, LookupResult, NodeAnswer
from audit.model.values import FindingSource, ManifestEntry, NodeVersion, Severity, When

__all__ = [
    "REQUIREMENT_FIELDS",
    "AuditRun",
    "AuditedEntry",
    "DistributionAdvice",
    "Environment",
    "Finding",
    "Recommendation",
    "RequirementRow",
    "RequirementRows",
    "VulnerabilityRow",
    "WorkflowRow",
]


@dataclass(frozen=True)
class Environment:
    """Represents the machine a pack runs on, and the versions planned for an upgrade.

    ``None`` means unknown; checks that need an unknown fact say so instead of guessing.
    """

    os: str | None = None
    """``linux``, ``windows`` or ``macos``."""
    accelerators: frozenset[str] | None = None
    """Canonical names: ``cuda``, ``rocm``, ``intel``, ``ascend``, ``metal``, ``cpu``."""
    comfyui_version: str | None = None
    frontend_version: str | None = None
    target_comfyui: str | None = None
    target_frontend: str | None = None
    python_version: str | None = None
    installed: Mapping[str, str | None] | None = None
    """Distributions installed in the install's interpreter (name → version, ``None`` when a
    URL install has no version); ``None`` when unknown."""
    installed_partial: bool = False
    """``installed`` lacks the system's packages a venv also sees: none is reported missing."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where each known fact came from (``flag``, ``detected``, ``profile``, ``snapshot``…)."""


@dataclass(frozen=True)
class Finding:
    """Represents one problem or note about one pack, or about a host when ``node_id`` is None."""

    host: str
    node_id: str | None
    version: str | None
    check: str
    severity: Severity
    message: str
    source: FindingSource
    expected: str | None = None
    actual: str | None = None
    when: When = When.NOW
    waived: bool = False
    """A policy waiver accepts this finding: it is reported but never counts for the exit code."""
    waiver_reason: str | None = None
    baseline: str | None = None
    """``new`` or ``known`` when the run was compared with a baseline; else ``None``."""
    workflow: str | None = None
    """The workflow file (as given) a ``workflow.*`` finding is about; else ``None``."""
    vuln_id: str | None = None
    """The advisory a ``vulnerability.known`` (or OSV ``dependency.compromised``) finding is
    about (the ``vulnerabilities`` table's ``vuln_id``); else ``None``."""


_severity = operator.attrgetter("severity")
_entry_host = operator.attrgetter("entry.host")


@dataclass(frozen=True)
class AuditedEntry:
    """Represents one manifest entry after lookup and checks: one row of the ``nodes`` table."""

    entry: ManifestEntry
    result: LookupResult | None
    """The registry's answer; ``None`` when the entry was not looked up (git, file, invalid…)."""
    findings: tuple[Finding, ...]
    compatible_now: bool | None
    compatible_after_upgrade: bool | None
    node: NodeAnswer | None = None
    """The registry's Node record of the pack; ``None`` when it was not looked up."""

    @property
    def node_version(self) -> NodeVersion | None:
        return self.result.node_version if isinstance(self.result, Found) else None

    @property
    def worst_severity(self) -> Severity | None:
        return max(map(_severity, self.findings), default=None)


# NOTE: slots: a fleet holds one of these per requirement line per host, millions of them.
@dataclass(frozen=True, slots=True)
class RequirementRow:
    """Represents one pip requirement of one pack on one host: a ``requirements`` row."""

    host: str
    node_id: str
    version: str | None
    requirement: str
    """The requirement exactly as the pack wrote it."""
    distribution: str | None
    """The canonical distribution name; ``None`` when the line is not a PEP 508 requirement."""
    specifier: str | None
    marker: str | None
    source: str
    """``registry`` (the registry's ``dependencies``) or ``local`` (the pack's own files)."""
    installed_version: str | None
    satisfied: bool | None
    """Whether the installed version meets it; ``None`` when that cannot be decided."""

    def __reduce__(self) -> tuple[type[RequirementRow], tuple[object, ...]]:
        # NOTE: a fleet's rows come back from forked processes (`audit.parallel`); the restore a
        # slotted dataclass has by default loops over its fields in Python, twice as slow.
        return RequirementRow, _row_values(self)


REQUIREMENT_FIELDS = tuple(f.name for f in fields(RequirementRow))
_row_values = operator.attrgetter(*REQUIREMENT_FIELDS)
_HOST_COLUMN = REQUIREMENT_FIELDS.index("host")


@dataclass(frozen=True)
class RequirementRows(Sequence[RequirementRow]):
    """Represents requirement rows held column by column, in `REQUIREMENT_FIELDS` order.

    A fleet has a million rows: as ten columns they cost less memory, come back from a forked
    process (`audit.parallel`) without a million objects to rebuild, and make the
    ``requirements`` table directly. A row is made only when one is asked for.
    """

    columns: tuple[tuple[Any, ...], ...] = ((),) * len(REQUIREMENT_FIELDS)

    @classmethod
    def of(cls, rows: Iterable[RequirementRow]) -> RequirementRows:
        """``rows``, column by column."""
        if isinstance(rows, RequirementRows):
            return rows
        return cls.of_cells(list(map(_row_values, rows)))

    @classmethod
    def of_cells(cls, rows: Sequence[Sequence[object]]) -> RequirementRows:
        """``rows``, each the cells of one row in `REQUIREMENT_FIELDS` order, column by column."""
        return cls(tuple(zip(*rows, strict=True))) if rows else cls()

    @classmethod
    def joined(cls, parts: Iterable[RequirementRows]) -> RequirementRows:
        """The rows of ``parts``, one after the other."""
        held = [part.columns for part in parts]
        return cls(tuple(tuple(chain.from_iterable(column)) for column in zip(*held, strict=True)))

    def on_host(self, host: str) -> RequirementRows:
        """These rows, found on ``host``."""
        columns = list(self.columns)
        columns[_HOST_COLUMN] = (host,) * len(self)
        return RequirementRows(tuple(columns))

    def column(self, name: str) -> tuple[Any, ...]:
        """The values of the field ``name`` (of `REQUIREMENT_FIELDS`), one per row."""
        return self.columns[REQUIREMENT_FIELDS.index(name)]

    def __len__(self) -> int:
        return len(self.columns[0])

    @overload
    def __getitem__(self, index: int) -> RequirementRow: ...
    @overload
    def __getitem__(self, index: slice) -> RequirementRows: ...
    def __getitem__(self, index: int | slice) -> RequirementRow | RequirementRows:
        if isinstance(index, slice):
            return RequirementRows(tuple(column[index] for column in self.columns))
        return RequirementRow(*(column[index] for column in self.columns))

    def __iter__(self) -> Iterator[RequirementRow]:
        return map(RequirementRow, *self.columns)


@dataclass(frozen=True)
class Recommendation:
    """Represents the advisor's answer for one installed pack: the version to move to, or why
    there is none. One row of the ``recommendations`` table."""

    host: str
    node_id: str
    """The id exactly as the manifest wrote it."""
    version: str | None
    """The installed version, as the manifest wrote it."""
    recommended_version: str | None
    """The newest version that passes every check here; ``None`` when none does."""
    clears: tuple[str, ...]
    """The check codes of the installed version that the move clears, sorted."""
    blocked_by: tuple[str, ...]
    """When no version fits: the constraints that none meets; empty otherwise."""
    installs: tuple[str, ...] = ()
    """The recommended version's requirements the host does not meet yet (``numpy>=2``): the
    move would newly install or upgrade them."""


@dataclass(frozen=True)
class VulnerabilityRow:
    """Represents one vulnerability of one installed distribution on one host: a row of the
    ``vulnerabilities`` table."""

    host: str
    distribution: str
    installed_version: str
    vuln_id: str
    aliases: tuple[str, ...]
    severity: Severity
    score: float | None
    fixed_in: str | None
    summary: str
    required_by: tuple[str, ...]
    """The packs whose requirements name the distribution."""


@dataclass(frozen=True)
class DistributionAdvice:
    """Represents the advice for one vulnerable distribution on one host: a ``recommendations``
    row with ``distribution`` set and no ``node_id``."""

    host: str
    distribution: str
    version: str
    """The installed version."""
    recommended_version: str | None
    """The lowest version that clears every known vulnerability; ``None`` when a pack's
    requirement excludes it (``blocked_by`` says which) or none is fixed."""
    clears: tuple[str, ...]
    blocked_by: tuple[str, ...]


@dataclass(frozen=True)
class WorkflowRow:
    """Represents one pack a workflow needs on one host: a ``workflows`` row."""

    host: str
    workflow: str
    """The workflow file as given."""
    node_id: str | None
    """The installed entry's id, else the workflow's pack id; ``None`` for unresolved classes."""
    class_types: tuple[str, ...]
    made_with_version: str | None
    installed_version: str | None
    bypassed: bool
    """Every node that needs the pack is bypassed or muted."""
    status: str
    runnable_now: bool | None
    runnable_after_upgrade: bool | None


@dataclass(frozen=True)
class AuditRun:
    """Represents one complete run: what the reports and the terminal summary are made from."""

    run_id: str
    started_at: datetime
    finished_at: datetime
    environment: Environment
    """The environment given by flags, profile or detection, before per-host facts."""
    host_environments: Mapping[str, Environment]
    """The environment each host was checked against."""
    entries: tuple[AuditedEntry, ...]
    host_findings: tuple[Finding, ...]
    """Findings that belong to a host rather than to one entry."""
    options: Mapping[str, object]
    """The options of the run as JSON-ready values, for ``run.json``."""
    exit_code: int
    requirements: Sequence[RequirementRow] = ()
    """The ``requirements`` rows; a run's own are `RequirementRows`."""
    recommendations: Sequence[Recommendation] = ()
    """The upgrade advisor's answers, one per entry that needed advice (empty when it was off);
    a run's own may still be in the making (`audit.parallel.Pending`)."""
    vulnerabilities: tuple[VulnerabilityRow, ...] = ()
    """Known vulnerabilities: one row per host, installed distribution and vulnerability."""
    upgrades: tuple[DistributionAdvice, ...] = ()
    """Upgrade advice for vulnerable distributions (``recommendations`` rows with no pack)."""
    workflows: tuple[WorkflowRow, ...] = ()
    """What each workflow needs on each host (``run --workflow``)."""

    @functools.cached_property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding: the host findings, then each entry's.

        NOTE: made once per run (a fleet's are a million, read by the summary and the report).
        """
        return self.host_findings + tuple(f for e in self.entries for f in e.findings)

    @functools.cached_property
    def hosts(self) -> frozenset[str]:
        """Every host the run knows of: its environments, its entries' and its host findings'
        (the summary and ``run.json`` both count them)."""
        hosts = set(self.host_environments)
        hosts.update(map(_entry_host, self.entries))
        hosts.update(f.host for f in self.host_findings)
        return frozenset(hosts)

    @functools.cached_property
    def severities(self) -> Mapping[Severity, int]:
        """How many findings have each severity (the summary and ``run.json`` both say)."""
        return Counter(map(_severity, self.findings))

"""Domain values passed between the pipeline stages: entries, registry answers, findings."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "ID_PATTERN",
    "VERSION_PATTERN",
    "AuditRun",
    "AuditedEntry",
    "DistributionAdvice",
    "EntrySource",
    "Environment",
    "Failed",
    "Finding",
    "FindingSource",
    "Found",
    "ImportFailure",
    "Invalid",
    "LookupResult",
    "Manifest",
    "ManifestEntry",
    "NodeAnswer",
    "NodeKey",
    "NodeVersion",
    "NotFound",
    "Recommendation",
    "RegistryNode",
    "RequirementRow",
    "Severity",
    "VulnerabilityRow",
    "When",
    "WorkflowRow",
]

#: Registry ids and versions that may be looked up; anything else never reaches a URL.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}")


class Severity(enum.IntEnum):
    """Represents how bad a finding is; ordered so that comparisons read naturally."""

    INFO = 0
    WARNING = 1
    ERROR = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Return the severity named by ``text`` (``"warning"``, any case).

        :raises ValueError: for a name that is not a severity.
        """
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}") from None


class EntrySource(enum.StrEnum):
    """Represents where an installed pack came from."""

    REGISTRY = "registry"
    GIT = "git"
    FILE = "file"
    LOCAL = "local"


class FindingSource(enum.StrEnum):
    """Represents which fact a finding rests on."""

    REGISTRY = "registry"
    LOCAL = "local"
    MANIFEST = "manifest"
    ENVIRONMENT = "environment"
    POLICY = "policy"
    OSV = "osv"
    WORKFLOW = "workflow"


class When(enum.StrEnum):
    """Represents whether a finding holds now or after the planned upgrade."""

    NOW = "now"
    AFTER_UPGRADE = "after-upgrade"


@dataclass(frozen=True)
class NodeKey:
    """Represents one node@version pair to look up, spelled as the manifest wrote it."""

    node_id: str
    version: str

    @property
    def normalized(self) -> tuple[str, str]:
        """The identity used for de-duplication: registry ids compare case-insensitively."""
        return (self.node_id.lower(), self.version)

    def __str__(self) -> str:
        return f"{self.node_id}@{self.version}"


@dataclass(frozen=True)
class ManifestEntry:
    """Represents one installed pack as a manifest lists it."""

    host: str
    """The machine the pack is installed on."""
    node_id: str
    """The id exactly as the manifest wrote it."""
    version: str | None
    """The version exactly as the manifest wrote it; ``None`` when unknown."""
    source: EntrySource
    manifest: str
    """Path of the manifest the entry came from."""
    line: int | None = None
    """1-based line in the manifest, where known."""
    url: str | None = None
    """Repository URL of git entries, credentials removed."""
    hash: str | None = None
    """Commit of git entries."""
    disabled: bool = False
    problem: str | None = None
    """What is wrong with the pack on disk (unparseable ``pyproject.toml``, no version…)."""
    declared: NodeVersion | None = None
    """What the pack's own ``pyproject.toml`` declares (OS, accelerators, ranges, dependencies)."""
    requirements: tuple[str, ...] | None = None
    """The lines of the pack's own ``requirements.txt``, as written; ``None`` when it has none."""
    registry_pack: bool = False
    """A git install whose ``node_id`` is a registry id (``.git/.cnr-id``, its ``pyproject.toml``
    or a snapshot's ``cnr_id``): a nightly of a registry pack, checked at pack level."""

    @property
    def is_valid(self) -> bool:
        """Whether the id and version are safe to send to a registry."""
        id_ok = ID_PATTERN.fullmatch(self.node_id) is not None
        version_ok = self.version is None or VERSION_PATTERN.fullmatch(self.version) is not None
        return id_ok and version_ok

    @property
    def key(self) -> NodeKey | None:
        """The registry lookup for this entry, or ``None`` when it must not be looked up."""
        if self.source not in (EntrySource.REGISTRY, EntrySource.LOCAL) or self.version is None:
            return None
        return NodeKey(self.node_id, self.version) if self.is_valid else None

    @property
    def location(self) -> str:
        return f"{self.manifest}:{self.line}" if self.line else self.manifest


@dataclass(frozen=True)
class Manifest:
    """Represents one manifest after reading: its entries and the environment facts it holds."""

    path: str
    host: str
    format: str
    entries: tuple[ManifestEntry, ...]
    comfyui: str | None = None
    """The snapshot's ``comfyui`` value: a commit, a tag such as ``v0.3.30``, or ``None``."""
    pips: Mapping[str, str | None] | None = None
    """Installed distributions (name as written → version, ``None`` for URL installs), if known."""
    unreadable: str | None = None
    """Why the file could not be read (one line, naming it); a fleet run audits the others."""

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts this manifest describes: its entries' (a CSV ``host`` column can name
        several), else its own when it lists no pack."""
        return tuple(dict.fromkeys(e.host for e in self.entries)) or (self.host,)

    import_failures: Mapping[str, ImportFailure] | None = None
    """Packs ComfyUI failed to import at its last start, by node id; ``None`` when unknown."""


@dataclass(frozen=True)
class NodeVersion:
    """Represents the registry's record of one node version, parsed tolerantly.

    Fields the registry left out or sent as ``null`` are ``None``. Fields of the wrong type are
    also ``None`` and are named in ``invalid_fields``, so that the well-typed rest is still checked.
    """

    node_id: str
    version: str
    status: str | None = None
    status_reason: str | None = None
    deprecated: bool | None = None
    supported_os: tuple[str, ...] | None = None
    supported_accelerators: tuple[str, ...] | None = None
    supported_comfyui_version: str | None = None
    supported_comfyui_frontend_version: str | None = None
    dependencies: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    tags_admin: tuple[str, ...] | None = None
    created_at: str | None = None
    fetched_at: datetime | None = None
    invalid_fields: tuple[str, ...] = ()

    @property
    def key(self) -> NodeKey:
        return NodeKey(self.node_id, self.version)


@dataclass(frozen=True)
class Found:
    """The registry answered with a NodeVersion."""

    node_version: NodeVersion
    cache_hit: bool = False


@dataclass(frozen=True)
class NotFound:
    """The registry has no such node or version."""

    reason: str = "no such node or version in the registry"
    # NOTE: when and whence the answer came do not make it another answer.
    fetched_at: datetime | None = field(default=None, compare=False)
    """When the registry said so; ``None`` when no registry was asked (a mirror file)."""
    cache_hit: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Failed:
    """The lookup failed after retries (network, timeouts, server errors)."""

    reason: str


@dataclass(frozen=True)
class Invalid:
    """The registry answered with something that is not a NodeVersion at all."""

    reason: str


LookupResult = Found | NotFound | Failed | Invalid


@dataclass(frozen=True)
class RegistryNode:
    """Represents the registry's record of a whole pack (a ``Node``), parsed tolerantly.

    Empty strings are ``None``; fields of the wrong type are ``None`` and named in
    ``invalid_fields``.
    """

    node_id: str
    status: str | None = None
    publisher_id: str | None = None
    publisher_status: str | None = None
    latest_version: str | None = None
    """``latest_version.version``: the newest Active version; ``None`` when there is none."""
    invalid_fields: tuple[str, ...] = ()
    # NOTE: when and whence the record came do not make it another record.
    fetched_at: datetime | None = field(default=None, compare=False)
    cache_hit: bool = field(default=False, compare=False)


NodeAnswer = RegistryNode | NotFound | Failed | Invalid
"""The registry's answer about a pack: its Node, none (404/403, no node list, an old mirror:
the pack-level checks cannot run), or a failed or broken lookup."""


@dataclass(frozen=True)
class ImportFailure:
    """Represents a pack ComfyUI's log says failed to import."""

    reason: str
    timestamp: str | None = None
    """The log line's timestamp, verbatim; ``None`` when the line had none."""


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
        return max((f.severity for f in self.findings), default=None)


@dataclass(frozen=True)
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
    requirements: tuple[RequirementRow, ...] = ()
    recommendations: tuple[Recommendation, ...] = ()
    """The upgrade advisor's answers, one per entry that needed advice (empty when it was off)."""
    vulnerabilities: tuple[VulnerabilityRow, ...] = ()
    """Known vulnerabilities: one row per host, installed distribution and vulnerability."""
    upgrades: tuple[DistributionAdvice, ...] = ()
    """Upgrade advice for vulnerable distributions (``recommendations`` rows with no pack)."""
    workflows: tuple[WorkflowRow, ...] = ()
    """What each workflow needs on each host (``run --workflow``)."""

    @property
    def findings(self) -> tuple[Finding, ...]:
        return self.host_findings + tuple(f for e in self.entries for f in e.findings)

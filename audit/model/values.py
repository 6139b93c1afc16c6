"""The values every stage shares: severities, sources, node keys, manifest entries, and the
registry's NodeVersion record that an entry may declare of itself."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "ID_PATTERN",
    "VERSION_PATTERN",
    "EntrySource",
    "FindingSource",
    "ImportFailure",
    "Manifest",
    "ManifestEntry",
    "NodeKey",
    "NodeVersion",
    "Severity",
    "When",
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
        return _is_valid(self.node_id, self.version)

    @property
    def key(self) -> NodeKey | None:
        """The registry lookup for this entry, or ``None`` when it must not be looked up."""
        return _key(self.node_id, self.version, self.source)

    @property
    def location(self) -> str:
        return f"{self.manifest}:{self.line}" if self.line else self.manifest


# NOTE: made once per distinct pack and version, not per entry: a fleet asks every one of its
# entries for its key several times (caching it on the entry would cost each one a dict).
@functools.lru_cache(maxsize=1 << 16)
def _is_valid(node_id: str, version: str | None) -> bool:
    id_ok = ID_PATTERN.fullmatch(node_id) is not None
    return id_ok and (version is None or VERSION_PATTERN.fullmatch(version) is not None)


@functools.lru_cache(maxsize=1 << 16)
def _key(node_id: str, version: str | None, source: EntrySource) -> NodeKey | None:
    if source not in (EntrySource.REGISTRY, EntrySource.LOCAL) or version is None:
        return None
    return NodeKey(node_id, version) if _is_valid(node_id, version) else None


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
class ImportFailure:
    """Represents a pack ComfyUI's log says failed to import."""

    reason: str
    timestamp: str | None = None
    """The log line's timestamp, verbatim; ``None`` when the line had none."""


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

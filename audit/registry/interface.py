"""The Registry stage: one bulk verb that answers many node@version pairs at once, and one that
lists every version of a node (for the upgrade advisor)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from audit.errors import AuditError
from audit.model import Failed, Found, LookupResult, NodeKey, NodeVersion

__all__ = [
    "DEFAULT_BASE_URL",
    "Fetched",
    "FetchedVersions",
    "InMemory",
    "Pair",
    "RecordSource",
    "Registry",
    "RegistryError",
    "VersionLister",
    "VersionListing",
    "VersionRecordSource",
    "distinct",
]

DEFAULT_BASE_URL = "https://api.comfy.org"
"""The Comfy Registry's API: the registry of every command unless `--registry` names another."""

VersionListing = tuple[NodeVersion, ...] | Failed
"""Every version the registry holds of one node, in the registry's order (which means nothing:
it sorts versions as text), or why the list could not be had. A node the registry does not know
has an empty list."""


class RegistryError(AuditError):
    """The registry could not be read as a whole (a page of the full listing failed)."""


@runtime_checkable
class InMemory(Protocol):
    """A source that holds every answer in memory: asking it reads no file and no network, so a
    forked process may ask it too (`audit.parallel`)."""

    @property
    def in_memory(self) -> bool: ...


class Registry(Protocol):
    """Anything that can say what the Comfy Registry knows about node versions."""

    def lookup(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, LookupResult]:
        """Answer every key; a key never missing from the result, whatever fails.

        Keys that differ only in the case of the id are the same pair and are fetched once.
        """
        ...


@dataclass(frozen=True)
class Fetched:
    """Represents one registry answer together with the JSON record it was parsed from."""

    result: LookupResult
    record: Mapping[str, Any] | None = None
    """The NodeVersion object exactly as the registry sent it; only for `Found` answers."""

    def mirror_record(self) -> dict[str, Any] | None:
        """The record as a mirror line holds it (with ``fetched_at``), or ``None`` if not found."""
        if self.record is None or not isinstance(self.result, Found):
            return None
        line = dict(self.record)
        fetched_at = self.result.node_version.fetched_at
        if fetched_at is not None:
            line["fetched_at"] = fetched_at.isoformat()
        return line


class RecordSource(Registry, Protocol):
    """A registry that can also hand back the raw records (to cache them or write a mirror)."""

    @property
    def base_url(self) -> str: ...

    def fetch(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, Fetched]:
        """Like `Registry.lookup`, with the record behind every `Found` answer."""
        ...


class VersionLister(Protocol):
    """Anything that can list every version of a node (``GET /nodes/{id}/versions``)."""

    def list_versions_of(self, node_ids: Sequence[str]) -> Mapping[str, VersionListing]:
        """Answer every id as given; ids that differ only in case are listed once.

        A failure is a `Failed` value for that id, never an exception.
        """
        ...


@dataclass(frozen=True)
class FetchedVersions:
    """Represents one node's version list together with the JSON records it was parsed from."""

    result: VersionListing
    records: tuple[Mapping[str, Any], ...] = ()
    """The NodeVersion objects exactly as the registry sent them; empty for a `Failed` list."""
    fetched_at: datetime | None = None
    """When the registry sent the list; ``None`` for a `Failed` list."""


@runtime_checkable
class VersionRecordSource(VersionLister, Protocol):
    """A version lister that also hands back the raw records (to cache them)."""

    @property
    def base_url(self) -> str: ...

    def fetch_versions_of(self, node_ids: Sequence[str]) -> Mapping[str, FetchedVersions]:
        """Like `VersionLister.list_versions_of`, with the records behind every list."""
        ...


Pair = tuple[str, str]
"""A node@version as the registry compares it: (lower-cased id, version)."""


def distinct(keys: Iterable[NodeKey]) -> dict[Pair, NodeKey]:
    """The keys that are distinct to the registry (ids compare case-insensitively), each first
    spelling kept, so that one pair is asked once however many hosts list it."""
    unique: dict[Pair, NodeKey] = {}
    for key in keys:
        unique.setdefault(key.normalized, key)
    return unique

"""The Registry stage: one bulk verb that answers many node@version pairs at once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from audit.errors import AuditError
from audit.model import Found, LookupResult, NodeKey

__all__ = ["Fetched", "RecordSource", "Registry", "RegistryError"]


class RegistryError(AuditError):
    """The registry could not be read as a whole (a page of the full listing failed)."""


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

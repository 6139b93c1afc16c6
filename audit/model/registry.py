"""What the registry says: Node records, and the outcome of each lookup (a NodeVersion or not)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from audit.model.values import NodeVersion

__all__ = [
    "Failed",
    "Found",
    "Invalid",
    "LookupResult",
    "NodeAnswer",
    "NotFound",
    "RegistryNode",
]


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

"""What the registry says: NodeVersion and Node records, and the outcome of each lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from audit.model.values import NodeKey

__all__ = [
    "Failed",
    "Found",
    "Invalid",
    "LookupResult",
    "NodeAnswer",
    "NodeVersion",
    "NotFound",
    "RegistryNode",
]


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

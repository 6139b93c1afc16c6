"""What a workflow file says it needs: its nodes, each with class, pack, version and mode."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from audit.errors import InputError

__all__ = ["CORE_PACK", "NotAWorkflow", "Workflow", "WorkflowError", "WorkflowNode"]

#: The pack name the frontend writes on ComfyUI's own nodes (``properties.cnr_id``).
CORE_PACK = "comfy-core"


class WorkflowError(InputError):
    """A workflow file that cannot be read (one line naming the file)."""


class NotAWorkflow(WorkflowError):
    """A readable file that holds no workflow (another JSON document, an image without one);
    skipped when it was found in a folder, an error when named."""


class Mode(enum.IntEnum):
    """Represents litegraph's node modes that the audit tells apart."""

    ALWAYS = 0
    NEVER = 2
    """Muted: the node does not run."""
    BYPASS = 4
    """Bypassed: inputs pass through; the node's class is not needed to run."""


@dataclass(frozen=True)
class WorkflowNode:
    """Represents one node of a workflow as saved (a subgraph's inner node counts once)."""

    node_id: str
    """The node's id; inside a subgraph or group node, prefixed with its definition
    (``<uuid>/12``), so that ids are distinct across the file."""
    class_type: str
    cnr_id: str | None = None
    """The registry pack the frontend recorded (``properties.cnr_id``)."""
    aux_id: str | None = None
    """``owner/repo`` of a git pack (``properties.aux_id``)."""
    ver: str | None = None
    """The pack version (or git commit) the node was made with."""
    inactive: bool = False
    """Bypassed or muted, itself or because no active node uses its subgraph or group."""
    container: bool = False
    """A subgraph instance or group node: a container of other nodes, not a server class."""


@dataclass(frozen=True)
class Workflow:
    """Represents one workflow file after reading."""

    path: str
    """The path as given."""
    format: str
    """``ui``, ``api``, or ``png``/``webp`` followed by ``-ui`` or ``-api``."""
    nodes: tuple[WorkflowNode, ...]
    node_versions: Mapping[str, str] = field(default_factory=dict)
    """``extra.node_versions`` of older frontends: pack → version, lower-cased keys."""

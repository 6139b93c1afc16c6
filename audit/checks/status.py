"""Status checks: what the registry and the publisher say about one version (§4 of registry.md)."""

from __future__ import annotations

from collections.abc import Iterator

from audit.checks.interface import finding, shown_version
from audit.model import Environment, Finding, ManifestEntry, NodeVersion

__all__ = ["check_deprecated", "check_status", "status_name"]

# NOTE: Active is the normal case and has no finding. A status this table does not know is
# `status.unknown` (a warning naming the word): the registry may add one, and guessing its
# weight would be worse than saying we cannot tell.
_STATUSES = {
    "banned": ("status.banned", "is banned by the registry"),
    "flagged": ("status.flagged", "is flagged by the registry's scanner, pending review"),
    "deleted": ("status.deleted", "was removed from the registry"),
    "pending": ("status.pending", "has not passed the registry's review"),
}


def status_name(status: str) -> str:
    """The short, lower-case name of a registry status, whichever spelling the registry used.

    >>> status_name("NodeVersionStatusBanned"), status_name("banned")
    ('banned', 'banned')
    """
    name = status.strip().lower()
    return name.removeprefix("nodeversionstatus")


def check_status(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Iterator[Finding]:
    """One finding for a Banned, Flagged, Deleted or Pending version, or an unknown status."""
    if node_version.status is None:
        return
    name = status_name(node_version.status)
    known = _STATUSES.get(name)
    shown = shown_version(entry, node_version)
    if known:
        check, verdict = known
        message = f"version {shown} {verdict}"
        yield finding(entry, check, message, actual=node_version.status)
    elif name != "active":
        message = f"version {shown} has a status this tool does not know: {node_version.status!r}"
        yield finding(entry, "status.unknown", message, actual=node_version.status)


def check_deprecated(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Iterator[Finding]:
    """One finding when the publisher deprecated the version."""
    if node_version.deprecated:
        message = f"version {shown_version(entry, node_version)} is deprecated by its publisher"
        yield finding(entry, "status.deprecated", message)

"""Status checks: what the registry and the publisher say about one version (§4 of registry.md)."""

from __future__ import annotations

from collections.abc import Iterator

from audit.checks.interface import finding, shown_version
from audit.model import Environment, Finding, ManifestEntry, NodeVersion

__all__ = ["check_deprecated", "check_status", "status_name"]

# NOTE: Active is the normal case and has no finding. A status this table does not know is
# passed over: the registry may add one, and guessing its weight would be worse.
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
    """One finding for a Banned, Flagged, Deleted or Pending version."""
    if node_version.status is None:
        return
    known = _STATUSES.get(status_name(node_version.status))
    if known:
        check, verdict = known
        message = f"version {shown_version(entry, node_version)} {verdict}"
        yield finding(entry, check, message, actual=node_version.status)


def check_deprecated(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Iterator[Finding]:
    """One finding when the publisher deprecated the version."""
    if node_version.deprecated:
        message = f"version {shown_version(entry, node_version)} is deprecated by its publisher"
        yield finding(entry, "status.deprecated", message)

"""The ``nodes`` columns of the pack-level data: the Node record's statuses, its newest Active
version, and whether the installed version is older."""

from __future__ import annotations

from audit.advisor.ordering import same_version, version_order
from audit.model import EntrySource, NodeAnswer, RegistryNode

__all__ = ["NODE_COLUMNS", "is_outdated", "node_columns"]

NODE_COLUMNS = ("node_status", "publisher_id", "publisher_status", "latest_version", "outdated")


def node_columns(
    node: NodeAnswer | None, version: str | None, source: EntrySource
) -> dict[str, object]:
    """The pack-level columns of the ``nodes`` row of a pack at ``version``, installed from
    ``source``, whose Node answer is ``node``; null where the registry gave no Node."""
    if not isinstance(node, RegistryNode):
        return dict.fromkeys(NODE_COLUMNS)
    # NOTE: a git pack's version is a commit, which may look like a number but is none.
    git = source is EntrySource.GIT
    return {
        "node_status": node.status,
        "publisher_id": node.publisher_id,
        "publisher_status": node.publisher_status,
        "latest_version": node.latest_version,
        "outdated": None if git else is_outdated(version, node.latest_version),
    }


def is_outdated(installed: str | None, latest: str | None) -> bool | None:
    """Whether ``installed`` is older than ``latest``, compared as versions; ``None`` when either
    is missing or is no version (a git commit, ``nightly``).

    >>> is_outdated("1.9.0", "1.10.0"), is_outdated("2.0", "2.0.0"), is_outdated("abc1234", "1.0")
    (True, False, None)
    """
    if installed is None or latest is None:
        return None
    mine, newest = version_order(installed), version_order(latest)
    if not (mine.parsed and newest.parsed):
        return None
    return not same_version(installed, latest) and mine < newest

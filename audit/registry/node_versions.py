"""A node's version list (``GET /nodes/{id}/versions``, registry.md §1.3) read from its JSON.

The HTTP client, the cache and the offline registry all read lists with `parse_version_list`,
so a list means the same wherever it comes from.
"""

from __future__ import annotations

import logging
from collections.abc import Container
from datetime import datetime

from audit.model import Failed, Invalid, NodeVersion
from audit.registry.interface import FetchedVersions
from audit.registry.parse import parse_node_version

__all__ = ["parse_version_list"]

_log = logging.getLogger(__name__)


def parse_version_list(node_id: str, payload: object, fetched_at: datetime) -> FetchedVersions:
    """Return the versions of ``node_id`` that ``payload`` (a decoded JSON array) lists.

    Items that are no NodeVersion at all, belong to another node (ids compare
    case-insensitively) or repeat a version already listed are left out, with one warning;
    the rest keep the registry's order. A payload that is not an array is a `Failed` list.

    >>> from datetime import UTC
    >>> listed = parse_version_list("a", [{"node_id": "A", "version": "1"}, 7], datetime.now(UTC))
    >>> [v.version for v in listed.result]
    ['1']
    """
    if not isinstance(payload, list):
        kind = "an object" if isinstance(payload, dict) else type(payload).__name__
        return FetchedVersions(Failed(f"the registry sent {kind}, not a list of versions"))
    versions: dict[str, tuple[NodeVersion, dict[str, object]]] = {}
    skipped = 0
    for item in payload:
        parsed = parse_node_version(item, fetched_at=fetched_at)
        if isinstance(parsed, Invalid) or not _belongs(parsed, node_id, versions):
            skipped += 1
            continue
        assert isinstance(item, dict)  # NOTE: parse_node_version accepts nothing else
        versions[parsed.version] = (parsed, item)
    if skipped:
        _log.warning("version list of %r: skipped %d unusable items", node_id, skipped)
    parsed_versions = tuple(nv for nv, _ in versions.values())
    records = tuple(record for _, record in versions.values())
    return FetchedVersions(parsed_versions, records, fetched_at)


def _belongs(parsed: NodeVersion, node_id: str, seen: Container[str]) -> bool:
    return parsed.node_id.lower() == node_id.lower() and parsed.version not in seen

"""Each pack's newest Active version, as its Node record names it: the advisor's first candidate.

The pack-level checks already fetched every pack's Node, whose ``latest_version`` is the newest
Active version (registry.md §4.2). The advisor takes the first candidate, newest first, that
passes every check; so when the newest Active version is a candidate at all (not deprecated,
a usable version, no pre-release unless allowed) and passes on every host, it is the answer
the full version list would give, and that list need not be asked for. `newest_records` looks
those versions up in one bulk call; `audit.advisor.choose.recommend` judges them. A pack whose
Node names no Active version at all has no candidate: `without_active` settles it with the
versions the run holds, which the full list would only confirm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from audit.advisor.ordering import version_order
from audit.checks.status import status_name
from audit.model import AuditedEntry, Found, LookupResult, NodeKey, NodeVersion, RegistryNode

__all__ = ["Known", "NewestLookup", "known_records", "newest_records", "without_active"]

NewestLookup = Callable[[Sequence[NodeKey]], Mapping[NodeKey, LookupResult]]
"""The registry's bulk lookup (`audit.registry.Registry.lookup`)."""
Known = Mapping[tuple[str, str], NodeVersion]
"""The records a run looked up, by normalised key (`known_records`)."""


def newest_records(
    lookup: NewestLookup, audited: Sequence[AuditedEntry], node_ids: Sequence[str], known: Known
) -> dict[str, NodeVersion]:
    """The record of each pack's newest Active version, by lower-cased id, for ``node_ids``.

    Versions the run already looked up are not asked again; the rest are asked in one call.
    A pack is left out when its Node names no newest version, when that version's record cannot
    be had, or when the run knows an Active version of it that ranks higher (the registry's
    answers disagree, and only the full list can tell which version comes first).

    :param known: the records of ``audited`` (`known_records`).
    """
    known = dict(known)
    wanted = _newest_keys(audited, {node_id.lower() for node_id in node_ids})
    missing = [key for key in wanted.values() if key.normalized not in known]
    for key, result in (lookup(missing) if missing else {}).items():
        if isinstance(result, Found):
            known.setdefault(key.normalized, result.node_version)
    active: dict[str, list[NodeVersion]] = {}
    for (node_id, _), nv in known.items():
        if _is_active(nv):
            active.setdefault(node_id, []).append(nv)
    records = {}
    for lower, key in wanted.items():
        record = known.get(key.normalized)
        if record is not None and not _outranked(record, active.get(lower, [])):
            records[lower] = record
    return records


def without_active(
    audited: Sequence[AuditedEntry], node_ids: Sequence[str], known: Known
) -> dict[str, tuple[NodeVersion, ...]]:
    """The packs among ``node_ids`` that have no Active version, by lower-cased id, each with
    the versions of it the run looked up (``known``, `known_records` of ``audited``): the Node
    says there is none (its ``latest_version`` is null, not malformed), and none of those
    versions is Active."""
    targets = {node_id.lower() for node_id in node_ids}
    silent = {
        a.entry.node_id.lower()
        for a in audited
        if isinstance(a.node, RegistryNode) and _names_no_active(a.node)
    }
    held: dict[str, list[NodeVersion]] = {}
    for (lower, _), nv in known.items():
        if lower in targets and lower in silent:
            held.setdefault(lower, []).append(nv)
    return {
        lower: tuple(versions)
        for lower, versions in held.items()
        if not any(map(_is_active, versions))
    }


def _names_no_active(node: RegistryNode) -> bool:
    malformed = any(name.startswith("latest_version") for name in node.invalid_fields)
    return node.latest_version is None and not malformed


def known_records(audited: Sequence[AuditedEntry]) -> dict[tuple[str, str], NodeVersion]:
    """The records ``audited`` looked up, by normalised key, the first of each."""
    known: dict[tuple[str, str], NodeVersion] = {}
    for a in audited:
        if a.entry.key is not None and isinstance(a.result, Found):
            known.setdefault(a.entry.key.normalized, a.result.node_version)
    return known


def _newest_keys(audited: Sequence[AuditedEntry], targets: set[str]) -> dict[str, NodeKey]:
    keys: dict[str, NodeKey] = {}
    for a in audited:
        lower = a.entry.node_id.lower()
        node = a.node
        if lower in targets and isinstance(node, RegistryNode) and node.latest_version:
            keys.setdefault(lower, NodeKey(a.entry.node_id, node.latest_version))
    return keys


def _outranked(newest: NodeVersion, active: Sequence[NodeVersion]) -> bool:
    rank = version_order(newest.version)
    return any(version_order(nv.version) > rank for nv in active)


def _is_active(node_version: NodeVersion) -> bool:
    return node_version.status is not None and status_name(node_version.status) == "active"

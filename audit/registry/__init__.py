"""The Registry stage: what the Comfy Registry knows about installed node versions.

- `HttpRegistry` asks api.comfy.org (bulk POST, per-version GET as fallback);
- `CachingRegistry` answers from the on-disk `RegistryCache` and asks an `HttpRegistry` for
  the rest; `OfflineRegistry` answers from the cache alone;
- `MirrorRegistry` answers offline from a mirror file of NodeVersion records, which
  `write_mirror` writes (from `mirror_records` or `list_all_versions`);
- every one of them also lists all versions of a node (`VersionLister.list_versions_of`,
  for the upgrade advisor);
- `open_registry` picks one from the registry options;
- `load_token` finds the optional registry token;
- every one of them also answers Node records in bulk (`NodeLookup.lookup_nodes`, for the
  pack-level checks);
- `parse_node_version` and `parse_node` are the tolerant readers they all share.

NOTE: the names are loaded on first use (PEP 562), so that importing a light part of the stage
(its interface, for the pipeline and the advisor) does not load requests, and ``--help`` stays
fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.lazy import attributes

if TYPE_CHECKING:
    from audit.registry.cache import (
        DEFAULT_MAX_AGE,
        CacheError,
        RegistryCache,
        default_cache_dir,
    )
    from audit.registry.caching import CachingRegistry, OfflineRegistry
    from audit.registry.credentials import TOKEN_ENV, load_token
    from audit.registry.factory import AnyRegistry, open_registry, stale_data_warning
    from audit.registry.http_registry import HttpRegistry
    from audit.registry.interface import (
        Fetched,
        FetchedVersions,
        RecordSource,
        Registry,
        RegistryError,
        VersionLister,
        VersionListing,
        VersionRecordSource,
    )
    from audit.registry.mirror import MirrorRegistry
    from audit.registry.mirror_writer import (
        list_all_nodes,
        list_all_versions,
        merge_records,
        mirror_records,
        node_records,
        node_version_json,
        version_list_records,
        write_mirror,
    )
    from audit.registry.nodes import FetchedNode, NodeLookup, NodeRecordSource, parse_node
    from audit.registry.parse import parse_node_version
    from audit.registry.transport import RequestStats

_HOMES = {
    "AnyRegistry": "audit.registry.factory",
    "CacheError": "audit.registry.cache",
    "CachingRegistry": "audit.registry.caching",
    "DEFAULT_MAX_AGE": "audit.registry.cache",
    "Fetched": "audit.registry.interface",
    "FetchedNode": "audit.registry.nodes",
    "FetchedVersions": "audit.registry.interface",
    "HttpRegistry": "audit.registry.http_registry",
    "MirrorRegistry": "audit.registry.mirror",
    "NodeLookup": "audit.registry.nodes",
    "NodeRecordSource": "audit.registry.nodes",
    "OfflineRegistry": "audit.registry.caching",
    "RecordSource": "audit.registry.interface",
    "Registry": "audit.registry.interface",
    "RegistryCache": "audit.registry.cache",
    "RegistryError": "audit.registry.interface",
    "RequestStats": "audit.registry.transport",
    "TOKEN_ENV": "audit.registry.credentials",
    "VersionLister": "audit.registry.interface",
    "VersionListing": "audit.registry.interface",
    "VersionRecordSource": "audit.registry.interface",
    "default_cache_dir": "audit.registry.cache",
    "list_all_nodes": "audit.registry.mirror_writer",
    "list_all_versions": "audit.registry.mirror_writer",
    "load_token": "audit.registry.credentials",
    "merge_records": "audit.registry.mirror_writer",
    "mirror_records": "audit.registry.mirror_writer",
    "node_records": "audit.registry.mirror_writer",
    "node_version_json": "audit.registry.mirror_writer",
    "open_registry": "audit.registry.factory",
    "parse_node": "audit.registry.nodes",
    "parse_node_version": "audit.registry.parse",
    "stale_data_warning": "audit.registry.factory",
    "version_list_records": "audit.registry.mirror_writer",
    "write_mirror": "audit.registry.mirror_writer",
}

__all__ = [
    "DEFAULT_MAX_AGE",
    "TOKEN_ENV",
    "AnyRegistry",
    "CacheError",
    "CachingRegistry",
    "Fetched",
    "FetchedNode",
    "FetchedVersions",
    "HttpRegistry",
    "MirrorRegistry",
    "NodeLookup",
    "NodeRecordSource",
    "OfflineRegistry",
    "RecordSource",
    "Registry",
    "RegistryCache",
    "RegistryError",
    "RequestStats",
    "VersionLister",
    "VersionListing",
    "VersionRecordSource",
    "default_cache_dir",
    "list_all_nodes",
    "list_all_versions",
    "load_token",
    "merge_records",
    "mirror_records",
    "node_records",
    "node_version_json",
    "open_registry",
    "parse_node",
    "parse_node_version",
    "stale_data_warning",
    "version_list_records",
    "write_mirror",
]


__getattr__ = attributes(__name__, _HOMES, globals())

"""What `comfy-audit mirror` writes: an offline copy of the registry data that manifests (and
workflows) need, or of the whole registry, and the advisories of their installed packages.

The command line prints the counts these return. NOTE: the registry clients load requests, so
they are imported when a mirror is written, never at import time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from audit.checks.pack import pack_ids
from audit.errors import UsageError
from audit.inputs import RegistrySettings, installed_environments
from audit.model import Failed, Invalid, Manifest

if TYPE_CHECKING:
    from audit.registry import CachingRegistry, Fetched, FetchedNode, HttpRegistry, OfflineRegistry
    from audit.vulnerabilities.writer import WrittenAdvisories

__all__ = ["MirrorWritten", "mirror_everything", "mirror_manifests", "mirror_vulnerabilities"]


@dataclass(frozen=True)
class MirrorWritten:
    """Represents a mirror file written for manifests: what it holds and what failed."""

    records: int
    """Records written."""
    found: int
    """Node versions the registry knows."""
    wanted: int
    """Node versions asked for."""
    version_lists: int | None
    """Packs whose every version was written; ``None`` without ``--versions``."""
    node_records: int
    failed: int
    """Lookups that failed (node versions, Node records, workflow class lookups)."""

    def describe(self, output: str) -> str:
        """One line saying what was written to ``output``."""
        lists = self.version_lists
        return (
            f"wrote {self.records} records to {output} ({self.found} of {self.wanted} node "
            "versions found"
            + (f", every version of {lists} packs" if lists is not None else "")
            + f", {self.node_records} Node records"
            + (f"; {self.failed} lookups failed)" if self.failed else ")")
        )


def mirror_manifests(
    settings: RegistrySettings,
    manifests: Sequence[Manifest],
    output: str,
    *,
    with_versions: bool,
    workflows: Sequence[str] = (),
) -> MirrorWritten:
    """Write to ``output`` the registry data that ``manifests`` and ``workflows`` need."""
    from audit.registry import (
        merge_records,
        mirror_records,
        node_records,
        version_list_records,
        write_mirror,
    )
    from audit.registry.padded import with_padded

    entries = [e for m in manifests for e in m.entries]
    keys = with_padded([e.key for e in entries if e.key is not None])
    source = _fetching_registry(settings)
    answers = source.fetch(keys)
    node_ids = list(dict.fromkeys(key.node_id for key in keys))
    lists = source.fetch_versions_of(node_ids) if with_versions else {}
    extra, failed_extra, named = (
        _workflow_records(workflows, settings, source, manifests) if workflows else ([], 0, [])
    )
    packs = source.fetch_nodes(pack_ids(entries, named))
    records = merge_records(version_list_records(lists), mirror_records(answers))
    nodes = node_records(packs)
    return MirrorWritten(
        records=write_mirror([*records, *nodes, *extra], output),
        found=sum(a.mirror_record() is not None for a in answers.values()),
        wanted=len(keys),
        version_lists=len(lists) if with_versions else None,
        node_records=len(nodes),
        failed=_failed(answers.values()) + _failed(packs.values()) + failed_extra,
    )


def _failed(lookups: Iterable[Fetched | FetchedNode]) -> int:
    """How many of ``lookups`` failed or were answered with something unusable."""
    return sum(isinstance(lookup.result, Failed | Invalid) for lookup in lookups)


def _fetching_registry(
    settings: RegistrySettings,
) -> CachingRegistry | OfflineRegistry | HttpRegistry:
    from audit.registry import CachingRegistry, HttpRegistry, OfflineRegistry

    source = settings.open()
    if not isinstance(source, CachingRegistry | OfflineRegistry | HttpRegistry):
        raise UsageError("mirror needs a registry URL, not a mirror file")
    return source


def _workflow_records(
    paths: Sequence[str],
    settings: RegistrySettings,
    source: CachingRegistry | OfflineRegistry | HttpRegistry,
    manifests: Sequence[Manifest],
) -> tuple[list[dict[str, Any]], int, list[str]]:
    from audit.workflows.mirroring import mirror_workflows

    entries = [e for m in manifests for e in m.entries]
    return mirror_workflows(paths, entries, settings.comfy_nodes(source))


def mirror_everything(settings: RegistrySettings, output: Path, comfy_nodes: bool = False) -> int:
    """Write every version (with ``comfy_nodes``, every version's class list too) and every Node
    record of the registry to ``output``; how many records. Raises `RegistryError` when a page
    of the listing fails."""
    from audit.registry import HttpRegistry, write_mirror
    from audit.registry.comfy_nodes import HttpComfyNodes
    from audit.workflows.mirroring import with_class_lists

    if "://" not in settings.registry or settings.offline:
        raise UsageError("mirror --all needs a registry URL and the network")
    # NOTE: opened like every other command's registry, so the URL checks are the same.
    source = replace(settings, no_cache=True).open()
    assert isinstance(source, HttpRegistry)
    records: Iterable[Mapping[str, Any]] = source.list_versions()
    if comfy_nodes:
        records = with_class_lists(records, HttpComfyNodes(source))
    return write_mirror(itertools.chain(records, source.list_nodes()), output)


def mirror_vulnerabilities(
    settings: RegistrySettings, manifests: Sequence[Manifest], folder: str
) -> WrittenAdvisories:
    """Write the advisories that the installed packages of ``manifests`` (their snapshots'
    ``pips`` or their ``<stem>.env.json`` profiles) need into ``folder``."""
    from audit.vulnerabilities import DEFAULT_OSV_URL, write_advisories

    source = settings.open_vulnerabilities(settings.vuln_db or DEFAULT_OSV_URL)
    if source is None:
        raise UsageError("--vulns needs a vulnerability source, not --vuln-db none")
    return write_advisories(source, installed_environments(manifests), folder)

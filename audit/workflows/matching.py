"""Match what workflows need against each host's installed packs: by registry id, or by
repository URL for git packs."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from audit.model import AuditedEntry, NodeKey
from audit.registry.interface import Pair
from audit.workflows.resolve import Need, WorkflowNeeds

__all__ = ["HostPacks", "needed_keys", "repository_path"]

_GITHUB = re.compile(r"^(?:[a-z+]+://)?(?:[^@/]+@)?[^/:]+[/:]", re.IGNORECASE)


def repository_path(url: str) -> str:
    """``owner/repo`` of a repository URL, lower-cased, without ``.git``.

    >>> repository_path("git@github.com:Owner/Repo.git")
    'owner/repo'
    """
    path = _GITHUB.sub("", url.strip()).strip("/").lower()
    return path.removesuffix(".git")


@dataclass(frozen=True)
class HostPacks:
    """Represents one host's installed packs, indexed for matching what workflows need."""

    by_id: Mapping[str, AuditedEntry]
    by_repository: Mapping[str, AuditedEntry]

    @classmethod
    def of(cls, audited: Sequence[AuditedEntry]) -> HostPacks:
        by_id: dict[str, AuditedEntry] = {}
        by_repository: dict[str, AuditedEntry] = {}
        # NOTE: an enabled copy wins over a disabled one of the same pack.
        for a in sorted(audited, key=lambda a: not a.entry.disabled):
            by_id[a.entry.node_id.lower()] = a
            if a.entry.url:
                by_repository[repository_path(a.entry.url)] = a
        return cls(by_id, by_repository)

    def match(self, need: Need) -> AuditedEntry | None:
        """The installed pack that ``need`` names: by repository for git packs, else by id."""
        if need.url is not None:
            found = self.by_repository.get(repository_path(need.url))
            if found is not None:
                return found
        return self.by_id.get(need.pack.lower()) if need.pack else None


def needed_keys(needs: Sequence[WorkflowNeeds], hosts: Mapping[str, HostPacks]) -> list[NodeKey]:
    """The installed pack versions whose class lists the verdicts need, each once."""
    distinct = {
        (need.pack, need.url): need
        for wn in needs
        for need in wn.needs
        if need.pack is not None and not need.core and need.checked
    }
    entries = {
        (found.entry.node_id, found.entry.version, found.entry.source): found.entry
        for packs in hosts.values()
        for need in distinct.values()
        if (found := packs.match(need)) is not None and not found.entry.disabled
    }
    keys: dict[Pair, NodeKey] = {}
    for entry in entries.values():
        key = entry.key
        if key is not None:
            keys.setdefault(key.normalized, key)
    return list(keys.values())

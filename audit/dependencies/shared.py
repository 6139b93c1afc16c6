"""Share one host's dependency audit with every host that has the same packs and environment."""

from __future__ import annotations

from collections.abc import Sequence

from audit.dependencies.host import audit_dependencies
from audit.dependencies.interface import DependencyAudit, PackRequirements
from audit.dependencies.markers import marker_facts
from audit.model import Environment
from audit.model.tagging import on_host

__all__ = ["SharedAudits"]


class SharedAudits:
    """Audits hosts' dependencies (`audit_dependencies`), once per distinct set of packs and
    environment: a fleet of hosts built from the same image costs one audit, not one per host.

    The key is what the audit reads, and nothing else: of each pack, its id, version, whether it
    is disabled and its requirement lines (the registry's, ``requirements.txt``, the
    pyproject's), in order; of the environment, the marker facts and the installed packages.
    """

    def __init__(self) -> None:
        self._seen: dict[object, tuple[str, DependencyAudit]] = {}

    def __call__(
        self, host: str, packs: Sequence[PackRequirements], env: Environment
    ) -> DependencyAudit:
        key = (_environment_key(env), tuple(_pack_key(pack) for pack in packs))
        seen = self._seen.get(key)
        if seen is None:
            audit = audit_dependencies(host, packs, env)
            self._seen[key] = (host, audit)
            return audit
        audited_host, audit = seen
        return audit if audited_host == host else _for_host(audit, host)


def _environment_key(env: Environment) -> object:
    installed = None if env.installed is None else tuple(env.installed.items())
    return tuple(sorted(marker_facts(env).items())), installed


def _pack_key(pack: PackRequirements) -> object:
    entry = pack.entry
    declared = entry.declared.dependencies if entry.declared is not None else None
    return (
        entry.node_id,
        entry.version,
        entry.disabled,
        pack.registry,
        entry.requirements,
        declared,
    )


def _for_host(audit: DependencyAudit, host: str) -> DependencyAudit:
    return DependencyAudit(
        on_host(audit.findings, host),
        audit.requirements.on_host(host),
    )

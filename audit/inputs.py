"""What a command audits, read from its options: the manifests (or the scanned install), the
environment, each host's own ``<stem>.env.json`` profile, and where the registry answers, the
vulnerability records and the comfy-nodes class lists come from.

The command line parses its options into these; the tests call them without click. NOTE: the
registry clients and the pipeline load requests, so they are imported when a source is opened or
an audit runs, never at import time, and so are the environment, manifest, host and policy
readers: ``--help`` stays fast.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from audit.errors import UsageError
from audit.hosts import read_hosts, sibling_profiles
from audit.model import AuditRun, Environment, Manifest
from audit.registry.interface import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from audit.pipeline import Auditor
    from audit.policy import Policy
    from audit.registry import AnyRegistry
    from audit.registry.comfy_nodes import ComfyNodesSource
    from audit.vulnerabilities import VulnerabilitySource
    from audit.workflows.audit import WorkflowAudit

__all__ = [
    "DEFAULT_REGISTRY",
    "Inputs",
    "RegistrySettings",
    "build_environment",
    "host_name",
    "installed_environments",
    "policy_rules",
]

DEFAULT_REGISTRY = DEFAULT_BASE_URL


def build_environment(
    env_profile: str | None,
    comfyui_path: str | None,
    python: str | None,
    os_name: str | None,
    accelerators: Sequence[str],
    **versions: str | None,
) -> Environment:
    """Return the environment: a profile, an install or this machine, then the flags."""
    from audit.environment import (
        describe_install,
        describe_interpreter,
        detect,
        load_profile,
        override,
    )

    if env_profile:
        base = load_profile(env_profile)
    elif comfyui_path:
        base = describe_install(comfyui_path, python=python)
    else:
        base = detect()
    if python and not comfyui_path:
        base = describe_interpreter(base, python)
    return override(base, "flag", os=os_name, accelerators=accelerators or None, **versions)


def host_name(host: str | None) -> str:
    """``host``, else this machine's name."""
    return host or platform.node() or "localhost"


@dataclass(frozen=True)
class Inputs:
    """Represents what a command audits: the manifests (or the scanned install), the
    environment, and each host's own profile."""

    manifests: list[Manifest]
    environment: Environment
    profiles: dict[str, Environment]
    installed_is_explicit: bool
    """A profile or --python gave the installed packages: they beat a snapshot's pips."""
    recorded: dict[str, object]

    @classmethod
    def read(
        cls,
        paths: Sequence[str],
        *,
        manifest_format: str,
        host: str | None,
        comfyui_path: str | None,
        python: str | None,
        env_profile: str | None,
        os_name: str | None,
        accelerators: Sequence[str],
        versions: Mapping[str, str | None],
        meanwhile: Callable[[], object] = lambda: None,
    ) -> Inputs:
        """Read the manifests at ``paths`` (or scan ``comfyui_path``) and the environment;
        ``meanwhile`` may be called while they are read (`audit.hosts.read_hosts`)."""
        from audit.manifest import ManifestFormat, scan_install

        if not paths and not comfyui_path:
            raise UsageError("give one or more MANIFEST files, or --comfyui PATH")
        environment = build_environment(
            env_profile, comfyui_path, python, os_name, accelerators, **versions
        )
        # NOTE: `fleet/*.json` also matches the hosts' `<stem>.env.json` profiles: not manifests.
        paths = tuple(m for m in paths if not m.endswith(".env.json")) or tuple(paths)
        targets = {k: v for k, v in versions.items() if k.startswith("target_")}
        read, profiles = (
            read_hosts(
                paths,
                host=host,
                format=ManifestFormat(manifest_format),
                targets=targets,
                meanwhile=meanwhile,
            )
            if paths
            else ([scan_install(str(comfyui_path), host=host_name(host))], {})
        )
        return cls(
            manifests=read,
            environment=environment,
            profiles=profiles,
            installed_is_explicit=bool(python)
            or (env_profile is not None and environment.installed is not None),
            recorded={
                "manifests": list(paths),
                "comfyui": comfyui_path,
                "python": python,
                "manifest_format": manifest_format,
                "host": host,
            },
        )

    @property
    def comfyui(self) -> str | None:
        """The install given with ``--comfyui``, if any."""
        comfyui = self.recorded.get("comfyui")
        return comfyui if isinstance(comfyui, str) else None

    @property
    def hosts(self) -> list[str]:
        """The hosts of the readable manifests, in order."""
        return list(dict.fromkeys(h for m in self.manifests if not m.unreadable for h in m.hosts))

    def audit(self, auditor: Auditor, recorded: Mapping[str, object]) -> AuditRun:
        return auditor.run(self.manifests, self.environment, recorded, self.profiles)


def installed_environments(manifests: Sequence[Manifest]) -> dict[str, Environment]:
    """Each host's environment from its snapshot's ``pips`` or its ``<stem>.env.json``."""
    from audit.pipeline import host_environment

    profiles = sibling_profiles(manifests)
    return {
        m.host: host_environment(
            m, profiles.get(m.path, Environment()), installed_is_explicit=False
        )
        for m in manifests
    }


def policy_rules(path: str | None) -> tuple[Path | None, Policy | None]:
    """The policy file given, else ``./comfy-audit.toml`` when there is one, and its rules."""
    from audit.policy import find_policy, load_policy

    found = Path(path) if path else find_policy(Path())
    return found, load_policy(found) if found else None


@dataclass(frozen=True)
class RegistrySettings:
    """Represents the registry options of a command."""

    registry: str
    cache_dir: str | None
    no_cache: bool
    max_age: timedelta
    refresh: bool
    offline: bool
    timeout: float
    retries: int
    concurrency: int
    chunk_size: int
    ca_bundle: str | None
    token_file: str | None
    allow_insecure_http: bool
    vuln_db: str | None

    def open(self) -> AnyRegistry:
        """The registry these options name (HTTP with its cache, the cache alone, a mirror)."""
        from audit.registry import load_token, open_registry

        return open_registry(
            self.registry,
            allow_insecure_http=self.allow_insecure_http,
            cache_dir=self.cache_folder,
            max_age=self.max_age,
            refresh=self.refresh,
            offline=self.offline,
            token=load_token(os.environ, self.token_file),
            ca_bundle=self.ca_bundle,
            timeout=self.timeout,
            retries=self.retries,
            concurrency=self.concurrency,
            chunk_size=self.chunk_size,
        )

    @property
    def cache_folder(self) -> str | Path | None:
        """Where answers are cached; ``None`` with ``--no-cache``."""
        from audit.registry import default_cache_dir

        return None if self.no_cache else (self.cache_dir or default_cache_dir())

    @property
    def vulnerability_db(self) -> str:
        """``--vuln-db``, or what it is by default for these registry options."""
        from audit.vulnerabilities import default_vuln_db

        return self.vuln_db or default_vuln_db(
            self.registry, DEFAULT_REGISTRY, offline=self.offline
        )

    def open_vulnerabilities(self, spec: str | None = None) -> VulnerabilitySource | None:
        """The vulnerability source of ``spec`` (default: `vulnerability_db`); ``None``: none."""
        from audit.vulnerabilities import open_vulnerability_source

        return open_vulnerability_source(
            spec or self.vulnerability_db,
            cache_dir=self.cache_folder,
            max_age=self.max_age,
            refresh=self.refresh,
            offline=self.offline,
            allow_insecure_http=self.allow_insecure_http,
            timeout=self.timeout,
            retries=self.retries,
            concurrency=self.concurrency,
            ca_bundle=self.ca_bundle,
        )

    def comfy_nodes(self, source: AnyRegistry) -> ComfyNodesSource:
        """The comfy-nodes answers that go with ``source`` (HTTP and cache, or the mirror)."""
        from audit.registry.comfy_nodes_cache import open_comfy_nodes

        return open_comfy_nodes(self.registry, source, max_age=self.max_age, refresh=self.refresh)

    def workflow_audit(
        self,
        source: AnyRegistry,
        paths: Sequence[str],
        node_map: str | None,
        comfyui: str | None = None,
    ) -> WorkflowAudit:
        """The judge of which hosts can run the workflows at ``paths``."""
        from audit.workflows.prepare import resolve_workflows

        comfy_nodes = self.comfy_nodes(source)
        resolved = resolve_workflows(paths, comfy_nodes, comfyui=comfyui, node_map=node_map)
        return resolved.audit(comfy_nodes)

    def recorded(self) -> dict[str, object]:
        """What a run's ``run.json`` records of these options."""
        return {
            "registry": self.registry,
            "vuln_db": self.vulnerability_db,
            "offline": self.offline,
            "max_age_seconds": self.max_age.total_seconds(),
        }

    def stale_warning(self, source: AnyRegistry) -> str | None:
        """A warning when ``source``'s data is older than ``--max-age``, else ``None``."""
        from audit.registry import stale_data_warning

        return stale_data_warning(source, self.max_age)

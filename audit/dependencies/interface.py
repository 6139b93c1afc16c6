"""What the dependency audit takes and gives: its input per pack, its result, its check codes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from audit.catalogue import severities
from audit.model import Finding, ManifestEntry, RequirementRows, Severity

__all__ = ["DEPENDENCY_CHECKS", "DependencyAudit", "PackRequirements"]

DEPENDENCY_CHECKS: Mapping[str, Severity] = severities("dependency")
"""Every check code of the dependency audit → its default severity (`audit.catalogue`); a finding
about a disabled pack is always ``info``."""


@dataclass(frozen=True)
class PackRequirements:
    """Represents one installed pack and the pip requirements it states.

    The local requirements are the lines of ``entry.requirements`` (the pack's
    ``requirements.txt``) and ``entry.declared.dependencies`` (its static
    ``[project].dependencies``).
    """

    entry: ManifestEntry
    registry: tuple[str, ...] | None
    """The registry's ``dependencies`` of this version; ``None`` when the registry gave no answer.
    Often ``[]``: packs that read ``requirements.txt`` dynamically publish none (registry.md
    §2.2)."""


@dataclass(frozen=True)
class DependencyAudit:
    """Represents the result of auditing one host: its findings and its ``requirements`` rows."""

    findings: tuple[Finding, ...]
    requirements: RequirementRows

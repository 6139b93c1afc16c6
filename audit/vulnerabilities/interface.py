"""What the vulnerability stage takes and gives: the source protocol and its result rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from audit.catalogue import severities
from audit.model import DistributionAdvice, Finding, Severity, VulnerabilityRow
from audit.vulnerabilities.advisory import Advisory

__all__ = [
    "VULNERABILITY_CHECKS",
    "Candidates",
    "DistributionAdvice",
    "Pair",
    "VulnerabilityAudit",
    "VulnerabilityRow",
    "VulnerabilitySource",
]

VULNERABILITY_CHECKS: Mapping[str, Severity] = severities("vulnerability")
"""The check codes of this stage → their default severity; a ``vulnerability.known`` finding
takes its severity from the CVSS score instead (warning when there is none)."""

Pair = tuple[str, str]
"""A canonical distribution name and the public release it is installed at: ``("torch",
"2.5.1")``."""


@dataclass(frozen=True)
class Candidates:
    """Represents a source's answer: for each pair, the records that may affect it.

    The stage matches them itself, so that every source gives the same findings.
    """

    advisories: Mapping[Pair, tuple[Advisory, ...]]
    failed: Mapping[Pair, str] = field(default_factory=dict)
    """Pairs whose records could not be had, with the reason."""


@runtime_checkable
class VulnerabilitySource(Protocol):
    """Where advisories come from: the OSV API, an offline database."""

    @property
    def name(self) -> str:
        """What the source is, for messages and ``run.json``: a URL or a path."""
        ...

    def candidates(self, pairs: Sequence[Pair]) -> Candidates:
        """The records that may affect each of ``pairs``; never raises for a bad answer."""
        ...


@dataclass(frozen=True)
class VulnerabilityAudit:
    """Represents the stage's result for a whole run."""

    findings: tuple[Finding, ...] = ()
    rows: tuple[VulnerabilityRow, ...] = ()
    advice: tuple[DistributionAdvice, ...] = ()

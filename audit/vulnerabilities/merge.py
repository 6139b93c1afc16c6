"""One vulnerability from many records: aliases merged transitively, its id, score and fix."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packaging.version import Version

from audit.model import Severity
from audit.vulnerabilities.advisory import Advisory

__all__ = ["Vulnerability", "group_aliases", "merge", "severity_of", "vector_score"]


@dataclass(frozen=True)
class Vulnerability:
    """Represents one vulnerability of one installed distribution, however many ids it has."""

    vuln_id: str
    """The PYSEC id, else the GHSA id, else the first id (DESIGN.md)."""
    aliases: tuple[str, ...]
    """Every other id of the merged records and their aliases, sorted."""
    score: float | None
    """The CVSS base score: the highest v4 among the records, else the highest v3."""
    summary: str
    fixed: tuple[Version, ...]
    """Every fixed version the records name for the distribution, ascending."""
    malicious: bool
    """A ``MAL-`` record: a malicious package rather than a flaw."""

    @property
    def severity(self) -> Severity:
        return severity_of(self.score, malicious=self.malicious)

    def fixed_above(self, installed: Version) -> Version | None:
        """The nearest fixed version above ``installed``, or ``None``."""
        return next((v for v in self.fixed if v > installed), None)


def severity_of(score: float | None, *, malicious: bool = False) -> Severity:
    """The severity of a CVSS base score (no score: warning; malicious: critical).

    >>> [severity_of(s).label for s in (9.8, 7.0, 4.0, 3.9, None)]
    ['critical', 'error', 'warning', 'info', 'warning']
    """
    if malicious:
        return Severity.CRITICAL
    if score is None:
        return Severity.WARNING
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.ERROR
    return Severity.WARNING if score >= 4.0 else Severity.INFO


@functools.lru_cache(maxsize=4096)
def vector_score(kind: str, vector: str) -> float | None:
    """The base score of a CVSS v3 or v4 vector; ``None`` for other kinds or a bad vector.

    >>> vector_score("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    9.8
    """
    from cvss import CVSS3, CVSS4  # type: ignore[import-untyped]  # NOTE: loaded when needed

    try:
        if kind == "CVSS_V3" and vector.startswith("CVSS:3"):
            return float(CVSS3(vector).base_score)
        if kind == "CVSS_V4" and vector.startswith("CVSS:4"):
            return float(CVSS4(vector).base_score)
    except Exception:  # NOTE: the package raises its own kinds for bad vectors
        return None
    return None


def group_aliases(advisories: Sequence[Advisory]) -> list[list[Advisory]]:
    """Group records that name one another, directly or through shared aliases."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        while parent.setdefault(name, name) != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for advisory in advisories:
        for alias in advisory.aliases:
            parent[root(alias)] = root(advisory.id)
    groups: dict[str, list[Advisory]] = {}
    for advisory in advisories:
        groups.setdefault(root(advisory.id), []).append(advisory)
    return list(groups.values())


def merge(group: Sequence[Advisory], distribution: str) -> Vulnerability:
    """One `Vulnerability` of ``distribution`` from records that are all about it."""
    names = sorted({n for a in group for n in (a.id, *a.aliases)})
    ids = sorted(a.id for a in group)
    vuln_id = _preferred(names, ids)
    preferred = _by_preference(group, vuln_id)
    # NOTE: a record's own summary beats another's first sentence of details.
    summary = next((a.summary for a in preferred if _has_summary(a)), None)
    summary = summary or next((a.summary for a in preferred if a.summary), "")
    return Vulnerability(
        vuln_id=vuln_id,
        aliases=tuple(n for n in names if n != vuln_id),
        score=_score(group),
        summary=summary,
        fixed=tuple(sorted({v for a in group for v in a.fixes(distribution)})),
        malicious=any(n.startswith("MAL-") for n in names),
    )


def _preferred(names: Sequence[str], ids: Sequence[str]) -> str:
    for prefix in ("PYSEC-", "GHSA-"):
        found = [n for n in names if n.startswith(prefix)]
        if found:
            return found[0]
    return ids[0]


def _by_preference(group: Iterable[Advisory], vuln_id: str) -> list[Advisory]:
    return sorted(group, key=lambda a: (a.id != vuln_id, not a.id.startswith("GHSA-"), a.id))


def _has_summary(advisory: Advisory) -> bool:
    text = advisory.record.get("summary")
    return isinstance(text, str) and bool(text.strip())


def _score(group: Iterable[Advisory]) -> float | None:
    vectors = [v for a in group for v in a.vectors]
    for kind in ("CVSS_V4", "CVSS_V3"):
        computed = (vector_score(k, vector) for k, vector in vectors if k == kind)
        scores = [s for s in computed if s is not None]
        if scores:
            return max(scores)
    return None

"""Aliases merged transitively, the id chosen, the score and the severity."""

from __future__ import annotations

import pytest
from packaging.version import Version

from audit.model import Severity
from audit.vulnerabilities.advisory import Advisory, parse_advisory
from audit.vulnerabilities.merge import group_aliases, merge, severity_of, vector_score
from tests.vulnerabilities.support import RECORDS, V3_CRITICAL, V4_CRITICAL, V4_LOW, osv_record


def advisories(*idents: str) -> list[Advisory]:
    found = [parse_advisory(r) for r in RECORDS if r["id"] in idents]
    return [a for a in found if a is not None]


def test_records_naming_one_cve_are_one_vulnerability() -> None:
    groups = group_aliases(
        advisories("PYSEC-2023-74", "GHSA-j8r2-6x86-q33q", "GHSA-9wx4-h78v-vm56")
    )
    merged = sorted((merge(g, "requests") for g in groups), key=lambda v: v.vuln_id)
    assert [(v.vuln_id, v.aliases) for v in merged] == [
        ("GHSA-9wx4-h78v-vm56", ("CVE-2024-35195",)),
        ("PYSEC-2023-74", ("CVE-2023-32681", "GHSA-j8r2-6x86-q33q")),
    ]
    # the PYSEC record has no summary and no vector: the GHSA's are used
    assert merged[1].summary == "Unintended leak of Proxy-Authorization header in requests"
    assert merged[1].score == 5.3


def test_merging_is_transitive_through_a_chain() -> None:
    chain = [
        parse_advisory(osv_record("OSV-1", "a", aliases=["CVE-1"])),
        parse_advisory(osv_record("OSV-2", "a", aliases=["CVE-2"])),
        parse_advisory(osv_record("GHSA-x", "a", aliases=["CVE-1", "CVE-2"])),
    ]
    (group,) = group_aliases([a for a in chain if a is not None])
    assert merge(group, "a").vuln_id == "GHSA-x"


def test_the_highest_v4_score_wins_over_v3() -> None:
    merged = merge(advisories("PYSEC-2025-41", "GHSA-53q9-r3pm-6pq6"), "torch")
    assert (merged.vuln_id, merged.score, merged.severity) == (
        "PYSEC-2025-41",
        9.3,
        Severity.CRITICAL,
    )
    assert merged.fixed_above(Version("2.5.1")) == Version("2.6.0")
    assert merged.fixed_above(Version("2.6.0")) is None


@pytest.mark.parametrize(
    ("kind", "vector", "score"),
    [
        ("CVSS_V3", V3_CRITICAL, 9.8),
        ("CVSS_V4", V4_CRITICAL, 9.3),
        ("CVSS_V4", V4_LOW, 2.0),
        ("CVSS_V3", "CVSS:3.1/garbage", None),
        ("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P", None),
        ("CVSS_V4", V3_CRITICAL, None),
    ],
)
def test_vector_score(kind: str, vector: str, score: float | None) -> None:
    assert vector_score(kind, vector) == score


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (10.0, Severity.CRITICAL),
        (9.0, Severity.CRITICAL),
        (8.9, Severity.ERROR),
        (7.0, Severity.ERROR),
        (6.9, Severity.WARNING),
        (4.0, Severity.WARNING),
        (3.9, Severity.INFO),
        (0.0, Severity.INFO),
        (None, Severity.WARNING),
    ],
)
def test_severity_of(score: float | None, severity: Severity) -> None:
    assert severity_of(score) is severity


def test_malicious_is_critical_whatever_the_score() -> None:
    merged = merge(advisories("MAL-2026-15859"), "0requests")
    assert merged.malicious and merged.severity is Severity.CRITICAL

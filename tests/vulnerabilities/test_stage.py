"""The stage's advice: the version to upgrade to, or the pack that holds the fix back."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.model import Environment, RequirementRow
from audit.vulnerabilities import OfflineDatabase, audit_vulnerabilities


def requirement(node_id: str, distribution: str, specifier: str) -> RequirementRow:
    return RequirementRow(
        "h", node_id, "1.0", f"{distribution}{specifier}", distribution, specifier, None,
        "registry", None, None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("specifiers", "recommended", "blocked_by"),
    [
        ([], "2.6.0", ()),
        (["<3"], "2.6.0", ()),
        ([">=2.7.1"], "2.7.1", ()),
        ([">=2.7.1", "<2.8"], "2.7.1", ()),
        (["<2.6"], None, ("p0 1.0 requires torch<2.6",)),
        (["==2.5.1", ">=2.0"], None, ("p0 1.0 requires torch==2.5.1",)),
        ([">=2.7", "<2.7"], None, ("p1 1.0 requires torch<2.7",)),
        (["not a specifier"], "2.6.0", ()),
    ],
)
def test_upgrade_advice(
    osv_zip: Path, specifiers: list[str], recommended: str | None, blocked_by: tuple[str, ...]
) -> None:
    hosts = {"h": Environment(installed={"torch": "2.5.1+cu124"})}
    rows = [requirement(f"p{i}", "torch", s) for i, s in enumerate(specifiers)]
    (advice,) = audit_vulnerabilities(OfflineDatabase(osv_zip), hosts, rows).advice
    assert (advice.recommended_version, advice.blocked_by) == (recommended, blocked_by)


def test_no_fix_no_advice(osv_zip: Path) -> None:
    hosts = {"h": Environment(installed={"transformers": "4.30.0", "0requests": "0.0.1"})}
    audit = audit_vulnerabilities(OfflineDatabase(osv_zip), hosts, [])
    assert (len(audit.rows), audit.advice) == (2, ())


def test_unknown_or_url_installs_are_not_looked_up(osv_zip: Path) -> None:
    hosts = {"a": Environment(installed=None), "b": Environment(installed={"torch": None})}
    assert audit_vulnerabilities(OfflineDatabase(osv_zip), hosts, []).rows == ()


def test_no_source_no_check() -> None:
    hosts = {"h": Environment(installed={"torch": "2.5.1"})}
    assert audit_vulnerabilities(None, hosts, []).findings == ()


def test_doctests() -> None:
    import doctest

    from audit.vulnerabilities import advisory, factory, merge

    for module in (advisory, factory, merge):
        assert doctest.testmod(module).failed == 0, module.__name__

"""The catalogue of check codes is the one list: the README table and every stage agree with it."""

from __future__ import annotations

import re
from pathlib import Path

from audit.catalogue import CATALOGUE, severities
from audit.checks import CHECKS
from audit.dependencies import DEPENDENCY_CHECKS
from audit.policy import KNOWN_CHECKS, POLICY_CHECKS
from audit.vulnerabilities import VULNERABILITY_CHECKS
from audit.workflows.verdict import WORKFLOW_CHECKS

README = Path(__file__).resolve().parent.parent / "README.md"
ROW = re.compile(r"^\| `([^`]+)` \| (\w+) \| (.*) \|$", re.MULTILINE)


def test_the_readme_table_is_the_catalogue() -> None:
    section = README.read_text().split("\n## Check codes\n", 1)[1].split("\n## ", 1)[0]
    rows = ROW.findall(section)
    assert rows == [(c.code, c.severity.label, c.meaning) for c in CATALOGUE]


def test_every_stage_reads_its_codes_from_the_catalogue() -> None:
    assert severities() == {
        **CHECKS,
        **DEPENDENCY_CHECKS,
        **POLICY_CHECKS,
        **VULNERABILITY_CHECKS,
        **WORKFLOW_CHECKS,
    }
    assert {c.code for c in CATALOGUE} == KNOWN_CHECKS
    assert len(KNOWN_CHECKS) == len(CATALOGUE)


def test_families_are_the_part_before_the_dot() -> None:
    assert {c.family for c in CATALOGUE} == {
        "accelerator",
        "comfyui",
        "dependency",
        "env",
        "frontend",
        "manifest",
        "node",
        "os",
        "pack",
        "policy",
        "publisher",
        "registry",
        "security",
        "status",
        "vulnerability",
        "workflow",
    }
    assert all(c.code.count(".") == 1 and c.meaning for c in CATALOGUE)

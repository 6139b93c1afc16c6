"""Auditing one host: rows, requirement-vs-installed checks, unknown facts and disabled packs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from audit.dependencies import DEPENDENCY_CHECKS, DependencyAudit, audit_dependencies
from audit.model import Finding, FindingSource, RequirementRow, RequirementRows, Severity
from tests.dependencies.conftest import HOST, env, pack


def _checks(result: DependencyAudit) -> list[tuple[str | None, str]]:
    return [(f.node_id, f.check) for f in result.findings]


def test_default_severities_are_the_documented_ones() -> None:
    assert dict(DEPENDENCY_CHECKS) == {
        "dependency.missing": Severity.ERROR,
        "dependency.unsatisfied": Severity.ERROR,
        "dependency.conflict": Severity.ERROR,
        "dependency.variant-clash": Severity.WARNING,
        "dependency.spec-invalid": Severity.WARNING,
        "dependency.compromised": Severity.CRITICAL,
    }


@pytest.mark.parametrize(
    ("line", "installed", "python", "os", "satisfied", "check"),
    [
        ("torch==2.9.1", {"torch": "2.9.1+cu126"}, "3.11.9", "linux", True, None),
        ("torch>=2.9,<2.10", {"torch": "2.9.1+cu126"}, "3.11.9", "linux", True, None),
        ("torch>2.9.1", {"torch": "2.9.1+cu126"}, "3.11.9", "linux", False, "unsatisfied"),
        ("torch==2.9.1+cu128", {"torch": "2.9.1+cu126"}, "3.11.9", "linux", False, "unsatisfied"),
        ("numpy<2", {"numpy": "2.1.0"}, "3.11.9", "linux", False, "unsatisfied"),
        ("numpy<2", {"numpy": "2.0.0rc1"}, "3.11.9", "linux", False, "unsatisfied"),
        ("numpy>=2.0.0rc1", {"numpy": "2.0.0rc2"}, "3.11.9", "linux", True, None),
        ("numpy>=1.26", {"numpy": "2.1.0.dev0"}, "3.11.9", "linux", True, None),
        ("numpy", {}, "3.11.9", "linux", False, "missing"),
        ("numpy>=1.26", {"torch": "2.9.1"}, "3.11.9", "linux", False, "missing"),
        ("Opencv_Python>=4", {"opencv-python": "4.9.0.80"}, "3.11.9", "linux", True, None),
        ("opencv-python>=4", {"OpenCV_Python": "3.4.2"}, "3.11.9", "linux", False, "unsatisfied"),
        ("mido[ports-rtmidi]>=1.3", {"mido": "1.3.2"}, "3.11.9", "linux", True, None),
        ("imageio===2.28.1", {"imageio": "2.28.1"}, "3.11.9", "linux", True, None),
        ("imageio===2.28.1", {"imageio": "2.28.1.0"}, "3.11.9", "linux", False, "unsatisfied"),
        ('pywin32; platform_system=="Windows"', {}, "3.11.9", "linux", True, None),
        ('pywin32; platform_system=="Windows"', {}, "3.11.9", "windows", False, "missing"),
        ('pywin32; platform_system=="Windows"', {}, "3.11.9", None, None, None),
        ('numpy>=2; python_version >= "3.12"', {"numpy": "1.26.4"}, "3.11.9", "linux", True, None),
        (
            'numpy>=2; python_version >= "3.12"',
            {"numpy": "1.26.4"},
            "3.12.3",
            "linux",
            False,
            "unsatisfied",
        ),
        ('numpy>=2; python_version >= "3.12"', {"numpy": "1.26.4"}, None, "linux", None, None),
        ('tb-nightly; platform_machine == "x86_64"', {}, "3.11.9", "linux", None, None),
        ('torch; extra == "gpu"', {}, "3.11.9", "linux", True, None),
        (
            "cstr @ git+https://github.com/WASasquatch/cstr@0520c29",
            {"cstr": None},
            "3.11.9",
            "linux",
            True,
            None,
        ),
        (
            "cstr @ git+https://github.com/WASasquatch/cstr@0520c29",
            {},
            "3.11.9",
            "linux",
            False,
            "missing",
        ),
        ("git+https://github.com/WASasquatch/img2texture.git", {}, "3.11.9", "linux", None, None),
        ("torch>=2", {"torch": None}, "3.11.9", "linux", None, None),
        ("torch", {"torch": None}, "3.11.9", "linux", True, None),
        ("torch>=2", {"torch": "2.x-custom"}, "3.11.9", "linux", None, None),
        ("setuptools>=60", {"numpy": "1.26.4"}, "3.11.9", "linux", None, None),
        ("setuptools>=60", {"setuptools": "59.0"}, "3.11.9", "linux", False, "unsatisfied"),
    ],
    ids=lambda value: repr(value) if isinstance(value, str) else None,
)
def test_requirement_against_installed(
    line: str,
    installed: Mapping[str, str | None],
    python: str | None,
    os: str | None,
    satisfied: bool | None,
    check: str | None,
) -> None:
    result = audit_dependencies(
        HOST, [pack(requirements=[line])], env(installed, os=os, python=python)
    )
    (row,) = result.requirements
    assert row.satisfied is satisfied
    expected = [] if check is None else [("comfyui-foo", f"dependency.{check}")]
    assert _checks(result) == expected


def test_findings_name_what_is_wanted_and_what_is_installed() -> None:
    packs = [pack(requirements=["torch>=2.1", "torch<2.9", "numpy>=1.26,<2", "einops"])]
    result = audit_dependencies(HOST, packs, env({"torch": "2.9.1+cu126", "numpy": "1.26.4"}))
    assert [(f.check, f.message, f.expected, f.actual) for f in result.findings] == [
        (
            "dependency.unsatisfied",
            "torch 2.9.1+cu126 is installed, but the pack requires torch<2.9",
            "<2.9",
            "2.9.1+cu126",
        ),
        ("dependency.missing", "einops is required but not installed", "einops", "not installed"),
    ]
    assert all(
        f.severity is Severity.ERROR and f.source is FindingSource.LOCAL for f in result.findings
    )


def test_a_partial_list_reports_nothing_missing_but_still_what_is_unmet() -> None:
    """A venv that also sees the system's packages: those were not read, so may be there."""
    packs = [pack(requirements=["torch<2.9", "einops"])]
    partial = replace(env({"torch": "2.9.1"}), installed_partial=True)
    result = audit_dependencies(HOST, packs, partial)
    assert [f.check for f in result.findings] == ["dependency.unsatisfied"]


def test_unknown_installed_packages_give_one_env_unknown_finding_per_host() -> None:
    packs = [
        pack("comfyui-foo", "1.0.0", ["numpy<2", "opencv-python", "einops"]),
        pack("comfyui-bar", "2.1.0", ["numpy>=2"]),
    ]
    result = audit_dependencies(HOST, packs, env(None))
    assert result.findings[0] == Finding(
        host=HOST,
        node_id=None,
        version=None,
        check="env.unknown",
        severity=Severity.INFO,
        message="installed packages unknown: missing, unmet and compromised ones not checked",
        source=FindingSource.ENVIRONMENT,
    )
    assert _checks(result) == [
        (None, "env.unknown"),
        ("comfyui-foo", "dependency.conflict"),
        ("comfyui-bar", "dependency.conflict"),
    ]
    assert {(r.installed_version, r.satisfied) for r in result.requirements} == {(None, None)}


def test_a_host_without_packs_still_says_installed_packages_are_unknown() -> None:
    assert _checks(audit_dependencies(HOST, [], env(None))) == [(None, "env.unknown")]
    assert audit_dependencies(HOST, [], env({})) == DependencyAudit((), RequirementRows())


def test_findings_about_a_disabled_pack_are_info_and_it_takes_no_part_in_conflicts() -> None:
    packs = [
        pack("on", "1.0.0", ["numpy>=2", "opencv-python"]),
        pack(
            "off",
            "1.0.0",
            ["numpy<2", "numpy<1.24>=1.18", "einops", "opencv-python-headless"],
            disabled=True,
        ),
    ]
    result = audit_dependencies(HOST, packs, env({"numpy": "2.1.0", "opencv-python": "4.9.0.80"}))
    assert [(f.node_id, f.check, f.severity) for f in result.findings] == [
        ("off", "dependency.spec-invalid", Severity.INFO),
        ("off", "dependency.unsatisfied", Severity.INFO),
        ("off", "dependency.missing", Severity.INFO),
        ("off", "dependency.missing", Severity.INFO),
    ]
    assert [r.node_id for r in result.requirements] == ["on"] * 2 + ["off"] * 4


def test_the_same_requirement_from_both_sources_gives_two_rows_and_one_finding() -> None:
    packs = [
        pack(
            requirements=["numpy<2", "# base", "-r extra.txt", "numpy<2"],
            registry=["numpy<2", "-r extra.txt"],
            declared=["numpy<2"],
        )
    ]
    result = audit_dependencies(HOST, packs, env({"numpy": "2.1.0"}))
    assert [(r.requirement, r.source) for r in result.requirements] == [
        ("numpy<2", "registry"),
        ("-r extra.txt", "registry"),
        ("numpy<2", "local"),
        ("-r extra.txt", "local"),
    ]
    assert _checks(result) == [
        ("comfyui-foo", "dependency.spec-invalid"),
        ("comfyui-foo", "dependency.unsatisfied"),
    ]


def test_rows_record_every_line_as_written() -> None:
    packs = [
        pack(
            "comfyui-foo",
            None,
            ["opencv_python>=4.7 # cv2", 'pywin32; platform_system=="Windows"', "numpy<1.24>=1.18"],
            registry=["git+https://github.com/cozy-comfyui/cozy_comfyui@main#egg=cozy_comfyui"],
        )
    ]
    result = audit_dependencies(HOST, packs, env({"opencv-python": "4.9.0.80"}))
    assert tuple(result.requirements) == (
        RequirementRow(
            host=HOST,
            node_id="comfyui-foo",
            version=None,
            requirement="git+https://github.com/cozy-comfyui/cozy_comfyui@main#egg=cozy_comfyui",
            distribution="cozy-comfyui",
            specifier=None,
            marker=None,
            source="registry",
            installed_version=None,
            satisfied=False,
        ),
        RequirementRow(
            host=HOST,
            node_id="comfyui-foo",
            version=None,
            requirement="opencv_python>=4.7 # cv2",
            distribution="opencv-python",
            specifier=">=4.7",
            marker=None,
            source="local",
            installed_version="4.9.0.80",
            satisfied=True,
        ),
        RequirementRow(
            host=HOST,
            node_id="comfyui-foo",
            version=None,
            requirement='pywin32; platform_system=="Windows"',
            distribution="pywin32",
            specifier=None,
            marker='platform_system == "Windows"',
            source="local",
            installed_version=None,
            satisfied=True,
        ),
        RequirementRow(
            host=HOST,
            node_id="comfyui-foo",
            version=None,
            requirement="numpy<1.24>=1.18",
            distribution=None,
            specifier=None,
            marker=None,
            source="local",
            installed_version=None,
            satisfied=None,
        ),
    )

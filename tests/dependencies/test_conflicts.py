"""Conflicts between packs on one host: which packs take part, who is named, and how."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from audit.dependencies import PackRequirements, audit_dependencies, conflicts_among
from audit.model import Finding, FindingSource, Severity
from tests.dependencies.conftest import HOST, env, pack


def _conflicts(packs: Sequence[PackRequirements], python: str | None = "3.11.9") -> list[Finding]:
    environment = env({}, python=python)
    result = audit_dependencies(HOST, packs, environment)
    found = [f for f in result.findings if f.check == "dependency.conflict"]
    # NOTE: the advisor's shortcut must agree: the conflicts alone, and those over one name.
    assert list(conflicts_among(HOST, packs, environment)) == found
    for name in {f.message.split(":", 1)[0] for f in found} | {"numpy"}:
        over = [f for f in found if f.message.startswith(f"{name}:")]
        assert list(conflicts_among(HOST, packs, environment, {name})) == over
    return found


def test_a_conflict_names_every_pack_and_its_range_with_one_row_per_pack() -> None:
    packs = [
        pack("comfyui-foo", "1.0.0", ["numpy<2"]),
        pack("comfyui-bar", "2.1.0", registry=["NumPy>=2"]),
        pack("comfyui-baz", "0.3.0", ["numpy"]),
    ]
    message = (
        "numpy: no version satisfies every pack: comfyui-bar 2.1.0 wants >=2, "
        "comfyui-foo 1.0.0 wants <2"
    )
    assert _conflicts(packs) == [
        Finding(
            HOST,
            "comfyui-foo",
            "1.0.0",
            "dependency.conflict",
            Severity.ERROR,
            message,
            FindingSource.LOCAL,
            expected="<2",
            actual="comfyui-bar 2.1.0 wants >=2",
        ),
        Finding(
            HOST,
            "comfyui-bar",
            "2.1.0",
            "dependency.conflict",
            Severity.ERROR,
            message,
            FindingSource.REGISTRY,
            expected=">=2",
            actual="comfyui-foo 1.0.0 wants <2",
        ),
    ]


@pytest.mark.parametrize(
    ("first", "second", "python", "involved"),
    [
        (["numpy<2"], ["numpy>=2"], "3.11.9", ["a", "b"]),
        (["numpy==1.0"], ["numpy>=1.1"], "3.11.9", ["a", "b"]),
        (["numpy~=1.4"], ["numpy>=1.5,<2"], "3.11.9", []),
        (["numpy!=1.0"], ["numpy==1.0"], "3.11.9", ["a", "b"]),
        (["numpy===1.0"], ["numpy==1.0"], "3.11.9", []),
        (["numpy==1.0.*"], ["numpy>=1.1"], "3.11.9", ["a", "b"]),
        (["torch==2.9.1+cu126"], ["torch>=2.9"], "3.11.9", []),
        (["torch==2.9.1+cu126"], ["torch==2.9.1+cu128"], "3.11.9", ["a", "b"]),
        (["numpy>=2.0.0rc1"], ["numpy<2.0.0"], "3.11.9", ["a", "b"]),
        (["opencv_python<4"], ["OpenCV-Python>=4"], "3.11.9", ["a", "b"]),
        (['numpy<2; python_version < "3.12"'], ["numpy>=2"], "3.11.9", ["a", "b"]),
        (['numpy<2; python_version < "3.12"'], ["numpy>=2"], "3.12.3", []),
        (['numpy<2; python_version < "3.12"'], ["numpy>=2"], None, []),
        (['numpy<2; platform_system == "Windows"'], ["numpy>=2"], "3.11.9", []),
        (['numpy<2; extra == "legacy"'], ["numpy>=2"], "3.11.9", []),
        (["numpy<2"], ["numpy @ git+https://github.com/numpy/numpy@main"], "3.11.9", []),
        (["numpy>=1.26"], ["numpy<2", "numpy>=1.20"], "3.11.9", []),
    ],
    ids=[
        "lt-vs-ge",
        "pin-vs-higher",
        "compatible-release-fits",
        "not-equal-vs-pin",
        "arbitrary-equals-pin",
        "prefix-vs-higher",
        "local-pin-fits",
        "two-local-pins",
        "pre-release-of-excluded",
        "names-canonicalised",
        "marker-holds",
        "marker-excludes-one-side",
        "marker-unknown",
        "other-os",
        "extra-never-requested",
        "url-has-no-range",
        "compatible",
    ],
)
def test_which_pairs_conflict(
    first: list[str], second: list[str], python: str | None, involved: list[str]
) -> None:
    packs = [pack("a", "1", first), pack("b", "1", second)]
    assert [f.node_id for f in _conflicts(packs, python)] == involved


def test_only_the_packs_of_a_conflicting_pair_are_involved() -> None:
    packs = [
        pack("narrow", "1", ["numpy<2"]),
        pack("loose", "1", ["numpy>=1.20"]),
        pack("modern", "1", ["numpy>=2"]),
    ]
    found = _conflicts(packs)
    assert [f.node_id for f in found] == ["narrow", "modern"]
    assert found[0].message.endswith("modern 1 wants >=2, narrow 1 wants <2")


def test_a_conflict_no_pair_shows_involves_every_pack_with_a_range() -> None:
    packs = [
        pack("a", "1", ["numpy>=1,<=3"]),
        pack("b", "1", ["numpy>=2,<=4"]),
        pack("c", "1", ["numpy!=2.*,!=3.*"]),
        pack("d", "1", ["numpy"]),
    ]
    assert [f.node_id for f in _conflicts(packs)] == ["a", "b", "c"]


def test_a_pack_whose_own_lines_admit_no_version_conflicts_alone() -> None:
    packs = [
        pack("self", "1.0", ["numpy>=2"], registry=["numpy<1"]),
        pack("other", "1.0", ["numpy<1.5"]),
        pack("fine", "1.0", ["numpy>=1.0"]),
    ]
    found = _conflicts(packs)
    assert [(f.node_id, f.message, f.expected, f.actual) for f in found] == [
        (
            "self",
            "numpy: no version satisfies the pack's own range: self 1.0 wants <1,>=2",
            "<1,>=2",
            "no version",
        ),
    ]
    assert found[0].source is FindingSource.LOCAL


def test_a_single_contradictory_line_is_a_conflict_of_its_pack() -> None:
    assert [f.message for f in _conflicts([pack("p", "1", ["numpy>=2,<1"])])] == [
        "numpy: no version satisfies the pack's own range: p 1 wants <1,>=2"
    ]


def test_conflicts_come_by_distribution_name() -> None:
    packs = [
        pack("a", "1", ["torch<2", "numpy<2"]),
        pack("b", "1", ["torch>=2", "numpy>=2"]),
    ]
    assert [f.message.split(":")[0] for f in _conflicts(packs)] == ["numpy"] * 2 + ["torch"] * 2

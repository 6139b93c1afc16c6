"""The exact conflict decision (packaging's): a table of ranges, and properties against versions."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from audit.dependencies import satisfiable


def _sets(*texts: str) -> list[SpecifierSet]:
    return [SpecifierSet(t) for t in texts]


def _admitted_by_all(witness: str, ranges: list[SpecifierSet]) -> bool:
    return all(r.contains(witness, prereleases=True) for r in ranges)


@pytest.mark.parametrize(
    ("ranges", "conflict"),
    [
        (["<2", ">=2"], True),
        (["<2", ">=1.26"], False),
        (["==1.0", ">=1.1"], True),
        (["==1.0", ">=1.0"], False),
        (["~=1.4", ">=1.5,<2"], False),
        (["~=1.4.2", ">=1.5"], True),
        (["~=1.4", ">=2"], True),
        (["!=1.0", "==1.0"], True),
        (["!=1.0", ">=1.0,<=1.0.0"], True),
        (["!=1.0", ">=1.0,<=1.1"], False),
        (["===1.0", "==1.0"], False),
        (["===1.0.0", "==1.0"], False),
        (["===1.0-rc1", "==1.0rc1"], False),
        (["===1.0", "===1.0.0"], True),
        (["===nightly", ">=0"], True),
        (["===nightly"], False),
        (["==1.0.*", ">=1.1"], True),
        (["==1.0.*", ">1.0"], False),
        (["!=1.*", ">=1.0,<2"], True),
        (["==2.9.1+cu126", ">=2.9"], False),
        (["==2.9.1+cu126", "==2.9.1"], False),
        (["==2.9.1+cu126", "==2.9.1+cu128"], True),
        (["==2.9.1+cu126", ">2.9.1"], True),
        (["==2.9.1+cu126", "!=2.9.1"], True),
        ([">=2.0.0rc1", "<2.0.0"], True),
        ([">=2.0.0rc1", "<2.0.0rc3"], False),
        ([">=2.0.0rc1", "<2.0.1"], False),
        ([">=1.0.dev0", "<1.0"], True),
        ([">1.0", "<1.0.post5"], True),
        ([">1.0", "<1.0.0.1"], False),
        ([">1.0a1", "<1.0a1.post5"], True),
        ([">1.0a1", "<1.0a2"], False),
        ([">=1!0", "<1.0"], True),
        ([">=1!0", "<2!0"], False),
        (["<0"], True),
        ([">=2,<1"], True),
        ([">=1,<=3", ">=2,<=4", "!=2.*,!=3.*"], True),
        ([">=1", "<3", "!=2.0"], False),
        ([], False),
    ],
    ids=lambda v: (" vs ".join(v) or "nothing") if isinstance(v, list) else ("no" if v else "ok"),
)
def test_conflict_decision(ranges: list[str], conflict: bool) -> None:
    assert satisfiable(_sets(*ranges)) is not conflict


# NOTE: a small alphabet, so that random ranges often touch each other's boundaries.
_RELEASES = st.lists(st.integers(0, 3), min_size=1, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)
_SUFFIXES = st.sampled_from(
    [
        "",
        "",
        "",
        "a0",
        "a1",
        "b2",
        "rc1",
        ".post0",
        ".post1",
        ".dev0",
        ".dev1",
        "a1.post0",
        "a1.dev0",
    ]
)
_OPERATORS = ["<", "<=", ">", ">=", "==", "!=", "~=", "==="]


@st.composite
def specifiers(draw: st.DrawFn) -> str:
    epoch = draw(st.sampled_from(["", "", "", "", "1!"]))
    release = draw(_RELEASES)
    operator = draw(st.sampled_from([*_OPERATORS, "==*", "!=*"]))
    if operator.endswith("*"):
        return f"{operator[:2]}{epoch}{release}.*"
    text = f"{operator}{epoch}{release}{draw(_SUFFIXES)}"
    if operator in ("==", "!=") and draw(st.booleans()):
        text += draw(st.sampled_from(["+cu126", "+cpu"]))
    return text


def _valid(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


range_sets = (
    st.lists(specifiers(), min_size=1, max_size=2)
    .map(lambda parts: _valid(",".join(parts)))
    .filter(lambda r: r is not None)
    .map(lambda r: r if r is not None else SpecifierSet())
)
range_lists = st.lists(range_sets, min_size=1, max_size=4)


@settings(deadline=None, max_examples=400)
@given(ranges=range_lists)
def test_order_and_duplicates_change_nothing(ranges: list[SpecifierSet]) -> None:
    assert satisfiable(ranges) is satisfiable([*reversed(ranges), *ranges])


@settings(deadline=None, max_examples=400)
@given(ranges=range_lists, extra=range_sets)
def test_adding_a_constraint_never_resolves_a_conflict(
    ranges: list[SpecifierSet], extra: SpecifierSet
) -> None:
    assume(not satisfiable(ranges))
    assert not satisfiable([*ranges, extra])
    assert not satisfiable([extra, *ranges])


def _grid() -> list[str]:
    releases = [
        ".".join(map(str, p)) for n in (1, 2) for p in itertools.product(range(4), repeat=n)
    ]
    releases += [".".join(map(str, p)) for p in itertools.product(range(2), repeat=3)]
    suffixes = ["", "a0", "a1", "rc1", ".post0", ".post1", ".dev0", ".dev1", "a1.post0", "a1.dev0"]
    versions = [f"{e}{r}{s}" for e in ("", "1!") for r in releases for s in suffixes]
    return [*versions, *(f"{r}+{label}" for r in releases for label in ("cu126", "cpu"))]


GRID = _grid()


@settings(deadline=None, max_examples=150)
@given(ranges=range_lists)
def test_a_reported_conflict_has_no_version_in_a_dense_grid(ranges: list[SpecifierSet]) -> None:
    # NOTE: completeness, checked by brute force: the decision may never miss a version.
    if not satisfiable(ranges):
        assert not any(_admitted_by_all(v, ranges) for v in GRID)


def test_versions_in_the_grid_parse() -> None:
    assert all(Version(v) for v in GRID)

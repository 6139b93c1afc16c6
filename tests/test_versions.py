"""Tests for audit.versions: local versions and declared ranges, PEP 440 and npm."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

import audit.versions
from audit.versions import VersionRange, parse_local_version, parse_range


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.3.40", "0.3.40"),
        ("v0.3.30", "0.3.30"),
        ("v0.12.3-16-gf350a842", "0.12.3"),
        ("v0.3.30-20-g5c5457a4-dirty", "0.3.30"),
        ("v0.3.40-dirty", "0.3.40"),
        ("0.4.0rc1", "0.4.0rc1"),
        ("1.20", "1.20"),
        ("1.20.5", "1.20.5"),
        ("  0.3.40\n", "0.3.40"),
        ("1.0.0-beta", "1.0.0b0"),
        ("f350a842", None),
        ("", None),
        ("   ", None),
        ("nightly", None),
        ("latest", None),
        ("0.3.x", None),
        ("9" * 5000, None),
    ],
    ids=[
        "plain",
        "v-prefix",
        "git-describe",
        "git-describe-dirty",
        "dirty",
        "pre-release",
        "two-part",
        "frontend",
        "whitespace",
        "semver-pre-release",
        "commit",
        "empty",
        "blank",
        "nightly",
        "latest",
        "wildcard",
        "huge-number",
    ],
)
def test_parse_local_version(text: str, expected: str | None) -> None:
    parsed = parse_local_version(text)
    assert parsed == (Version(expected) if expected is not None else None)


RANGES = [
    # (id, text, versions inside, versions outside)
    # --- PEP 440, with comfy-cli's extra operators ---
    ("pep-lower", ">=0.3.0", ["0.3.0", "0.3.40", "0.12.3", "1.0.0"], ["0.2.9", "0.3.0rc1"]),
    ("pep-versions-not-text", ">=0.4.0", ["0.12.0", "0.10.1"], ["0.3.99"]),
    ("pep-upper-versions-not-text", "<0.4.0", ["0.3.99"], ["0.12.3", "0.4.0"]),
    ("pep-and", ">=1.0.0,<2.0.0", ["1.0.0", "1.99.0"], ["0.9.9", "2.0.0", "2.0.0rc1"]),
    ("pep-and-spaced", ">=1.0.0, <2.0.0", ["1.5.0"], ["2.0.0"]),
    ("pep-exclusive", ">0.1.3,<1.0.0", ["0.1.4", "0.12.0"], ["0.1.3", "1.0.0"]),
    ("pep-compatible", "~=1.0.0", ["1.0.0", "1.0.9"], ["1.1.0", "0.9.0"]),
    ("pep-not-equal", "!=1.2.3", ["1.2.4", "1.2.2"], ["1.2.3"]),
    ("pep-equal", "==1.0.0", ["1.0.0", "1.0"], ["1.0.1"]),
    ("pep-wildcard", "==1.2.*", ["1.2.0", "1.2.9"], ["1.3.0"]),
    ("comfy-cli-diamond", "<>1.0.0", ["1.0.1"], ["1.0.0"]),
    ("comfy-cli-single-equals", "=1.0.0", ["1.0.0"], ["1.0.1"]),
    ("comfy-cli-bare-version", "1.5.2", ["1.5.2"], ["1.5.3", "1.5.1"]),
    ("comfy-cli-beta-suffix", "==2.1.0-beta", ["2.1.0b0"], ["2.1.0"]),
    ("space-after-operator", ">= 1.0.0", ["1.0.0"], ["0.9.0"]),
    ("space-after-operators", "<= 2.0.0, >= 1.0.0", ["2.0.0", "1.0.0"], ["2.0.1"]),
    ("two-part-versions", ">=1.19,<1.22", ["1.19.0", "1.20.5", "1.21.9"], ["1.22.0", "1.18.9"]),
    ("trailing-comma", ">=1.0.0,", ["1.0.0"], ["0.9.0"]),
    ("empty-middle-part", ">=1.0.0,,<2.0.0", ["1.0.0"], ["2.0.0"]),
    ("outer-whitespace", "  >=0.3.0 \n", ["0.3.0"], ["0.2.0"]),
    ("v-prefix-pep", ">=v1.0.0", ["1.0.0"], ["0.9.0"]),
    # --- npm semver ---
    ("npm-caret", "^1.2.3", ["1.2.3", "1.9.9"], ["1.2.2", "2.0.0", "2.0.0rc1"]),
    ("npm-caret-zero-minor", "^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),
    ("npm-caret-zero-zero", "^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
    ("npm-caret-partial", "^1.2", ["1.2.0", "1.9.0"], ["2.0.0", "1.1.9"]),
    ("npm-caret-zero-partial", "^0.0", ["0.0.9"], ["0.1.0"]),
    ("npm-caret-pre-release", "^1.2.3-beta.2", ["1.2.3b2", "1.2.3", "1.5.0"], ["1.2.3b1"]),
    ("npm-tilde", "~1.2.3", ["1.2.3", "1.2.9"], ["1.3.0", "1.2.2"]),
    ("npm-tilde-partial", "~1.2", ["1.2.0", "1.2.9"], ["1.3.0"]),
    ("npm-tilde-major", "~1", ["1.0.0", "1.9.0"], ["2.0.0"]),
    ("npm-tilde-arrow", "~>1.2.3", ["1.2.5"], ["1.3.0"]),
    ("npm-x-range", "1.2.x", ["1.2.0", "1.2.99"], ["1.3.0", "1.1.9"]),
    ("npm-x-range-major", "1.x", ["1.0.0", "1.99.0"], ["2.0.0", "0.9.0"]),
    ("npm-x-range-bare-partial", "1.20", ["1.20.0", "1.20.7"], ["1.21.0"]),
    ("npm-star", "*", ["0.0.1", "99.0.0", "1.0.0rc1"], []),
    ("npm-x", "x", ["0.3.40"], []),
    ("npm-hyphen", "1.0.0 - 2.0.0", ["1.0.0", "2.0.0"], ["0.9.9", "2.0.1"]),
    ("npm-hyphen-partial", "1.2 - 2.3", ["1.2.0", "2.3.9"], ["1.1.9", "2.4.0"]),
    ("npm-space-and", ">=0.3.0 <1.0.0", ["0.3.0", "0.12.3"], ["1.0.0", "0.2.9"]),
    ("npm-space-after-operator", ">= 0.3.0 < 1.0.0", ["0.5.0"], ["1.0.0"]),
    ("npm-or", "^1.0.0 || ^2.0.0", ["1.5.0", "2.5.0"], ["3.0.0", "0.9.0"]),
    ("npm-or-mixed-dialects", ">=1.0.0,<1.5.0 || ^2.0.0", ["1.4.0", "2.1.0"], ["1.6.0"]),
    ("npm-v-prefix", ">=v1.0.0 <v2", ["1.5.0"], ["2.0.0"]),
    ("npm-greater-partial", ">1.2 <2", ["1.3.0"], ["1.2.5", "2.0.0"]),
    ("npm-less-equal-partial", "<=1.2 >=1.0", ["1.2.9"], ["1.3.0"]),
    ("npm-zero-pre-release", ">=1.0.0 <1.1.0-0", ["1.0.5"], ["1.1.0a1", "1.1.0"]),
    ("npm-greater-than-everything", ">*", [], ["0.0.0", "1.0.0"]),
    # --- pre-releases installed locally count like any version ---
    ("pre-release-inside", ">=0.3.0,<0.4.0", ["0.3.41rc1"], ["0.4.0rc1"]),
    ("pre-release-npm", "^0.3.0", ["0.3.5rc1"], ["0.4.0rc1"]),
    ("pre-release-below-final", ">=0.4.0", ["0.4.1rc1"], ["0.4.0rc1"]),
]


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [case[1:] for case in RANGES],
    ids=[case[0] for case in RANGES],
)
def test_parse_range(text: str, inside: list[str], outside: list[str]) -> None:
    declared = parse_range(text)
    assert declared is not None
    assert declared.text == text.strip()
    assert [v for v in inside if not declared.contains(Version(v))] == []
    assert [v for v in outside if declared.contains(Version(v))] == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ">=",
        "<",
        ">=1.0.0,>=",
        ",",
        "latest",
        "nightly",
        "any version",
        "^",
        "~",
        "1.0.0 -",
        ">=1.0.0;<2.0.0",
        ">=1.0.0 ||",
        "||",
        "^1.0.0 || latest",
        ">=1.2.3-not.a.pep440.tag <2",
        "^" + "9" * 5000,
        ">=1.0.0\x00",
    ],
    ids=[
        "empty",
        "blank",
        "bare-operator",
        "bare-less-than",
        "trailing-bare-operator",
        "only-comma",
        "latest",
        "nightly",
        "words",
        "bare-caret",
        "bare-tilde",
        "open-hyphen",
        "semicolon",
        "empty-or-alternative",
        "only-or",
        "one-bad-alternative",
        "bad-pre-release",
        "huge-number",
        "control-character",
    ],
)
def test_parse_range_refuses(text: str) -> None:
    assert parse_range(text) is None


def test_range_str_is_its_text() -> None:
    declared = parse_range(" >=0.3.0,<1.0.0 ")
    assert declared is not None
    assert str(declared) == ">=0.3.0,<1.0.0"


def test_doctests() -> None:
    assert doctest.testmod(audit.versions).failed == 0


# --- invariants ---

_PRE = st.sampled_from(["", "rc1", "a0", "b2", ".post1", ".dev0"])
versions = st.builds(
    lambda major, minor, patch, pre: Version(f"{major}.{minor}.{patch}{pre}"),
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 4),
    _PRE,
)
_FULL = st.builds(
    lambda v: f"{v.major}.{v.minor}.{v.micro}", versions
)  # npm and PEP 440 agree on full X.Y.Z
pep_parts = st.builds(
    lambda op, v: f"{op}{v}",
    st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "~=", "<>", "=", ""]),
    _FULL,
)
npm_parts = st.builds(
    lambda op, v: f"{op}{v}",
    st.sampled_from(["<", "<=", ">", ">=", "=", "", "^", "~"]),
    st.one_of(_FULL, st.sampled_from(["1.x", "0.2", "1", "*"])),
)


@settings(deadline=None)
@given(first=pep_parts, second=pep_parts, version=versions)
def test_adding_a_pep440_constraint_never_admits_more(
    first: str, second: str, version: Version
) -> None:
    wide, narrow = parse_range(first), parse_range(f"{first},{second}")
    assert wide is not None and narrow is not None
    assert not narrow.contains(version) or wide.contains(version)


@settings(deadline=None)
@given(first=npm_parts, second=npm_parts, version=versions)
def test_adding_an_npm_constraint_never_admits_more(
    first: str, second: str, version: Version
) -> None:
    # NOTE: "^1.x" style tokens parse only as npm, so both ranges use the same dialect.
    wide, narrow = parse_range(f"{first} >=0.0.0"), parse_range(f"{first} >=0.0.0 {second}")
    assert wide is not None and narrow is not None
    assert not narrow.contains(version) or wide.contains(version)


@settings(deadline=None)
@given(first=npm_parts, second=pep_parts, version=versions)
def test_an_alternative_never_admits_fewer(first: str, second: str, version: Version) -> None:
    one, either = parse_range(first), parse_range(f"{first} || {second}")
    assert one is not None and either is not None
    assert not one.contains(version) or either.contains(version)


@settings(deadline=None)
@given(version=versions)
def test_lower_bound_contains_itself(version: Version) -> None:
    declared = parse_range(f">={version}")
    assert declared is not None and declared.contains(version)


@settings(deadline=None)
@given(version=versions)
def test_local_version_round_trips(version: Version) -> None:
    assert parse_local_version(f"v{version}") == version


_RANGE_ALPHABET = "0123456789.<>=!~^*xXv|, -+abcr"


@settings(deadline=None)
@given(text=st.one_of(st.text(), st.text(alphabet=_RANGE_ALPHABET)), version=versions)
def test_parse_range_never_raises(text: str, version: Version) -> None:
    declared = parse_range(text)
    assert declared is None or isinstance(declared, VersionRange)
    if declared is not None:
        declared.contains(version)  # nor does evaluating what it parsed


@settings(deadline=None)
@given(text=st.text())
def test_parse_local_version_never_raises(text: str) -> None:
    assert parse_local_version(text) is None or isinstance(parse_local_version(text), Version)

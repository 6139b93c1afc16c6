"""The order of versions: the registry's loose semver compared as versions, and a total order."""

from __future__ import annotations

import doctest
import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import audit.advisor.ordering
from audit.advisor import is_prerelease, order_versions, same_version, version_order
from audit.model import NodeVersion

#: (older, newer) pairs.
NEWER = [
    ("1.9.0", "1.10.0"),
    ("1.0.9", "1.0.2506230015"),
    ("1.0.2506230015", "1.1.0"),
    ("1.0.0-beta.9", "1.0.0-beta.10"),
    ("1.0.0-beta.10", "1.0.0-rc.1"),
    ("1.0.0-alpha", "1.0.0-alpha.1"),
    ("1.0.0-1", "1.0.0-alpha"),
    ("1.0.0-rc.1", "1.0.0"),
    ("0.8.11-bugfix", "0.8.11"),
    ("0.8.10", "0.8.11-bugfix"),
    ("1.0.0-RC.1", "1.0.0-rc.2"),
    ("1.0rc1", "1.0.0-rc.2"),
    ("1.0.0.dev1", "1.0.0-alpha"),
    ("1.0a1.dev1", "1.0a1"),
    ("1.0.0", "1.0.0.post1"),
    ("1.0.0.post1.dev2", "1.0.0.post1"),
    ("2.0.0", "1!0.1"),
    ("nightly", "0.0.1"),
    ("", "nightly"),
    ("garbage!", "0.0.0-alpha"),
    ("9" * 5000, "0.0.1"),
]
#: Different strings, the same version.
SAME = [("1.0", "1.0.0"), ("v1.2.3", "1.2.3"), ("1.2.3+build.7", "1.2.3"), ("1.0rc1", "1.0.0-rc.1")]


@pytest.mark.parametrize(("older", "newer"), NEWER, ids=[f"{a}<{b}"[:40] for a, b in NEWER])
def test_newer_ranks_above(older: str, newer: str) -> None:
    assert version_order(older) < version_order(newer)
    assert not same_version(older, newer)


@pytest.mark.parametrize(("one", "other"), SAME, ids=[f"{a}={b}" for a, b in SAME])
def test_spellings_of_one_version(one: str, other: str) -> None:
    assert same_version(one, other)
    assert version_order(one) != version_order(other)  # still apart: the order is total


@pytest.mark.parametrize(
    ("text", "pre"),
    [
        ("1.0.0-beta.9", True),
        ("0.8.11-bugfix", True),
        ("1.0rc1", True),
        ("1.0.0.dev3", True),
        ("1.0.2506230015", False),
        ("1.0.0+build", False),
        ("1.0.0.post1", False),
        ("nightly", False),
    ],
)
def test_prereleases(text: str, pre: bool) -> None:
    assert is_prerelease(text) is pre


def test_order_versions_ignores_the_registry_text_order() -> None:
    listed = ["1.9.0", "1.8.0", "1.2.0", "1.11.0-beta.1", "1.10.0", "1.0.0", "nightly"]
    ordered = order_versions([NodeVersion("a", v) for v in listed])
    assert [nv.version for nv in ordered] == [
        "1.11.0-beta.1",
        "1.10.0",
        "1.9.0",
        "1.8.0",
        "1.2.0",
        "1.0.0",
        "nightly",
    ]


VERSIONISH = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"v?[0-9]{1,3}(\.[0-9]{1,12}){0,4}(-[0-9A-Za-z.-]{1,12})?(\+[a-z0-9.]{1,6})?"),
    st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}((a|b|rc)[0-9]{1,2})?(\.post[0-9])?(\.dev[0-9])?"),
)


@settings(deadline=None)
@given(st.lists(VERSIONISH, max_size=12), st.randoms(use_true_random=False))
def test_order_versions_is_a_total_order(texts: list[str], rnd: random.Random) -> None:
    versions = [NodeVersion("a", t) for t in texts]
    shuffled = list(versions)
    rnd.shuffle(shuffled)
    ordered = order_versions(versions)
    # NOTE: equal strings are interchangeable; anything else must land in one place only.
    assert [nv.version for nv in order_versions(shuffled)] == [nv.version for nv in ordered]
    ranks = [version_order(nv.version) for nv in ordered]
    assert all(a >= b for a, b in itertools.pairwise(ranks))


@settings(deadline=None)
@given(VERSIONISH, VERSIONISH)
def test_two_strings_rank_apart_unless_equal(one: str, other: str) -> None:
    assert (version_order(one) == version_order(other)) == (one == other)
    assert same_version(one, other) == same_version(other, one)


def test_doctests() -> None:
    assert doctest.testmod(audit.advisor.ordering).failed == 0

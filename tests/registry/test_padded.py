"""Short versions are looked up in the registry's padded form too."""

from __future__ import annotations

import doctest
from collections.abc import Mapping, Sequence

import pytest

import audit.registry.padded
from audit.model import Failed, Found, LookupResult, NodeKey, NodeVersion, NotFound
from audit.registry.padded import lookup_padded, padded_version


@pytest.mark.parametrize(
    ("version", "padded"),
    [
        ("7.10", "7.10.0"),
        ("v7.10", "7.10.0"),
        ("V2", "2.0.0"),
        ("3", "3.0.0"),
        ("v1.2.3", "1.2.3"),
        ("1.2.3", None),
        ("1.2.3.4", None),
        ("1.0.0-beta.1", None),
        ("nightly", None),
        ("", None),
    ],
)
def test_padded_version(version: str, padded: str | None) -> None:
    assert padded_version(version) == padded


class Answers:
    """A registry that answers from a table and records what it was asked."""

    def __init__(self, answers: Mapping[NodeKey, LookupResult]) -> None:
        self.answers = answers
        self.asked: list[list[NodeKey]] = []

    def lookup(self, keys: Sequence[NodeKey]) -> Mapping[NodeKey, LookupResult]:
        self.asked.append(list(keys))
        return {k: self.answers.get(k, NotFound()) for k in keys}


SHORT, PADDED = NodeKey("a", "1.2"), NodeKey("a", "1.2.0")
FOUND_SHORT, FOUND_PADDED = Found(NodeVersion("a", "1.2")), Found(NodeVersion("a", "1.2.0"))


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({SHORT: FOUND_SHORT, PADDED: FOUND_PADDED}, FOUND_SHORT),
        ({PADDED: FOUND_PADDED}, FOUND_PADDED),
        ({PADDED: Failed("timeout")}, Failed("timeout")),
        ({}, NotFound()),
    ],
    ids=["exact-wins", "padded", "failure-beats-not-found", "neither"],
)
def test_lookup_padded(answers: dict[NodeKey, LookupResult], expected: LookupResult) -> None:
    registry = Answers(answers)
    assert lookup_padded(registry, [SHORT]) == {SHORT: expected}
    assert registry.asked == [[SHORT, PADDED]]


def test_doctests() -> None:
    assert doctest.testmod(audit.registry.padded).failed == 0

"""Decide exactly, without an index, whether version ranges share a version: reason on boundaries.

Every PEP 440 specifier admits a union of intervals of the version order, and the ends of those
intervals are a few versions derived from the specifier's own version (``<2`` ends at
``2.dev0``, ``>1.4`` after every ``1.4.postN``, ``==1.0.*`` covers ``[1.0.dev0, 1.1.dev0)``…).
Between two consecutive ends every specifier says the same thing about every version, so the
ranges share a version exactly when one of these candidates is admitted by all of them: each end
itself, the smallest version above each end, and for the end of a release family (no smallest
version above it) a release just beyond the family, longer than any release in the specifiers
and therefore below the next end. Candidates never need a local label, except the ones pinned
with ``==V+local``: no other specifier tells ``V+local`` from ``V``. ``===`` admits one string.

Pre-releases count: ranges conflict only when no version at all, final or pre-release,
satisfies every one of them (each is asked with ``prereleases=True``). A conflict that only a
pre-release resolves is rare, and pip accepts one as soon as a specifier names a pre-release.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

__all__ = ["admits", "common_version"]

_FLOOR = (Version("0.dev0"), Version("0"))
"""The smallest version of all, and the smallest final release."""


def common_version(ranges: Iterable[SpecifierSet]) -> str | None:
    """Return a version that every range admits, or ``None`` when none exists.

    Pre-releases are admitted (see the module docstring). No ranges at all admit any version.

    >>> common_version([SpecifierSet("<2"), SpecifierSet(">=2")]) is None
    True
    >>> common_version([SpecifierSet("~=1.4"), SpecifierSet(">=1.5,<2")])
    '1.5'
    """
    # NOTE: a fleet asks the same question on every host; duplicates and order change nothing.
    return _common_version(tuple(sorted(set(ranges), key=str)))


@functools.lru_cache(maxsize=1 << 16)
def _common_version(sets: tuple[SpecifierSet, ...]) -> str | None:
    arbitrary = [s.version for r in sets for s in r if s.operator == "==="]
    candidates: Sequence[Version | str] = arbitrary[:1] if arbitrary else _candidates(sets)
    found = next((c for c in candidates if all(admits(r, c) for r in sets)), None)
    return None if found is None else str(found)


def admits(specifier: SpecifierSet, version: Version | str) -> bool:
    """Whether ``specifier`` admits ``version``, pre-releases included; unparseable text is
    admitted only by ``===`` (packaging versions before 26 raise instead of saying no)."""
    try:
        return specifier.contains(version, prereleases=True)
    except InvalidVersion:
        return False


def _candidates(sets: Sequence[SpecifierSet]) -> list[Version]:
    ends = {end for r in sets for s in r for end in _ends(s.version)}
    longest = max((len(v.release) for v in ends), default=1)
    found = set(_FLOOR)
    for end in ends:
        found.update(_around(str(end), longest))
    # NOTE: finals first, so that the witness is the version a person would expect.
    return sorted(found, key=lambda v: (v.is_prerelease, v))


# NOTE: cached by text: hosts repeat the same few ranges, and building versions is the cost.
@functools.lru_cache(maxsize=4096)
def _ends(text: str) -> tuple[Version, ...]:
    """The versions where the intervals of a specifier on version ``text`` (any operator but
    ``===``) start or stop, or next to which they do. A superset of what any packaging release
    uses: extra versions cost time, never correctness."""
    return tuple(_spec_ends(Version(text.removesuffix(".*"))))


def _spec_ends(version: Version) -> Iterator[Version]:
    release = version.release
    yield version
    yield Version(version.public)
    yield _make(version, release)
    yield _make(version, release, dev=0)
    yield _make(version, release, pre=version.pre, post=version.post, dev=0)
    yield _make(version, _next_prefix(release), dev=0)
    if len(release) > 1:  # NOTE: ~=1.4.5 ends at 1.5.dev0
        yield _make(version, _next_prefix(release[:-1]), dev=0)


@functools.lru_cache(maxsize=16384)
def _around(text: str, longest: int) -> tuple[Version, ...]:
    """The version ``text`` and the versions just above it, in each sense an interval may start
    there."""
    return tuple(_above(Version(text), longest))


def _above(end: Version, longest: int) -> Iterator[Version]:
    release = end.release
    yield end
    # The smallest version above `end` and all its local versions, and the smallest final one.
    if end.dev is not None:
        yield _make(end, release, pre=end.pre, post=end.post, dev=end.dev + 1)
    else:
        after = 0 if end.post is None else end.post + 1
        yield _make(end, release, pre=end.pre, post=after, dev=0)
        yield _make(end, release, pre=end.pre, post=after)
    # Above every post-release of a pre-release: 1.0a1 → 1.0a2.dev0.
    if end.pre is not None:
        letter, number = end.pre
        yield _make(end, release, pre=(letter, number + 1), dev=0)
        yield _make(end, release)
    # Above the whole release family, below any other release of the specifiers.
    beyond = (*release, *([0] * (longest - len(release))), 1)
    yield _make(end, beyond, dev=0)
    yield _make(end, beyond)


def _next_prefix(release: tuple[int, ...]) -> tuple[int, ...]:
    return (*release[:-1], release[-1] + 1)


def _make(
    like: Version,
    release: tuple[int, ...],
    *,
    pre: tuple[str, int] | None = None,
    post: int | None = None,
    dev: int | None = None,
) -> Version:
    """A version in the epoch of ``like``, without a local label."""
    text = f"{like.epoch}!{'.'.join(map(str, release))}"
    if pre is not None:
        text += f"{pre[0]}{pre[1]}"
    if post is not None:
        text += f".post{post}"
    if dev is not None:
        text += f".dev{dev}"
    return Version(text)

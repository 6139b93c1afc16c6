"""Decide whether version ranges share a version: packaging's own interval arithmetic decides.

Pre-releases count: ranges conflict only when no version at all, final or pre-release,
satisfies every one of them. A conflict that only a pre-release resolves is rare, and pip
accepts one as soon as a specifier names a pre-release.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from packaging.specifiers import SpecifierSet

__all__ = ["satisfiable", "satisfiable_texts"]


def satisfiable(ranges: Iterable[SpecifierSet]) -> bool:
    """Whether some version, pre-releases included, is admitted by every range in ``ranges``.

    No ranges at all admit any version.

    >>> satisfiable([SpecifierSet("<2"), SpecifierSet(">=2")])
    False
    >>> satisfiable([SpecifierSet("~=1.4"), SpecifierSet(">=1.5,<2")])
    True
    """
    return satisfiable_texts(str(r) for r in ranges)


def satisfiable_texts(ranges: Iterable[str]) -> bool:
    """`satisfiable` for ranges given as text (``">=1,<2"``).

    >>> satisfiable_texts([">=2", "<2"]), satisfiable_texts([])
    (False, True)
    """
    # NOTE: a fleet asks the same question on every host; duplicates and order change nothing.
    return _satisfiable(tuple(sorted(set(ranges))))


@functools.lru_cache(maxsize=1 << 16)
def _satisfiable(texts: tuple[str, ...]) -> bool:
    joined = SpecifierSet(",".join(t for t in texts if t), prereleases=True)
    return not joined.is_unsatisfiable()

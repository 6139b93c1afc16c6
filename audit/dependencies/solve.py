"""Decide whether version ranges share a version: packaging's own interval arithmetic decides.

Pre-releases count: ranges conflict only when no version at all, final or pre-release,
satisfies every one of them. A conflict that only a pre-release resolves is rare, and pip
accepts one as soon as a specifier names a pre-release.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from itertools import combinations

from packaging.specifiers import SpecifierSet

__all__ = ["involved", "satisfiable", "satisfiable_texts"]


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


def involved(asked: Sequence[Sequence[str]]) -> list[int]:
    """Which of the packs asking ``asked`` (each its ranges as text, admitting a version by
    itself; all of them together admitting none) take part in their conflict: those in a pair
    that admits no version, or all of them when no pair clashes.

    >>> involved([[">=2"], ["<2"], [">=1"]]), involved([[">=2"], ["<3"], ["<2.5", ">2.6"]])
    ([0, 1], [0, 1, 2])
    """
    clashing: set[int] = set()
    for (i, a), (k, b) in combinations(enumerate(asked), 2):
        if not satisfiable_texts([*a, *b]):
            clashing.update((i, k))
    return sorted(clashing) if clashing else list(range(len(asked)))

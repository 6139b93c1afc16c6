"""The order of a node's versions: the registry's loose semver, compared as versions.

The registry stores versions as Masterminds semver normalised them (registry.md §3.1):
``X.Y.Z[-pre][+meta]``, such as ``1.0.0-beta.9``, ``0.8.11-bugfix`` or ``1.0.2506230015``. It
lists them sorted as text (§1.3), so ``1.9.0`` above ``1.10.0``; this module sorts them by
semver precedence instead. Anything after ``-`` makes a pre-release, as semver says, which
ranks below its release. PEP 440 spellings (``1.0rc1``, ``1.0.post1``) are read with packaging
into the same order. Strings that are neither (``nightly``) rank below every version.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from audit.model import NodeVersion

__all__ = ["VersionOrder", "is_prerelease", "order_versions", "same_version", "version_order"]

_SEMVER = re.compile(
    r"[vV]?(?P<release>[0-9]+(?:\.[0-9]+)*)"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?",
    re.ASCII,
)
# NOTE: longer strings are no version the registry accepts (64 characters at most).
_MAX_LENGTH = 128
_PEP440_PRE = {"a": "alpha", "b": "beta", "rc": "rc"}
# NOTE: below every semver identifier (numbers are >= 0): a dev release precedes pre-releases.
_DEV = (0, -1, "")

Identifier = tuple[int, int, str]
"""A pre-release identifier: ``(0, number, "")`` or ``(1, 0, word)``; numbers rank first."""


@dataclass(frozen=True, order=True)
class VersionOrder:
    """Represents where a version string ranks; any two distinct strings rank apart."""

    parsed: bool
    """Whether the string is a version at all; those that are not rank below every one."""
    epoch: int = 0
    release: tuple[int, ...] = ()
    """The numeric parts, trailing zeros removed (``1.0`` and ``1.0.0`` rank the same)."""
    final: bool = True
    """``False`` for a pre-release (or dev release), which ranks below its release."""
    pre: tuple[Identifier, ...] = ()
    post: int = -1
    dev: tuple[int, int] = (1, 0)
    """``(0, n)`` for a ``.devN`` of a pre- or post-release, which ranks below it."""
    text: str = ""
    """The string itself: the last tie-breaker, so that the order is total."""

    @property
    def rank(self) -> tuple[object, ...]:
        """Every field but the text: the same for ``v1.0`` and ``1.0.0``."""
        return (self.epoch, self.release, self.final, self.pre, self.post, self.dev)


# NOTE: a fleet ranks the same few thousand version strings again for every host.
@functools.lru_cache(maxsize=16_384)
def version_order(text: str) -> VersionOrder:
    """Return the rank of ``text`` among versions; never raises.

    >>> version_order("1.10.0") > version_order("1.9.0") > version_order("1.9.0-rc.1")
    True
    >>> version_order("nightly") < version_order("0.0.1")
    True
    """
    stripped = text.strip()
    if len(stripped) > _MAX_LENGTH:
        return VersionOrder(False, text=text)
    try:
        return _semver(stripped, text) or _pep440(stripped, text)
    except ValueError:  # an integer too long to convert
        return VersionOrder(False, text=text)


def is_prerelease(text: str) -> bool:
    """Whether ``text`` is a pre-release (``1.0.0-beta.9``, ``0.8.11-bugfix``, ``1.0rc1``).

    >>> is_prerelease("1.0.0-beta.9"), is_prerelease("1.0.2506230015")
    (True, False)
    """
    order = version_order(text)
    return order.parsed and not order.final


def same_version(one: str, other: str) -> bool:
    """Whether two strings name the same version (``v1.0`` and ``1.0.0``, say).

    >>> same_version("v1.0", "1.0.0"), same_version("nightly", "nightly"), same_version("1", "2")
    (True, True, False)
    """
    if one == other:
        return True
    mine, theirs = version_order(one), version_order(other)
    return mine.parsed and theirs.parsed and mine.rank == theirs.rank


def order_versions(versions: Iterable[NodeVersion]) -> list[NodeVersion]:
    """Return ``versions`` newest first, by version precedence, not as the registry lists them.

    Strings that are no version come last. Equal strings keep their relative order.

    >>> vs = [NodeVersion("a", v) for v in ("1.9.0", "nightly", "1.10.0", "1.10.0-beta.2")]
    >>> [v.version for v in order_versions(vs)]
    ['1.10.0', '1.10.0-beta.2', '1.9.0', 'nightly']
    """
    return sorted(versions, key=lambda nv: version_order(nv.version), reverse=True)


def _trimmed(release: Iterable[int]) -> tuple[int, ...]:
    numbers = list(release)
    while numbers and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers)


def _semver(stripped: str, text: str) -> VersionOrder | None:
    match = _SEMVER.fullmatch(stripped)
    if match is None:
        return None
    release = _trimmed(int(part) for part in match.group("release").split("."))
    pre = match.group("pre")
    if pre is None:
        return VersionOrder(True, release=release, text=text)
    identifiers = tuple(_identifier(part) for part in pre.split("."))
    return VersionOrder(True, release=release, final=False, pre=identifiers, text=text)


def _identifier(part: str) -> Identifier:
    # NOTE: semver compares words in ASCII order; lower-cased, so that "RC" is "rc".
    return (0, int(part), "") if part.isdigit() else (1, 0, part.lower())


def _pep440(stripped: str, text: str) -> VersionOrder:
    try:
        version = Version(stripped)
    except InvalidVersion:
        return VersionOrder(False, text=text)
    pre: tuple[Identifier, ...] = ()
    if version.pre is not None:
        letter, number = version.pre
        pre = ((1, 0, _PEP440_PRE[letter]), (0, number, ""))
    elif version.dev is not None and version.post is None:
        pre = (_DEV, (0, version.dev, ""))
    dev = (0, version.dev) if version.dev is not None and pre[:1] != (_DEV,) else (1, 0)
    return VersionOrder(
        True,
        epoch=version.epoch,
        release=_trimmed(version.release),
        final=not pre,
        pre=pre,
        post=-1 if version.post is None else version.post,
        dev=dev,
        text=text,
    )

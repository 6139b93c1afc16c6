"""Say why no version of a pack fits: the ``blocked_by`` of a recommendation without a version."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from audit.model import NodeVersion

__all__ = ["Shortlist", "explain"]

#: Lines of ``blocked_by`` at most, the last one saying how many more there were.
MAX_LINES = 6
#: Versions named on one line at most.
_MAX_NAMED = 3


@dataclass(frozen=True)
class Shortlist:
    """Represents which of a node's versions were judged, and why the others were not."""

    listed: int
    """How many versions the registry lists."""
    active: int
    """How many of those are Active."""
    deprecated: bool
    """Whether some Active version was passed over for being deprecated."""
    prerelease: bool
    """Whether some Active version was passed over for being a pre-release."""
    candidates: tuple[NodeVersion, ...]
    """The versions judged, newest first."""


def explain(shortlist: Shortlist, judged: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    """Return ``blocked_by``: why none of ``shortlist.candidates`` fits, in a stable order.

    :param judged: the phrases against each candidate, in the candidates' order.

    A phrase that holds for every candidate reads ``every Active version …``; one that holds
    for some names them: ``2.0.0, 1.9.0: requires ComfyUI >=0.5``. Those come first, sorted;
    the rest follow by their newest version.
    """
    if not shortlist.candidates:
        return (_empty(shortlist),)
    versions: dict[str, list[str]] = {}
    for candidate, phrases in zip(shortlist.candidates, judged, strict=True):
        for phrase in phrases:
            versions.setdefault(phrase, []).append(candidate.version)
    total = len(shortlist.candidates)
    subject = _subject(shortlist)
    every = sorted(f"{subject} {p}" for p, named in versions.items() if len(named) == total)
    order = {c.version: i for i, c in reversed(list(enumerate(shortlist.candidates)))}
    some = sorted(
        ((order[named[0]], p, named) for p, named in versions.items() if len(named) < total),
    )
    lines = every + [f"{_names(named)}: {p}" for _, p, named in some]
    if len(lines) > MAX_LINES:
        rest = len(lines) - MAX_LINES + 1
        lines = [*lines[: MAX_LINES - 1], f"and {rest} more constraints"]
    return tuple(lines)


def _empty(shortlist: Shortlist) -> str:
    """Why there was nothing to judge."""
    if not shortlist.listed:
        return "no version listed"
    if not shortlist.active:
        return "no Active version"
    if shortlist.prerelease:
        return f"{_subject(shortlist, prerelease=False)} is a pre-release"
    if shortlist.deprecated:
        return "every Active version is deprecated"
    return "no Active version has a version number"


def _subject(shortlist: Shortlist, *, prerelease: bool | None = None) -> str:
    """``every Active version``, narrowed to the versions that were judged."""
    skip_pre = shortlist.prerelease if prerelease is None else prerelease
    words = ["every Active", "stable" if skip_pre else "", "version"]
    tail = " not deprecated" if shortlist.deprecated else ""
    return " ".join(w for w in words if w) + tail


def _names(named: Sequence[str]) -> str:
    shown = ", ".join(named[:_MAX_NAMED])
    more = len(named) - _MAX_NAMED
    return f"{shown} and {more} more" if more > 0 else shown

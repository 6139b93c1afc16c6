"""OSV records as comfy-audit reads them: the tolerant parser and the exact matcher.

Every record comes from a third party (the OSV API, a zip, a folder), so nothing in it is
trusted: fields of the wrong type are ignored, never raised on.

Odd events real records carry, decided here once (DESIGN.md "Vulnerabilities"):

- ``"2.6.0-cu124"``, ``"2.5.0-NA"``: not PEP 440. The text after the first ``-`` is read as a
  local label (``2.6.0+cu124``), and local labels compare as their release, so they mean
  ``2.6.0`` and ``2.5.0``.
- ``"fixed": ""`` (and any other empty event): no such event; the range stays open, so the
  record errs towards reporting, never towards silence.
- any other version that cannot be read: a ``fixed``, ``last_affected`` or ``limit`` is
  ignored (the range stays open), an ``introduced`` counts as ``0``; again towards reporting.
- events are evaluated in version order, as osv-scanner does: after ``introduced 0,
  last_affected 2.5.0, last_affected 2.7.1`` only versions up to 2.5.0 are affected, since
  the second ``last_affected`` follows no ``introduced``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = [
    "Advisory",
    "Affected",
    "Event",
    "names_in",
    "one_line_summary",
    "parse_advisory",
    "release_of",
]

_ECOSYSTEM = "PyPI"
_KINDS = ("introduced", "fixed", "last_affected", "limit")


@dataclass(frozen=True)
class Event:
    """Represents one event of an ``ECOSYSTEM`` range; ``version`` ``None`` is ``introduced 0``."""

    kind: str
    version: Version | None


@dataclass(frozen=True)
class Affected:
    """Represents one ``affected`` entry of a record for a PyPI distribution."""

    distribution: NormalizedName
    ranges: tuple[tuple[Event, ...], ...]
    """The ``ECOSYSTEM`` ranges, each its events in version order."""
    versions: frozenset[Version]
    """The explicit ``versions`` list, as releases."""

    def matches(self, version: Version) -> bool:
        """Whether the release ``version`` is affected by this entry."""
        return version in self.versions or any(_in_range(version, r) for r in self.ranges)

    def fixes(self) -> list[Version]:
        """The ``fixed`` versions of every range."""
        return [e.version for r in self.ranges for e in r if e.kind == "fixed" and e.version]


@dataclass(frozen=True)
class Advisory:
    """Represents one OSV record: what matching, merging and reporting need of it."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    withdrawn: bool
    affected: tuple[Affected, ...]
    vectors: tuple[tuple[str, str], ...]
    """``(type, vector)`` of each ``severity`` item: ``("CVSS_V3", "CVSS:3.1/…")``."""
    record: Mapping[str, Any]
    """The record as it was read, for the cache and ``mirror --vulns``."""

    def matches(self, distribution: str, version: Version) -> bool:
        """Whether ``distribution`` (canonical) at release ``version`` is affected."""
        return not self.withdrawn and any(
            a.distribution == distribution and a.matches(version) for a in self.affected
        )

    def fixes(self, distribution: str) -> list[Version]:
        """The fixed versions this record names for ``distribution``."""
        return [v for a in self.affected if a.distribution == distribution for v in a.fixes()]


def release_of(text: str) -> Version | None:
    """The version ``text`` means, as the release it compares as; ``None`` when unreadable.

    >>> release_of("2.5.1+cu124"), release_of("2.6.0-cu124"), release_of("2.5.0-NA")
    (<Version('2.5.1')>, <Version('2.6.0')>, <Version('2.5.0')>)
    """
    return _release(text.strip()) if text.strip() else None


@functools.lru_cache(maxsize=65536)
def _release(text: str) -> Version | None:
    for candidate in (text, text.replace("-", "+", 1)):
        try:
            version = Version(candidate)
        except InvalidVersion:
            continue
        return Version(version.public) if version.local else version
    return None


def names_in(record: Mapping[str, Any]) -> set[NormalizedName]:
    """The canonical PyPI distributions a raw record is about (cheap: no versions parsed)."""
    names = set()
    for item in _list(record.get("affected")):
        package = item.get("package") if isinstance(item, dict) else None
        if isinstance(package, dict) and package.get("ecosystem") == _ECOSYSTEM:
            name = package.get("name")
            if isinstance(name, str) and name:
                names.add(canonicalize_name(name))
    return names


def parse_advisory(record: object) -> Advisory | None:
    """Read one OSV record; ``None`` when it has no usable ``id``."""
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        return None
    ident = str(record["id"]).strip()
    if not ident:
        return None
    return Advisory(
        id=ident,
        aliases=tuple(a for a in _list(record.get("aliases")) if isinstance(a, str) and a),
        summary=one_line_summary(record),
        withdrawn=bool(record.get("withdrawn")),
        affected=tuple(a for a in map(_affected, _list(record.get("affected"))) if a),
        vectors=tuple(_vectors(record.get("severity"))),
        record=record,
    )


def one_line_summary(record: Mapping[str, Any]) -> str:
    """The ``summary``, else the first sentence of ``details``, on one line.

    >>> one_line_summary({"details": "A flaw in x. More here."})
    'A flaw in x.'
    """
    summary = record.get("summary")
    if isinstance(summary, str) and summary.strip():
        return _clip(summary)
    details = record.get("details")
    if not isinstance(details, str):
        return ""
    text = " ".join(details.split())
    end = text.find(". ")
    return _clip(text if end < 0 else text[: end + 1])


def _clip(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _affected(item: object) -> Affected | None:
    if not isinstance(item, dict):
        return None
    names = names_in({"affected": [item]})
    if not names:
        return None
    versions = (release_of(v) for v in _list(item.get("versions")) if isinstance(v, str))
    ranges = (_events(r) for r in _list(item.get("ranges")))
    return Affected(
        distribution=names.pop(),
        ranges=tuple(r for r in ranges if r),
        versions=frozenset(v for v in versions if v is not None),
    )


def _events(rng: object) -> tuple[Event, ...]:
    """The events of an ``ECOSYSTEM`` range in version order; ``()`` for any other range."""
    if not isinstance(rng, dict) or rng.get("type") != "ECOSYSTEM":
        return ()
    events = [e for item in _list(rng.get("events")) if (e := _event(item)) is not None]
    return tuple(sorted(events, key=_order))


def _event(item: object) -> Event | None:
    if not isinstance(item, dict):
        return None
    for kind in _KINDS:
        text = item.get(kind)
        if not isinstance(text, str) or not text.strip():
            continue
        if kind == "introduced" and text.strip() == "0":
            return Event(kind, None)
        version = release_of(text)
        if version is None:
            # NOTE: towards reporting: an unreadable start is the start of everything.
            return Event(kind, None) if kind == "introduced" else None
        return Event(kind, version)
    return None


def _order(event: Event) -> tuple[int, Version | int]:
    return (0, 0) if event.version is None else (1, event.version)


def _in_range(version: Version, events: Iterable[Event]) -> bool:
    affected = False
    limits = []
    for event in events:
        at = event.version
        if event.kind == "introduced":
            affected = affected or at is None or version >= at
        elif (event.kind == "fixed" and at is not None and version >= at) or (
            event.kind == "last_affected" and at is not None and version > at
        ):
            affected = False
        elif event.kind == "limit" and at is not None:
            limits.append(at)
    return affected and (not limits or any(version < limit for limit in limits))


def _vectors(severity: object) -> Iterable[tuple[str, str]]:
    for item in _list(severity):
        if isinstance(item, dict):
            kind, score = item.get("type"), item.get("score")
            if isinstance(kind, str) and isinstance(score, str):
                yield (kind, score)

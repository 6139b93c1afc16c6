"""The findings about one pack's own lines: not PEP 508, missing, or not met by the installed."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from packaging.utils import NormalizedName

from audit.checks.interface import quote
from audit.dependencies.judge import (
    FREEZE_HIDDEN,
    Judged,
    pack_finding,
    range_text,
    source_of,
)
from audit.dependencies.parse import InvalidLine, RequirementLine
from audit.model import Finding, FindingSource

__all__ = ["pack_findings"]


def pack_findings(
    host: str, judged: Sequence[Judged], installed_known: bool, *, missing_known: bool = True
) -> Iterator[Finding]:
    """Yield the findings about the lines of one pack, ``judged`` in the pack's order.

    One ``dependency.spec-invalid`` per distinct invalid line; one ``dependency.missing`` or
    ``dependency.unsatisfied`` per distribution (lines from the registry and from the pack's
    files that say the same thing give one finding), only when ``installed_known``; no
    ``dependency.missing`` unless ``missing_known`` (a partial list cannot tell).
    """
    yield from _spec_invalid(host, judged)
    if installed_known:
        yield from _unmet(host, judged, missing_known)


def _spec_invalid(host: str, judged: Sequence[Judged]) -> Iterator[Finding]:
    seen: set[str] = set()
    for j in judged:
        line = j.line
        if not isinstance(line, InvalidLine) or line.text in seen:
            continue
        seen.add(line.text)
        source = FindingSource(line.source.value)
        message = f"{quote(line.text)}: {line.reason}; not checked"
        expected = "a PEP 508 requirement"
        yield pack_finding(
            host, j.pack, "dependency.spec-invalid", message, source, expected, line.text
        )


def _unmet(host: str, judged: Sequence[Judged], missing_known: bool) -> Iterator[Finding]:
    groups: dict[NormalizedName, list[Judged]] = {}
    for j in judged:
        line = j.requirement
        if line is not None and line.distribution is not None:
            groups.setdefault(line.distribution, []).append(j)
    for name, group in groups.items():
        first = group[0]
        if first.installed is None and name not in FREEZE_HIDDEN:
            if missing_known:
                yield _missing(host, name, group)
        elif first.installed is not None and any(j.satisfied is False for j in group):
            yield _unsatisfied(host, name, first.installed, group)


def _lines(group: Sequence[Judged]) -> list[RequirementLine]:
    return [j.line for j in group if isinstance(j.line, RequirementLine)]


def _missing(host: str, name: str, group: Sequence[Judged]) -> Finding:
    wanted = f"{name}{range_text(_lines(group))}"
    message = f"{wanted} is required but not installed"
    source = source_of(_lines(group))
    return pack_finding(
        host, group[0].pack, "dependency.missing", message, source, wanted, "not installed"
    )


def _unsatisfied(
    host: str, name: str, installed: tuple[str, str | None], group: Sequence[Judged]
) -> Finding:
    failing = _lines([j for j in group if j.satisfied is False])
    wanted = range_text(failing)
    version = installed[1] or "?"
    message = f"{name} {version} is installed, but the pack requires {name}{wanted}"
    return pack_finding(
        host, group[0].pack, "dependency.unsatisfied", message, source_of(failing), wanted, version
    )

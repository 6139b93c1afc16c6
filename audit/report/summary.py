"""Render the plain-text terminal summary of a run: counts, findings that matter, the reports."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import compress, groupby, islice
from operator import attrgetter
from pathlib import Path
from typing import TypeVar

from audit.advisor import Recommendation, changed_by_upgrade, changed_verdict
from audit.checks import environment_facts
from audit.model import (
    AuditedEntry,
    AuditRun,
    DistributionAdvice,
    Environment,
    Failed,
    Finding,
    Found,
    Invalid,
    NotFound,
    Severity,
    When,
)
from audit.report.pack_summary import pack_lines
from audit.report.tables import run_hosts, severity_counts

__all__ = ["Summary", "one_line", "render_summary", "summarise"]

#: Longest message shown; the reports always hold the whole text.
MAX_TEXT = 300
#: Lines of findings listed (whole packs, worst first) before the rest is only counted: a
#: fleet run can hold 100,000 findings, which belong in findings.csv, not in a terminal.
MAX_FINDING_LINES = 400
#: Lines of advice listed (recommendations, vulnerable packages) before the rest is counted.
MAX_ADVICE_LINES = 400
# NOTE: messages quote registry data; control, format (bidi), private-use or unassigned characters
# and line separators could break the layout or reach the terminal as escapes.
_UNPRINTABLE = frozenset({"Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp"})

_K = TypeVar("_K")
GroupKey = tuple[str, str | None, str | None]
Group = tuple[GroupKey, list[Finding]]


def one_line(text: str, limit: int | None = MAX_TEXT) -> str:
    """Return ``text`` on one line without control characters, cut to ``limit`` characters.

    >>> one_line("bad\\n\\x1b[31mred")
    'bad [31mred'
    """
    spaced = "".join(" " if unicodedata.category(c) in _UNPRINTABLE else c for c in text)
    flat = " ".join(spaced.split())
    if limit is None or len(flat) <= limit:
        return flat
    return flat[: limit - 3] + "..."


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _header(run: AuditRun, hosts: int) -> str:
    # NOTE: counted by kind in C, then each kind classed once: a fleet has 400,000 answers.
    kinds = Counter(map(type, map(_result_of, run.entries)))
    answered = sum(n for kind, n in kinds.items() if issubclass(kind, Found | NotFound))
    failed = sum(n for kind, n in kinds.items() if issubclass(kind, Failed | Invalid))
    skipped = kinds[type(None)]
    return (
        f"run {one_line(run.run_id)}: {_count(hosts, 'host', 'hosts')}, "
        f"{_count(len(run.entries), 'entry', 'entries')}; registry lookups: "
        f"{answered} answered, {failed} failed, {skipped} not looked up"
    )


def _describe(env: Environment) -> str:
    accelerators = ", ".join(sorted(env.accelerators)) if env.accelerators else "unknown"
    parts = [
        f"os {env.os or 'unknown'}",
        f"accelerators {accelerators}",
        f"ComfyUI {env.comfyui_version or 'unknown'}",
        f"frontend {env.frontend_version or 'unknown'}",
    ]
    if env.target_comfyui:
        parts.append(f"target ComfyUI {env.target_comfyui}")
    if env.target_frontend:
        parts.append(f"target frontend {env.target_frontend}")
    return one_line("; ".join(parts))


def _environment_line(run: AuditRun) -> str:
    # NOTE: described once per distinct platform and versions: a fleet's hosts share a few.
    distinct = {environment_facts(env): env for env in run.host_environments.values()}
    described = {_describe(env) for env in distinct.values()}
    if len(described) > 1:
        return f"environment: {_describe(run.environment)} (varies by host: see run.json)"
    return f"environment: {described.pop() if described else _describe(run.environment)}"


def _severity_line(run: AuditRun) -> str:
    counts = severity_counts(run)
    return "findings: " + ", ".join(f"{counts[s.label]} {s.label}" for s in reversed(Severity))


_group_key, _host_of = attrgetter("host", "node_id", "version"), attrgetter("host")
_severity_of, _when_of = attrgetter("severity"), attrgetter("when")
_result_of = attrgetter("result")
_now, _after_upgrade = attrgetter("compatible_now"), attrgetter("compatible_after_upgrade")


def _shown(run: AuditRun) -> list[Finding]:
    """The findings at warning and above."""
    # NOTE: filtered in C: a fleet has a million findings.
    return list(
        compress(run.findings, map(Severity.WARNING.__le__, map(_severity_of, run.findings)))
    )


def _grouped(findings: Iterable[Finding], key: Callable[[Finding], _K]) -> dict[_K, list[Finding]]:
    """``findings`` by ``key``, each group in order (runs of one key apart are joined)."""
    groups: dict[_K, list[Finding]] = {}
    for value, found in groupby(findings, key):
        groups.setdefault(value, []).extend(found)
    return groups


def _group_order(item: Group) -> tuple[object, ...]:
    (host, node_id, version), findings = item
    worst = max(map(_severity_of, findings))
    name = node_id or ""
    return (host, node_id is not None, -worst, name.casefold(), name, version or "")


def _first_groups(by_host: Mapping[str, list[Finding]], count: int) -> list[Group]:
    """The first ``count`` packs' findings in `_group_order`: the host comes first in it, so
    only the findings of the first hosts are grouped and sorted."""
    groups: list[Group] = []
    for host in sorted(by_host):
        groups.extend(sorted(_grouped(by_host[host], _group_key).items(), key=_group_order))
        if len(groups) >= count:
            break
    return groups[:count]


def _finding_order(f: Finding) -> tuple[object, ...]:
    return (-f.severity, f.when is not When.NOW, f.check)


def _label(node_id: str | None, version: str | None) -> str:
    if node_id is None:
        return "(host-level)"
    return one_line(node_id if version is None else f"{node_id}@{version}")


def _finding_line(f: Finding) -> str:
    upgrade = " (after upgrade)" if f.when is When.AFTER_UPGRADE else ""
    line = f"  {f.severity.label:<8}  {one_line(f.check)}  {one_line(f.message)}{upgrade}"
    return line.rstrip()


def _finding_lines(run: AuditRun, show_host: bool) -> list[str]:
    lines: list[str] = []
    shown = _shown(run)
    # NOTE: a pack takes a line at least, so no more packs than lines can be listed: of a
    # fleet's 100,000s, only those are grouped and sorted; the rest are counted in C.
    by_host = _grouped(shown, _host_of)
    groups = _first_groups(by_host, MAX_FINDING_LINES + 1)
    for listed, ((host, node_id, version), findings) in enumerate(groups):
        if len(lines) >= MAX_FINDING_LINES:
            # NOTE: a host's packs are counted on their own: small sets are quicker to fill.
            packs = sum(len(set(map(_group_key, found))) for found in by_host.values())
            left = len(shown) - sum(len(group) for _, group in groups[:listed])
            lines.append(f"... and {left} more in {packs - listed} more packs: see findings.csv")
            break
        label = _label(node_id, version)
        lines.append(f"{one_line(host)}  {label}" if show_host else label)
        lines.extend(_finding_line(f) for f in sorted(findings, key=_finding_order))
    return lines


def _upgrade_line(run: AuditRun) -> str | None:
    # NOTE: read in C; the values are True, False or None, so counting False counts them alone.
    afterwards = list(map(_after_upgrade, run.entries))
    planned = When.AFTER_UPGRADE in map(_when_of, run.findings)
    if not (planned or afterwards.count(None) < len(afterwards)):
        return None
    after = afterwards.count(False)
    now = list(map(_now, run.entries)).count(False)
    return f"after upgrade: {_count(after, 'pack', 'packs')} incompatible (now: {now})"


def _recommendation_line(r: Recommendation, show_host: bool) -> str:
    where = f"{one_line(r.host)}  " if show_host else ""
    label = _label(r.node_id, r.version)
    if r.recommended_version is not None:
        clears = f"  clears {one_line(', '.join(r.clears))}" if r.clears else ""
        return f"  {where}{label} -> {one_line(r.recommended_version)}{clears}"
    return f"  {where}{label}  no fitting version: {one_line('; '.join(r.blocked_by))}"


def _advice_lines(run: AuditRun, show_host: bool, changed: Sequence[AuditedEntry]) -> list[str]:
    """The advisor's section: one line per recommendation, then the upgrade verdict.

    The verdict needs a ``--target-*`` version, and is shown when the advisor ran: there are
    recommendations, or the run's options say ``advice`` was on. ``changed`` are the entries
    the upgrade makes need a change (`changed_by_upgrade`).
    """
    recommendations = run.recommendations
    lines = []
    if recommendations:
        moves = sum(r.recommended_version is not None for r in recommendations)
        stuck = len(recommendations) - moves
        lines.append(
            f"advice: {_count(moves, 'pack change', 'pack changes')}, "
            f"{_count(stuck, 'pack', 'packs')} with no fitting version"
        )
        listed = (_recommendation_line(r, show_host) for r in recommendations)
        lines.extend(_capped(listed, len(recommendations), "recommendations.csv"))
    env = run.environment
    advised = bool(recommendations) or run.options.get("advice") is True
    if advised and (env.target_comfyui or env.target_frontend):
        verdict = changed_verdict(changed, recommendations)
        lines.append(f"upgrade verdict: {one_line(verdict, limit=None)}")
    return lines


def _distribution_lines(run: AuditRun, show_host: bool) -> list[str]:
    """One line per vulnerable Python distribution with a fix: the version to upgrade to, or
    the pack whose requirement holds it back."""
    if not run.upgrades:
        return []
    moves = sum(a.recommended_version is not None for a in run.upgrades)
    held = len(run.upgrades) - moves
    listed = (_distribution_line(a, show_host) for a in run.upgrades)
    return [
        f"vulnerable packages: {moves} to upgrade, {held} held back by a pack",
        *_capped(listed, len(run.upgrades), "recommendations.csv"),
    ]


def _distribution_line(a: DistributionAdvice, show_host: bool) -> str:
    where = f"{one_line(a.host)}  " if show_host else ""
    label = f"{where}{one_line(a.distribution)} {one_line(a.version)}"
    if a.recommended_version is not None:
        return f"  {label}: upgrade to {one_line(a.recommended_version)}"
    return f"  {label}: held back: {one_line('; '.join(a.blocked_by))}"


def _capped(lines: Iterator[str], count: int, report: str) -> list[str]:
    """The first `MAX_ADVICE_LINES` of ``count`` lines, then how many more ``report`` holds."""
    shown = list(islice(lines, MAX_ADVICE_LINES))
    if count > len(shown):
        shown.append(f"  ... and {count - len(shown)} more: see {report}")
    return shown


def render_summary(run: AuditRun, run_dir: Path | str | None) -> str:
    """Return the terminal summary of ``run``: plain text, one fact per line, no colours.

    Findings at warning and above are listed by host and pack, worst first; then the upgrade
    advisor's recommendations and verdict, when there are any; the last line names the run
    folder (``run_dir``), or says the reports were not written when it is ``None``.
    """
    return summarise(run)(run_dir)


def summarise(run: AuditRun) -> Summary:
    """`render_summary` in steps: all but the advice is rendered now, `Summary.advise`
    renders the advice, and calling the summary with the run folder gives the whole text.

    NOTE: a run's advice may still be in the making (`audit.parallel.Pending`): the rest of
    the summary is rendered while it is.
    """
    return Summary(run)


class Summary:
    """The terminal summary of one run, rendered in steps (`summarise`)."""

    def __init__(self, run: AuditRun) -> None:
        hosts = len(run_hosts(run))
        self._run, self._fleet = run, hosts > 1
        self._head = [_header(run, hosts), _environment_line(run), _severity_line(run)]
        self._findings = _finding_lines(run, hosts > 1) or ["no findings at warning or above"]
        self._upgrade = _upgrade_line(run)
        self._packs = pack_lines(run)
        self._distributions = _distribution_lines(run, hosts > 1)
        self._changed = changed_by_upgrade(run.entries, run.environment)
        self._advice: list[str] | None = None

    def advise(self) -> None:
        """Render the advice's lines, once; they are rendered when the summary is, if not."""
        if self._advice is None:
            self._advice = _advice_lines(self._run, self._fleet, self._changed)

    def __call__(self, run_dir: Path | str | None) -> str:
        """The whole summary, its last line naming ``run_dir``."""
        self.advise()
        advice = self._advice or []
        where = one_line(str(run_dir), limit=None) if run_dir is not None else "not written"
        closing = [*([self._upgrade] if self._upgrade else []), *self._packs, f"reports: {where}"]
        sections = [
            self._head,
            self._findings,
            *([advice] if advice else []),
            *([self._distributions] if self._distributions else []),
            closing,
        ]
        return "\n\n".join("\n".join(section) for section in sections)

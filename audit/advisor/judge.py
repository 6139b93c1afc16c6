"""Judge one candidate version of an installed pack with the audit's own checks.

A candidate is the installed entry with another version: `audit.checks.evaluate` runs on it in
the host's environment, and when the registry lists its pip dependencies, the dependency audit
runs on the host with the candidate in the installed version's place, for conflicts between
packs. What counts against it is said in short phrases, which become ``blocked_by``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace

from audit import checks
from audit.advisor.interface import FindingAdjuster, counts
from audit.dependencies import PackRequirements, RequirementLine, conflicts_among
from audit.dependencies.judge import pack_lines
from audit.model import AuditedEntry, Environment, Finding, Found, ManifestEntry, NodeVersion

__all__ = ["CandidateJudge", "clean"]

#: Longest piece of registry text quoted in a phrase.
_MAX_QUOTE = 80
_CONFLICT = "dependency.conflict"
#: What each finding says about a candidate; ``{expected}``/``{actual}`` are the finding's.
_PHRASES = {
    "security.tag": "carries tags_admin {actual}",
    "os.unsupported": "requires OS {expected}",
    "accelerator.unsupported": "requires accelerator {expected}",
    "comfyui.incompatible": "requires ComfyUI {expected}",
    "frontend.incompatible": "requires frontend {expected}",
    "os.spec-invalid": "declares only unknown OS words ({expected})",
    "accelerator.spec-invalid": "declares only unknown accelerator words ({expected})",
    "comfyui.spec-invalid": "declares a ComfyUI range that cannot be parsed ({expected})",
    "frontend.spec-invalid": "declares a frontend range that cannot be parsed ({expected})",
    "registry.invalid-response": "has a malformed registry record",
}
_UNPROVEN = "lists no dependencies, so the dependency conflict cannot be shown to clear"


def clean(text: str | None, limit: int = _MAX_QUOTE) -> str:
    """Return registry text on one line, without control characters, cut to ``limit``.

    >>> clean(">=0.3\\nrm -rf ~")
    '>=0.3 rm -rf ~'
    """
    spaced = "".join(c if c.isprintable() else " " for c in text or "")
    flat = " ".join(spaced.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class CandidateJudge:
    """Judges candidate versions for the entries of one run, evaluating the checks once per
    distinct pack, version and environment (a fleet costs versions, not hosts).

    :param audited: every entry of the run, for the dependency audit of each host.
    :param adjust: the run's policy, applied to the findings about a candidate.
    """

    def __init__(
        self, audited: Sequence[AuditedEntry], adjust: FindingAdjuster | None = None
    ) -> None:
        self._hosts: dict[str, list[AuditedEntry]] = {}
        for a in audited:
            self._hosts.setdefault(a.entry.host, []).append(a)
        self._adjust = adjust
        self._evaluated: dict[tuple[object, ...], tuple[Finding, ...]] = {}
        self._by_distribution: dict[str, dict[str, list[AuditedEntry]]] = {}
        self._conflicts_seen: dict[tuple[object, ...], tuple[Finding, ...]] = {}
        self._clear: set[tuple[object, ...]] = set()
        self._lines: dict[int, dict[str, tuple[str, ...]]] = {}

    def _requiring(self, host: str, distribution: str) -> list[AuditedEntry]:
        """The host's packs that require ``distribution``, in the host's order."""
        index = self._by_distribution.get(host)
        if index is None:
            index = self._by_distribution[host] = {}
            for a in self._hosts.get(host, []):
                for name in _distributions(_requirements_of(a)):
                    index.setdefault(name, []).append(a)
        return index.get(distribution, [])

    def blockers(
        self,
        installed: AuditedEntry,
        candidate: NodeVersion,
        env: Environment,
        *,
        must_clear_conflict: bool = False,
    ) -> tuple[str, ...]:
        """Say why ``candidate`` may not replace ``installed`` in ``env``; empty when it may.

        :param must_clear_conflict: whether ``installed`` is part of a dependency conflict,
            which the candidate must then be shown to be free of.
        """
        entry = _candidate_entry(installed.entry, candidate)
        findings = list(self._evaluate(entry, candidate, env))
        phrases = [_phrase(f) for f in self._counted(findings, env)]
        if candidate.dependencies:
            conflicts = self._conflicts(installed, entry, candidate, env)
            phrases += (_phrase(f) for f in self._counted(conflicts, env))
        elif must_clear_conflict:
            phrases.append(_UNPROVEN)
        return tuple(dict.fromkeys(phrases))

    def _counted(self, findings: Sequence[Finding], env: Environment) -> Iterator[Finding]:
        adjusted = self._adjust(findings) if self._adjust is not None else findings
        # NOTE: policy.* findings are about the policy file (an expired waiver), not the version.
        return (f for f in adjusted if counts(f, env) and not f.check.startswith("policy."))

    def _evaluate(
        self, entry: ManifestEntry, candidate: NodeVersion, env: Environment
    ) -> Iterable[Finding]:
        key = checks.evaluation_key(entry, Found(candidate), env)
        findings = self._evaluated.get(key)
        if findings is None:
            findings = self._evaluated[key] = checks.evaluate(entry, Found(candidate), env).findings
        return (replace(f, host=entry.host) for f in findings)

    def _conflicts(
        self,
        installed: AuditedEntry,
        entry: ManifestEntry,
        candidate: NodeVersion,
        env: Environment,
    ) -> list[Finding]:
        """The conflicts the candidate would have among the host's other packs, as installed.

        A conflict is over one distribution, so only the packs that require one of the
        candidate's distributions can take part: the audit runs on those alone.
        """
        mine = PackRequirements(entry, candidate.dependencies)
        conflicts: list[Finding] = []
        for name in sorted(_distributions(mine)):
            requiring = self._requiring(entry.host, name)
            others = [a for a in requiring if a.entry is not installed.entry]
            conflicts += self._conflicts_over(name, mine, candidate, others, env)
        return [replace(f, host=entry.host) for f in conflicts]

    def _conflicts_over(
        self,
        name: str,
        mine: PackRequirements,
        candidate: NodeVersion,
        packs: Sequence[AuditedEntry],
        env: Environment,
    ) -> tuple[Finding, ...]:
        """The candidate's conflicts over the distribution ``name`` with ``packs``, which require
        it."""
        over = {name}
        mine_lines = _lines_over(mine, over)
        facts = (env.os, env.python_version)
        lines = [self._lines_of(a).get(name, ()) for a in packs]
        # NOTE: most candidates conflict with nothing. Whether one does depends only on the set
        # of the enabled packs' lines over this distribution (not on which packs, nor how many
        # state the same lines), so that answer is shared by far more hosts than the findings,
        # whose messages name the packs.
        enabled = (lines for a, lines in zip(packs, lines, strict=True) if not a.entry.disabled)
        quick = (candidate.key.normalized, mine_lines, facts, frozenset(enabled))
        if quick in self._clear:
            return ()
        others = [_requirements_of(a) for a in packs]
        # NOTE: a fleet asks the same question on many hosts: the answer depends only on the
        # lines over this one distribution, their packs' state and order, and the marker facts.
        key = (
            candidate.key.normalized,
            mine_lines,
            facts,
            tuple(
                (p.entry.node_id, p.entry.version, p.entry.disabled, lines)
                for p, lines in zip(others, lines, strict=True)
            ),
        )
        conflicts = self._conflicts_seen.get(key)
        if conflicts is None:
            entry = mine.entry
            findings = conflicts_among(entry.host, [mine, *others], env, over)
            conflicts = self._conflicts_seen[key] = tuple(
                f for f in findings if (f.node_id, f.version) == (entry.node_id, entry.version)
            )
        if not conflicts:
            self._clear.add(quick)
        return conflicts

    def _lines_of(self, audited: AuditedEntry) -> dict[str, tuple[str, ...]]:
        """The pack's requirement lines by distribution, each distribution's sorted."""
        lines = self._lines.get(id(audited))
        if lines is None:
            lines = self._lines[id(audited)] = _lines_by_distribution(_requirements_of(audited))
        return lines


def _requirements_of(audited: AuditedEntry) -> PackRequirements:
    node_version = audited.node_version
    return PackRequirements(audited.entry, node_version.dependencies if node_version else None)


def _lines_over(pack: PackRequirements, distributions: set[str]) -> tuple[str, ...]:
    return tuple(
        sorted(
            line.text
            for line in pack_lines(pack)
            if isinstance(line, RequirementLine) and line.distribution in distributions
        )
    )


def _lines_by_distribution(pack: PackRequirements) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for line in pack_lines(pack):
        if isinstance(line, RequirementLine) and line.distribution is not None:
            found.setdefault(line.distribution, []).append(line.text)
    return {name: tuple(sorted(texts)) for name, texts in found.items()}


def _distributions(pack: PackRequirements) -> set[str]:
    return {
        line.distribution
        for line in pack_lines(pack)
        if isinstance(line, RequirementLine) and line.distribution is not None
    }


def _candidate_entry(entry: ManifestEntry, candidate: NodeVersion) -> ManifestEntry:
    # NOTE: what the pack's files declare belongs to the installed version, not the candidate.
    return replace(entry, version=candidate.version, declared=None, requirements=None, problem=None)


def _phrase(finding: Finding) -> str:
    if finding.check == _CONFLICT:
        distribution = finding.message.split(":", 1)[0]
        return f"conflicts with other packs over {clean(distribution)}"
    template = _PHRASES.get(finding.check)
    if template is None:
        return f"has {finding.check}"
    return template.format(expected=clean(finding.expected), actual=clean(finding.actual))

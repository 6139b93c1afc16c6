"""Judge one candidate version of an installed pack with the audit's own checks.

A candidate is the installed entry with another version: `audit.checks.evaluate` runs on it in
the host's environment, and its dependency findings are those the host's audit would give it in
the installed version's place: its own, plus what the other packs' ranges add
(`audit.dependencies.demands`). Any finding at
warning or above counts against it, at its default severity: a policy file speaks about what is
installed, never about candidates. What counts is said in short phrases, which become
``blocked_by``; requirements the move would newly install or upgrade are listed, not counted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from packaging.utils import NormalizedName

from audit import checks
from audit.advisor.interface import counts
from audit.dependencies import PackRequirements, RequirementLine
from audit.dependencies.demands import HostDemands, with_others
from audit.dependencies.host import findings_of_first
from audit.dependencies.judge import Installed, index_installed, pack_lines
from audit.dependencies.markers import marker_facts
from audit.dependencies.variants import family_of
from audit.model import (
    AuditedEntry,
    EntrySource,
    Environment,
    Finding,
    Found,
    ManifestEntry,
    NodeVersion,
)
from audit.model.tagging import replaced

__all__ = ["CandidateJudge", "Judgement", "clean"]

_A = TypeVar("_A")
_Seen = tuple[tuple[str, tuple[str, str | None] | None], ...] | None
"""The installed packages of some names, each with what is installed (``None``: nothing);
``None`` when the host's installed packages are unknown."""
#: An entry without pack files, for reading a candidate's own lines.
_NO_ENTRY = ManifestEntry("", "", None, EntrySource.REGISTRY, "")
#: Longest piece of registry text quoted in a phrase.
_MAX_QUOTE = 80
_CONFLICT = "dependency.conflict"
_CLASH = "dependency.variant-clash"
#: What the move would change in the environment: listed with it, not held against it.
_INSTALLS = frozenset({"dependency.missing", "dependency.unsatisfied"})
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


@dataclass(frozen=True)
class Judgement:
    """Represents what was found about one candidate version."""

    blocked_by: tuple[str, ...]
    """Why it may not replace the installed version; empty when it may."""
    installs: tuple[str, ...] = ()
    """Its requirements that the host does not meet yet (``numpy>=2``): the move installs or
    upgrades them."""


class CandidateJudge:
    """Judges candidate versions for the entries of one run, evaluating the checks once per
    distinct pack, version and environment, and making each judgement once for every host
    that asks the same question (a fleet costs distinct questions, not hosts).

    :param audited: every entry of the run, for the dependency audit of each host.
    """

    def __init__(self, audited: Sequence[AuditedEntry]) -> None:
        self._hosts: dict[str, list[AuditedEntry]] = {}
        for a in audited:
            self._hosts.setdefault(a.entry.host, []).append(a)
        self._evaluated: dict[tuple[object, ...], tuple[Finding, ...]] = {}
        self._found: dict[int, Found] = {}
        self._by_distribution: dict[str, dict[str, list[AuditedEntry]]] = {}
        self._installed_keys: dict[int, tuple[object, Installed | None]] = {}
        self._alone_seen: dict[tuple[object, ...], tuple[Finding, ...]] = {}
        self._answers: dict[object, tuple[object, object]] = {}
        self._judgements: dict[tuple[object, ...], tuple[NodeVersion, Judgement]] = {}
        self._host_demands: dict[str, HostDemands] = {}

    def remembered(self, key: Hashable, named: object, answer: Callable[[], _A]) -> _A:
        """``answer()``, asked once per ``key`` while this judge lives: its callers ask some
        questions twice. ``key`` must say everything the answer depends on; ``named`` holds
        the objects it names by identity, kept alive with the answer so that no other object
        can take their identity meanwhile."""
        if key not in self._answers:
            self._answers[key] = (named, answer())
        return cast("_A", self._answers[key][1])

    def _installed_index(self, installed: Mapping[str, str | None] | None) -> Installed | None:
        """The installed packages by canonical name, indexed once per host's mapping."""
        if installed is None:
            return None
        # NOTE: the mapping is kept in the value, so that its id is never reused meanwhile.
        kept = self._installed_keys.get(id(installed))
        if kept is None:
            kept = self._installed_keys[id(installed)] = (installed, index_installed(installed))
        return kept[1]

    def _installed_seen(
        self, installed: Mapping[str, str | None] | None, names: tuple[NormalizedName, ...]
    ) -> _Seen:
        """What of the installed packages a candidate's own findings can depend on: those of
        ``names``, the distributions it requires and the members of their variant families.
        Hosts that differ only elsewhere share its dependency audit."""
        index = self._installed_index(installed)
        return None if index is None else tuple((name, index.get(name)) for name in names)

    def _requiring(self, host: str, distributions: set[str]) -> list[AuditedEntry]:
        """The host's packs that require any of ``distributions``."""
        index = self._by_distribution.get(host)
        if index is None:
            index = self._by_distribution[host] = {}
            for a in self._hosts.get(host, []):
                for name in _distributions(_requirements_of(a)):
                    index.setdefault(name, []).append(a)
        return list({id(a): a for name in distributions for a in index.get(name, [])}.values())

    def judge(
        self,
        installed: AuditedEntry,
        candidate: NodeVersion,
        env: Environment,
        *,
        must_clear_conflict: bool = False,
    ) -> Judgement:
        """Say why ``candidate`` may not replace ``installed`` in ``env``, and what it installs.

        :param must_clear_conflict: whether ``installed`` is part of a dependency conflict,
            which the candidate must then be shown to be free of.
        """
        entry = _candidate_entry(installed.entry, candidate)
        mine = PackRequirements(entry, candidate.dependencies)
        names = _names_required(candidate.dependencies)
        involvement = self._demands(entry.host, env).involvement(mine, installed.entry)
        held = any(f.check == _CLASH for f in installed.findings)
        if involvement is None:
            dependencies = self._among_others(installed, mine, env, names)
            return self._judged(entry, candidate, env, dependencies, held, must_clear_conflict)
        # NOTE: hosts of one image ask the same question of a candidate: what decides the answer
        # is the entry, the candidate, the environment's facts, the installed packages it names
        # and what the other packs add (`with_others`), never which host asks.
        seen = self._installed_seen(env.installed, names)
        key = (
            checks.entry_facts(entry),
            id(candidate),  # NOTE: kept alive with the judgement, so the identity stays its own
            checks.environment_facts(env),
            (env.python_version, env.installed_partial),
            seen,
            involvement,
            held,
            must_clear_conflict,
        )
        remembered = self._judgements.get(key)
        if remembered is not None:
            return remembered[1]
        alone = self._alone(mine, candidate, env, names, seen)
        dependencies = with_others(alone, involvement, mine)
        judgement = self._judged(entry, candidate, env, dependencies, held, must_clear_conflict)
        self._judgements[key] = (candidate, judgement)
        return judgement

    def _judged(
        self,
        entry: ManifestEntry,
        candidate: NodeVersion,
        env: Environment,
        dependencies: Sequence[Finding],
        clash_held: bool,
        must_clear_conflict: bool,
    ) -> Judgement:
        installs = [f for f in dependencies if f.check in _INSTALLS]
        # NOTE: a variant clash the installed version has already is no fault of the candidate's.
        not_held = {*_INSTALLS, *((_CLASH,) if clash_held else ())}
        found = [
            *self._evaluate(entry, candidate, env),
            *(f for f in dependencies if f.check not in not_held),
        ]
        phrases = [_phrase(f) for f in found if counts(f, env)]
        if not candidate.dependencies and must_clear_conflict:
            phrases.append(_UNPROVEN)
        wanted = () if phrases else tuple(dict.fromkeys(_installed_as(f) for f in installs))
        return Judgement(tuple(dict.fromkeys(phrases)), wanted)

    def _evaluate(
        self, entry: ManifestEntry, candidate: NodeVersion, env: Environment
    ) -> Iterable[Finding]:
        found = self._found.get(id(candidate))
        if found is None:
            # NOTE: kept for the judge's life, so that the key's identity stays its own.
            found = self._found[id(candidate)] = Found(candidate)
        key = checks.evaluation_key(entry, found, env)
        findings = self._evaluated.get(key)
        if findings is None:
            findings = self._evaluated[key] = checks.evaluate(entry, found, env).findings
        # NOTE: a judgement reads what a finding says, never its host: shared as they are.
        return findings

    def _among_others(
        self,
        installed: AuditedEntry,
        mine: PackRequirements,
        env: Environment,
        names: tuple[NormalizedName, ...],
    ) -> list[Finding]:
        """The candidate's dependency findings, audited among the packs that require one of
        its distributions or a member of their families: the way for a host where another
        pack has its id and version."""
        host = mine.entry.host
        others = [_requirements_of(a) for a in self._requiring(host, set(names))]
        others = [pack for pack in others if pack.entry is not installed.entry]
        index = self._installed_index(env.installed)
        return list(findings_of_first(host, [mine, *others], env, index, names))

    def _alone(
        self,
        mine: PackRequirements,
        candidate: NodeVersion,
        env: Environment,
        names: tuple[NormalizedName, ...],
        seen: _Seen,
    ) -> list[Finding]:
        """The candidate's dependency findings on a host where no other pack can change them:
        they depend on its lines, the marker facts and the installed packages it names
        (``seen``, as `_installed_seen` gives them)."""
        key = (
            candidate.key.normalized,
            tuple(candidate.dependencies or ()),
            (env.os, env.python_version, env.installed_partial),
            seen,
        )
        found = self._alone_seen.get(key)
        if found is None:
            index = self._installed_index(env.installed)
            found = findings_of_first(mine.entry.host, [mine], env, index, names)
            self._alone_seen[key] = found
        return list(found)

    def _demands(self, host: str, env: Environment) -> HostDemands:
        demands = self._host_demands.get(host)
        if demands is None:
            packs = [_requirements_of(a) for a in self._hosts.get(host, [])]
            index = self._installed_index(env.installed)
            demands = self._host_demands[host] = HostDemands(packs, marker_facts(env), index)
        return demands


@functools.lru_cache(maxsize=4096)
def _seen_names(wanted: frozenset[str]) -> tuple[NormalizedName, ...]:
    """``wanted`` (canonical names) and every member of their variant families, sorted."""
    names = {NormalizedName(name) for name in wanted}
    families = (family_of(name) for name in names)
    members = {m for family in families if family is not None for m in family.members}
    return tuple(sorted(names | members))


def _installed_as(finding: Finding) -> str:
    """The requirement a missing or unmet finding names: ``numpy>=2``."""
    if finding.check == "dependency.missing":
        return finding.expected or finding.message
    distribution = finding.message.split(" ", 1)[0]
    return f"{distribution}{finding.expected or ''}"


def _requirements_of(audited: AuditedEntry) -> PackRequirements:
    node_version = audited.node_version
    return PackRequirements(audited.entry, node_version.dependencies if node_version else None)


def _distributions(pack: PackRequirements) -> set[str]:
    return {
        line.distribution
        for line in pack_lines(pack)
        if isinstance(line, RequirementLine) and line.distribution is not None
    }


def _candidate_entry(entry: ManifestEntry, candidate: NodeVersion) -> ManifestEntry:
    # NOTE: what the pack's files declare belongs to the installed version, not the candidate.
    changes = {"version": candidate.version, "declared": None, "requirements": None}
    return replaced(entry, **changes, problem=None)


@functools.lru_cache(maxsize=4096)
def _names_required(dependencies: tuple[str, ...] | None) -> tuple[NormalizedName, ...]:
    """What a candidate listing ``dependencies`` (the registry's lines, its only ones) requires,
    with the members of their variant families, sorted."""
    return _seen_names(frozenset(_distributions(PackRequirements(_NO_ENTRY, dependencies))))


def _phrase(finding: Finding) -> str:
    if finding.check == _CONFLICT:
        distribution = finding.message.split(":", 1)[0]
        return f"conflicts with other packs over {clean(distribution)}"
    template = _PHRASES.get(finding.check)
    if template is None:
        return f"has {finding.check}"
    return template.format(expected=clean(finding.expected), actual=clean(finding.actual))

"""Audit the pip requirements of one host's packs against its environment and each other."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

from packaging.utils import NormalizedName

from audit.catalogue import severities
from audit.dependencies.crosspack import (
    compromised_findings,
    conflict_findings,
    variant_findings,
)
from audit.dependencies.interface import DependencyAudit, PackRequirements
from audit.dependencies.judge import Installed, host_finding, index_installed, judge
from audit.dependencies.markers import marker_facts
from audit.dependencies.perpack import pack_findings
from audit.model import Environment, Finding, RequirementRows

__all__ = ["audit_dependencies", "conflicts_among", "findings_of_first"]


def audit_dependencies(
    host: str, packs: Sequence[PackRequirements], env: Environment
) -> DependencyAudit:
    """Audit the requirements of ``packs``, all installed on ``host``, in the environment ``env``.

    Every requirement line becomes one ``requirements`` row, in pack order (the registry's
    lines, then ``requirements.txt``, then the pyproject's), invalid lines included.

    - Markers are evaluated against ``env`` (its Python version and OS), never against this
      machine. A marker needing a fact ``env`` does not know leaves its requirement unjudged:
      ``satisfied`` null, no missing or unsatisfied finding, and no part in conflicts or clashes.
      A marker on ``extra`` holds only for a requested extra: never, here. Extras of the
      requirement itself (``pkg[extra]``) are ignored; it still requires ``pkg``.
    - With ``env.installed`` unknown, the checks against installed packages (missing,
      unsatisfied, compromised) are skipped, with one ``env.unknown`` finding for the host;
      conflicts between packs are still decided. With ``env.installed_partial`` (a venv that
      also sees the system's packages, which were not read), nothing is reported missing.
    - A requirement that does not apply here is satisfied. An installed URL install has no
      version: it meets a requirement without a range, and any other stays unjudged.
      ``pip``, ``setuptools``, ``wheel`` and ``distribute`` are never reported missing, since
      ``pip freeze`` leaves them out.
    - Disabled packs get their rows and their own findings, at ``info``; they take no part in
      conflicts or variant clashes, being never loaded.

    Findings come in this order: ``env.unknown``; each pack's own (``spec-invalid``, then
    ``missing`` or ``unsatisfied`` per distribution); conflicts by distribution; variant clashes
    by family; compromised releases by distribution.
    """
    installed = index_installed(env.installed)
    facts = marker_facts(env)
    per_pack = [judge(pack, i, facts, installed) for i, pack in enumerate(packs)]
    judged = [j for lines in per_pack for j in lines]
    findings = [
        *_unknown_installed(host, installed),
        *(
            f
            for lines in per_pack
            for f in pack_findings(
                host, lines, installed is not None, missing_known=not env.installed_partial
            )
        ),
        *conflict_findings(host, judged),
        *variant_findings(host, judged, installed),
        *compromised_findings(host, judged, installed),
    ]
    return DependencyAudit(
        tuple(findings), RequirementRows.of_cells([j.cells(host) for j in judged])
    )


def conflicts_among(
    host: str,
    packs: Sequence[PackRequirements],
    env: Environment,
    distributions: Collection[str] | None = None,
) -> tuple[Finding, ...]:
    """Return the ``dependency.conflict`` findings `audit_dependencies` gives for ``packs`` in
    ``env``, in the same order, and nothing else: conflicts never depend on what is installed.

    :param distributions: only the conflicts over these (canonical names); a conflict is over
        one distribution, so the lines over others take no part.
    """
    facts = marker_facts(env)
    judged = [j for i, pack in enumerate(packs) for j in judge(pack, i, facts, None, distributions)]
    return tuple(conflict_findings(host, judged))


def findings_of_first(
    host: str,
    packs: Sequence[PackRequirements],
    env: Environment,
    installed: Installed | None,
    distributions: Collection[NormalizedName],
) -> tuple[Finding, ...]:
    """Return the findings `audit_dependencies` gives about ``packs[0]`` (every finding with
    its node id and version), in the same order, without the rows or the other packs' own
    findings: what an advisor's candidate needs, judged among the packs of its host.

    :param installed: ``env.installed`` as `index_installed` keys it (made once per host).
    :param distributions: the canonical names ``packs[0]`` requires and the members of their
        variant families; only the other packs' lines over these, and the installed packages
        of these names, are read, since a conflict is over one distribution and a clash within
        one family.
    """
    facts = marker_facts(env)
    first = packs[0].entry
    mine = (first.node_id, first.version)
    # NOTE: the installed packages named elsewhere give findings about the host alone.
    installed = (
        None if installed is None else {n: installed[n] for n in distributions if n in installed}
    )
    per_pack = [
        judge(pack, i, facts, installed, None if i == 0 else distributions)
        for i, pack in enumerate(packs)
    ]
    judged = [j for lines in per_pack for j in lines]
    known, missing_known = installed is not None, not env.installed_partial
    findings = [
        *(
            f
            for pack, lines in zip(packs, per_pack, strict=True)
            if (pack.entry.node_id, pack.entry.version) == mine
            for f in pack_findings(host, lines, known, missing_known=missing_known)
        ),
        *conflict_findings(host, judged, mine),
        *variant_findings(host, judged, installed),
        *compromised_findings(host, judged, installed),
    ]
    return tuple(f for f in findings if (f.node_id, f.version) == mine)


def _unknown_installed(host: str, installed: Installed | None) -> Iterator[Finding]:
    if installed is None:
        message = "installed packages unknown: missing, unmet and compromised ones not checked"
        yield host_finding(host, "env.unknown", severities("env")["env.unknown"], message)

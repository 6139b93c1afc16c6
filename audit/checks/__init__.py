"""The checks stage: turns one manifest entry and its registry answer into findings.

One module per family: ``registry`` (entry-level), ``status``, ``security``, ``platform`` (OS and
accelerator) and ``versions`` (ComfyUI and frontend). ``evaluate`` is the only place that runs
them, and it sums the platform and version checks up as the ``nodes`` table's two booleans.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from itertools import chain
from operator import attrgetter

from audit.checks import pack, platform, registry, security, status, versions
from audit.checks.interface import CHECKS, Check
from audit.model import (
    Environment,
    Failed,
    Finding,
    FindingSource,
    Found,
    Invalid,
    LookupResult,
    ManifestEntry,
    NodeAnswer,
    NodeVersion,
    Severity,
    When,
)
from audit.model.tagging import replaced

__all__ = [
    "CHECKS",
    "Evaluation",
    "entry_facts",
    "environment_facts",
    "evaluate",
    "evaluation_key",
]

_CHECKS: tuple[Check, ...] = (
    status.check_status,
    status.check_deprecated,
    security.check_tags,
)
#: The checks that decide whether a pack can run here, by family.
_COMPATIBILITY_CHECKS: Mapping[str, Check] = {
    "os": platform.check_os,
    "accelerator": platform.check_accelerators,
    "comfyui": versions.check_comfyui,
    "frontend": versions.check_frontend,
}
_INCOMPATIBLE = frozenset(
    {"os.unsupported", "accelerator.unsupported", "comfyui.incompatible", "frontend.incompatible"}
)


@dataclass(frozen=True)
class Evaluation:
    """Represents what the checks concluded about one entry."""

    findings: tuple[Finding, ...]
    compatible_now: bool | None = None
    """``False`` when an OS, accelerator, ComfyUI or frontend check failed, ``None`` when one
    could not decide (unknown fact, unparseable declaration) or there is no registry answer."""
    compatible_after_upgrade: bool | None = None
    """The same after the planned upgrade; ``None`` too when no upgrade target is given."""


def evaluate(
    entry: ManifestEntry,
    result: LookupResult | None,
    env: Environment,
    node: NodeAnswer | None = None,
) -> Evaluation:
    """Return every finding about ``entry``, given its registry answer and its environment.

    :param result: the lookup's answer; ``None`` when the entry was not looked up.
    :param node: the registry's Node answer for the pack; ``None`` when it was not looked up.
    """
    evaluation = _evaluate(entry, result, env)
    if node is not None and entry.problem is None:
        found = (*evaluation.findings, *pack.check_node(entry, node))
        evaluation = replaced(evaluation, findings=found)
    if entry.disabled:
        # A disabled pack does not run: what is wrong with it is worth knowing, not failing on;
        # but a banned pack on disk is still malware.
        quiet = tuple(
            f if f.check in pack.BAN_CHECKS else replace(f, severity=Severity.INFO)
            for f in evaluation.findings
        )
        return replaced(evaluation, findings=quiet)
    return evaluation


def evaluation_key(
    entry: ManifestEntry,
    result: LookupResult | None,
    env: Environment,
    node: NodeAnswer | None = None,
) -> tuple[object, ...]:
    """What `evaluate` depends on: equal keys give equal findings but for their host.

    Callers that evaluate a fleet use it to evaluate each distinct pack once. The entry's host
    and position only name the findings, and the checks read no installed packages or sources.
    The registry's answers are named by identity: a run holds one object per answer, which is
    dear to hash (a record's every field), so the caller keeps ``result`` and ``node`` alive
    while it uses the key.
    """
    return (entry_facts(entry), id(result), environment_facts(env), id(node))


entry_facts = attrgetter(
    *(f.name for f in fields(ManifestEntry) if f.name not in ("host", "manifest", "line"))
)
"""What of an entry the checks read: every field but where it was written."""
environment_facts = attrgetter(
    "os", "accelerators", "comfyui_version", "frontend_version", "target_comfyui", "target_frontend"
)
"""What of an environment the checks read: the platform, today's versions and the targets."""


def _evaluate(entry: ManifestEntry, result: LookupResult | None, env: Environment) -> Evaluation:
    if entry.problem is not None:
        return Evaluation((registry.check_problem(entry),))
    if not entry.is_valid:
        return Evaluation((registry.check_invalid_entry(entry),))
    if isinstance(result, Found):
        return _registry_checks(entry, result.node_version, env)
    if result is None:
        findings = tuple(registry.check_not_looked_up(entry))
    else:
        findings = (registry.check_answer(entry, result),)
    if entry.declared is None or isinstance(result, Failed | Invalid):
        return Evaluation(findings)
    # The registry knows nothing of this pack: what its own pyproject declares is the best we
    # have, and the findings say it came from the pack, not from the registry.
    local = _compatibility_checks(entry, entry.declared, env, FindingSource.LOCAL)
    return replaced(local, findings=findings + local.findings)


def _registry_checks(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Evaluation:
    general = chain(
        registry.check_fields(entry, node_version),
        *(check(entry, node_version, env) for check in _CHECKS),
    )
    compatibility = _compatibility_checks(entry, node_version, env, FindingSource.REGISTRY)
    return replaced(compatibility, findings=(*general, *compatibility.findings))


def _compatibility_checks(
    entry: ManifestEntry, declared: NodeVersion, env: Environment, source: FindingSource
) -> Evaluation:
    by_family = {
        name: tuple(_from(source, check(entry, declared, env)))
        for name, check in _COMPATIBILITY_CHECKS.items()
    }
    return Evaluation(
        tuple(chain.from_iterable(by_family.values())), *_compatibility(by_family, env)
    )


def _from(source: FindingSource, findings: Iterable[Finding]) -> Iterator[Finding]:
    if source is FindingSource.REGISTRY:
        yield from findings  # NOTE: what the checks say already
        return
    for f in findings:
        yield replaced(f, source=source) if f.source is FindingSource.REGISTRY else f


def _compatibility(
    by_family: Mapping[str, tuple[Finding, ...]], env: Environment
) -> tuple[bool | None, bool | None]:
    now = _verdict(f for found in by_family.values() for f in found if f.when is When.NOW)
    if not env.target_comfyui and not env.target_frontend:
        return now, None
    # OS and accelerator do not change with an upgrade; a version family without a target
    # is judged on today's version.
    wanted = {
        "os": When.NOW,
        "accelerator": When.NOW,
        "comfyui": When.AFTER_UPGRADE if env.target_comfyui else When.NOW,
        "frontend": When.AFTER_UPGRADE if env.target_frontend else When.NOW,
    }
    after = (f for name, found in by_family.items() for f in found if _holds_at(f, wanted[name]))
    return now, _verdict(after)


def _holds_at(found: Finding, when: When) -> bool:
    # NOTE: a declaration that cannot be parsed is a defect at any time; it is reported once.
    return found.when is when or found.check.endswith(".spec-invalid")


def _verdict(findings: Iterable[Finding]) -> bool | None:
    # Every finding of a compatibility check is either a failure or an undecided check.
    relevant = list(findings)
    if any(f.check in _INCOMPATIBLE for f in relevant):
        return False
    return None if relevant else True

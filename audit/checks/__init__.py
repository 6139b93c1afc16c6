"""The checks stage: turns one manifest entry and its registry answer into findings.

One module per family: ``registry`` (entry-level), ``status``, ``security``, ``platform`` (OS and
accelerator) and ``versions`` (ComfyUI and frontend). ``evaluate`` is the only place that runs
them, and it sums the platform and version checks up as the ``nodes`` table's two booleans.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import chain

from audit.checks import platform, registry, security, status, versions
from audit.checks.interface import CHECKS, Check
from audit.model import Environment, Finding, Found, LookupResult, ManifestEntry, Severity, When

__all__ = ["CHECKS", "Evaluation", "evaluate"]

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


def evaluate(entry: ManifestEntry, result: LookupResult | None, env: Environment) -> Evaluation:
    """Return every finding about ``entry``, given its registry answer and its environment.

    :param result: the lookup's answer; ``None`` when the entry was not looked up.
    """
    evaluation = _evaluate(entry, result, env)
    if entry.disabled:
        # A disabled pack does not run: what is wrong with it is worth knowing, not failing on.
        quiet = tuple(replace(f, severity=Severity.INFO) for f in evaluation.findings)
        return replace(evaluation, findings=quiet)
    return evaluation


def _evaluate(entry: ManifestEntry, result: LookupResult | None, env: Environment) -> Evaluation:
    if not entry.is_valid:
        return Evaluation((registry.check_invalid_entry(entry),))
    if result is None:
        return Evaluation(tuple(registry.check_not_looked_up(entry)))
    if not isinstance(result, Found):
        return Evaluation((registry.check_answer(entry, result),))
    node_version = result.node_version
    general = chain(
        registry.check_fields(entry, node_version),
        *(check(entry, node_version, env) for check in _CHECKS),
    )
    by_family = {
        name: tuple(check(entry, node_version, env))
        for name, check in _COMPATIBILITY_CHECKS.items()
    }
    findings = (*general, *chain.from_iterable(by_family.values()))
    return Evaluation(findings, *_compatibility(by_family, env))


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

"""The checks stage: turns one manifest entry and its registry answer into findings.

One module per family: ``registry`` (entry-level), ``status``, ``security``, ``platform`` (OS and
accelerator) and ``versions`` (ComfyUI and frontend). ``evaluate`` is the only place that runs
them, and ``compatibility`` sums their findings up as the ``nodes`` table's two booleans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from audit.checks import platform, registry, security, status, versions
from audit.checks.interface import CHECKS, Check, family
from audit.model import Environment, Finding, Found, LookupResult, ManifestEntry, Severity, When

__all__ = ["CHECKS", "compatibility", "evaluate"]

_CHECKS: tuple[Check, ...] = (
    status.check_status,
    status.check_deprecated,
    security.check_tags,
    platform.check_os,
    platform.check_accelerators,
    versions.check_comfyui,
    versions.check_frontend,
)
_COMPATIBILITY_FAMILIES = ("os", "accelerator", "comfyui", "frontend")
_INCOMPATIBLE = frozenset(
    {"os.unsupported", "accelerator.unsupported", "comfyui.incompatible", "frontend.incompatible"}
)


def evaluate(
    entry: ManifestEntry, result: LookupResult | None, env: Environment
) -> tuple[Finding, ...]:
    """Return every finding about ``entry``, given its registry answer and its environment.

    :param result: the lookup's answer; ``None`` when the entry was not looked up.
    """
    findings = tuple(_findings(entry, result, env))
    if entry.disabled:
        # A disabled pack does not run: what is wrong with it is worth knowing, not failing on.
        return tuple(replace(f, severity=Severity.INFO) for f in findings)
    return findings


def _findings(
    entry: ManifestEntry, result: LookupResult | None, env: Environment
) -> Iterable[Finding]:
    if not entry.is_valid:
        return (registry.check_invalid_entry(entry),)
    if result is None:
        return registry.check_not_looked_up(entry)
    if not isinstance(result, Found):
        return (registry.check_answer(entry, result),)
    node_version = result.node_version
    findings = list(registry.check_fields(entry, node_version))
    for check in _CHECKS:
        findings += check(entry, node_version, env)
    return findings


def compatibility(
    findings: Sequence[Finding], result: LookupResult | None, env: Environment
) -> tuple[bool | None, bool | None]:
    """Return ``(compatible_now, compatible_after_upgrade)`` from an entry's findings.

    Each is ``False`` when an OS, accelerator, ComfyUI or frontend check failed, ``None`` when
    one could not decide (unknown fact, unparseable declaration) and ``True`` otherwise. Both
    are ``None`` without a registry answer; the second is ``None`` without an upgrade target.
    """
    if not isinstance(result, Found):
        return None, None
    now = _verdict(f for f in findings if f.when is When.NOW)
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
    return now, _verdict(f for f in findings if _holds_at(f, wanted.get(family(f))))


def _holds_at(found: Finding, when: When | None) -> bool:
    # NOTE: a declaration that cannot be parsed is a defect at any time; it is reported once.
    return when is not None and (found.when is when or found.check.endswith(".spec-invalid"))


def _verdict(findings: Iterable[Finding]) -> bool | None:
    relevant = [f for f in findings if family(f) in _COMPATIBILITY_FAMILIES]
    if any(f.check in _INCOMPATIBLE for f in relevant):
        return False
    return None if relevant else True

"""What the advisor gives and which findings it acts on: `Recommendation` and the triggers."""

from __future__ import annotations

from dataclasses import dataclass

from audit.model import Environment, Finding, Severity, When

__all__ = [
    "Recommendation",
    "counts",
    "is_trigger",
]

#: The check families whose findings at warning or above call for another version.
_TRIGGER_FAMILIES = frozenset({"status", "security", "os", "accelerator", "comfyui", "frontend"})
#: The version families: with an upgrade target, the target is what they are judged on.
_TARGETED = {"comfyui": "target_comfyui", "frontend": "target_frontend"}


@dataclass(frozen=True)
class Recommendation:
    """Represents the advisor's answer for one installed pack: the version to move to, or why
    there is none. One row of the ``recommendations`` table."""

    host: str
    node_id: str
    """The id exactly as the manifest wrote it."""
    version: str | None
    """The installed version, as the manifest wrote it."""
    recommended_version: str | None
    """The newest version that passes every check here; ``None`` when none does."""
    clears: tuple[str, ...]
    """The check codes of the installed version that the move clears, sorted."""
    blocked_by: tuple[str, ...]
    """When no version fits: the constraints that none meets; empty otherwise."""
    installs: tuple[str, ...] = ()
    """The recommended version's requirements the host does not meet yet (``numpy>=2``): the
    move would newly install or upgrade them."""


def is_trigger(check: str) -> bool:
    """Whether a finding of ``check`` (at warning or above) calls for another version.

    Registry answers (``registry.*``) and declarations that cannot be parsed (``*.spec-invalid``)
    are not about the version's fitness, so no other version is looked for.

    >>> [is_trigger(c) for c in ("status.flagged", "comfyui.spec-invalid", "registry.not-found")]
    [True, False, False]
    """
    if check.endswith(".spec-invalid"):
        return False
    return check.split(".", 1)[0] in _TRIGGER_FAMILIES or check == "dependency.conflict"


def counts(finding: Finding, env: Environment | None) -> bool:
    """Whether ``finding`` counts against a version in ``env``: at warning or above, not waived,
    and, for the ComfyUI and frontend checks when ``env`` has an upgrade target for them, about
    the target rather than today's version (DESIGN.md "Advisor": the environment audited is the
    target). A range that cannot be parsed counts at any time.
    """
    if finding.severity < Severity.WARNING or finding.waived:
        return False
    if env is None or finding.when is not When.NOW or finding.check.endswith(".spec-invalid"):
        return True
    target = _TARGETED.get(finding.check.split(".", 1)[0])
    return target is None or not getattr(env, target)

"""What the advisor gives and which findings it acts on: `Recommendation` (a row type of
`audit.model`, named here too) and the triggers."""

from __future__ import annotations

import functools

from audit.model import Environment, Finding, Recommendation, Severity, When

__all__ = [
    "Recommendation",
    "counts",
    "is_trigger",
]

#: The check families whose findings at warning or above call for another version.
_TRIGGER_FAMILIES = frozenset({"status", "security", "os", "accelerator", "comfyui", "frontend"})
#: The version families: with an upgrade target, the target is what they are judged on.
_TARGETED = {"comfyui": "target_comfyui", "frontend": "target_frontend"}


# NOTE: a fleet asks of a few dozen check codes millions of times.
@functools.cache
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

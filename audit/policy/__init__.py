"""The policy file ``comfy-audit.toml``: severity overrides, expiring waivers and a default fail-on.

The format (every key optional but a waiver's ``check``, ``node`` and ``reason``)::

    fail-on = "error"            # info, warning, error, critical or never
    [severity]                   # check code = severity, replacing its default
    "security.tag" = "info"
    [[waiver]]
    check = "status.flagged"     # one exact check code, never a glob
    node = "comfyui-foo*"        # a glob of node ids, any case; "*" also matches host findings
    version = "1.2.0"            # this exact version only
    reason = "reviewed the scanner hit, false positive"
    expires = 2027-03-31         # applies through this date; a TOML date or "YYYY-MM-DD"

A waiver names one exact check code so that a new kind of finding about a waived pack is never
silenced by an older, narrower decision. `audit.policy.model` holds what a policy is and does to
findings; `audit.policy.load` reads the file, where any mistake is an `InputError` of one line
naming the file and the key.

NOTE: the names are loaded on first use (PEP 562), so that the command line can import a light
part of the stage without the rest, and ``--help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.lazy import attributes

if TYPE_CHECKING:
    from audit.policy.load import KNOWN_CHECKS, POLICY_FILE, find_policy, load_policy
    from audit.policy.model import (
        DEFAULT_FAIL_ON,
        POLICY_CHECKS,
        UNSET,
        PackKey,
        Policy,
        Unset,
        Waiver,
        resolve_fail_on,
    )

_HOMES = {
    "DEFAULT_FAIL_ON": "audit.policy.model",
    "KNOWN_CHECKS": "audit.policy.load",
    "POLICY_CHECKS": "audit.policy.model",
    "POLICY_FILE": "audit.policy.load",
    "PackKey": "audit.policy.model",
    "Policy": "audit.policy.model",
    "UNSET": "audit.policy.model",
    "Unset": "audit.policy.model",
    "Waiver": "audit.policy.model",
    "find_policy": "audit.policy.load",
    "load_policy": "audit.policy.load",
    "resolve_fail_on": "audit.policy.model",
}

__all__ = [
    "DEFAULT_FAIL_ON",
    "KNOWN_CHECKS",
    "POLICY_CHECKS",
    "POLICY_FILE",
    "UNSET",
    "PackKey",
    "Policy",
    "Unset",
    "Waiver",
    "find_policy",
    "load_policy",
    "resolve_fail_on",
]


__getattr__ = attributes(__name__, _HOMES, globals())

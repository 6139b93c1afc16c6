"""The environment stage: what the audited machine and its ComfyUI install have.

The facts are this machine's OS and accelerators (``machine``), a saved profile (``profile``),
an install's versions and packages (``installation``, ``comfyui``) read from its files
(``sitepackages``, ``torchbuild``), or another interpreter asked in a subprocess
(``interpreter``). Every fact records where it came from in ``Environment.sources``.

NOTE: the names are loaded on first use (PEP 562), so that the command line can import a light
part of the stage without the rest, and ``--help`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from audit.lazy import attributes

if TYPE_CHECKING:
    from audit.environment.installation import describe_install, describe_interpreter
    from audit.environment.machine import detect
    from audit.environment.names import (
        ACCELERATORS,
        OPERATING_SYSTEMS,
        normalize_accelerator,
        normalize_os,
    )
    from audit.environment.profile import (
        PROFILE_SCHEMA,
        load_profile,
        override,
        profile_from_dict,
        profile_to_dict,
    )

_HOMES = {
    "ACCELERATORS": "audit.environment.names",
    "OPERATING_SYSTEMS": "audit.environment.names",
    "PROFILE_SCHEMA": "audit.environment.profile",
    "describe_install": "audit.environment.installation",
    "describe_interpreter": "audit.environment.installation",
    "detect": "audit.environment.machine",
    "load_profile": "audit.environment.profile",
    "normalize_accelerator": "audit.environment.names",
    "normalize_os": "audit.environment.names",
    "override": "audit.environment.profile",
    "profile_from_dict": "audit.environment.profile",
    "profile_to_dict": "audit.environment.profile",
}

__all__ = [
    "ACCELERATORS",
    "OPERATING_SYSTEMS",
    "PROFILE_SCHEMA",
    "describe_install",
    "describe_interpreter",
    "detect",
    "load_profile",
    "normalize_accelerator",
    "normalize_os",
    "override",
    "profile_from_dict",
    "profile_to_dict",
]


__getattr__ = attributes(__name__, _HOMES, globals())

"""The environment stage: what the audited machine and its ComfyUI install have.

The facts are this machine's OS and accelerators (``machine``), a saved profile (``profile``),
an install's versions and packages (``installation``, ``comfyui``) read from its files
(``sitepackages``, ``torchbuild``), or another interpreter asked in a subprocess
(``interpreter``). Every fact records where it came from in ``Environment.sources``.
"""

from __future__ import annotations

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

"""The options of the commands that audit (``run`` and ``advise``): what to audit, how findings
are judged, the advisor; and what they are read into."""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import click

from audit.cli.options import environment_options, manifest_format_option, option_group
from audit.inputs import Inputs
from audit.model import Severity
from audit.policy import UNSET, Unset

__all__ = [
    "FailOn",
    "advice_options",
    "input_options",
    "policy_options",
    "pop_inputs",
    "threshold",
]


class FailOn(enum.StrEnum):
    """The choices of ``--fail-on``: a severity, or never."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"
    NEVER = "never"


def threshold(fail_on: str | None) -> Severity | Unset | None:
    """The severity ``--fail-on`` names; `UNSET` when not given; ``None`` for never."""
    if fail_on is None:
        return UNSET
    return None if fail_on == FailOn.NEVER else Severity.parse(fail_on)


#: Options of the upgrade advisor, shared by ``run`` and ``advise``.
advice_options = option_group(
    click.option(
        "--no-advice",
        is_flag=True,
        help="Do not look for a version to move to (one request per affected pack).",
    ),
    click.option(
        "--allow-prerelease",
        is_flag=True,
        help="Let the advisor recommend pre-release versions.",
    ),
)

#: What to audit and on which machine, shared by ``run`` and ``advise``.
input_options = option_group(
    click.argument("manifests", nargs=-1, metavar="[MANIFEST]..."),
    manifest_format_option(show_default=True),
    click.option(
        "--host",
        help="Host name for a single manifest or --comfyui. "
        "Default: the manifest's file stem, or this machine's name.",
    ),
    environment_options,
)

#: How findings are judged, shared by ``run`` and ``advise``.
policy_options = option_group(
    click.option(
        "--fail-on",
        type=click.Choice([f.value for f in FailOn]),
        help="Exit 1 when a finding is at or above this severity. "
        "Default: the policy file's fail-on, else error.",
    ),
    click.option(
        "--policy",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="Policy file: severity overrides, waivers, fail-on. "
        "Default: ./comfy-audit.toml if any.",
    ),
)

_ENVIRONMENT_FLAGS = ("comfyui_path", "python", "env_profile", "os_name", "accelerators")
_VERSION_FLAGS = ("comfyui_version", "frontend_version", "target_comfyui", "target_frontend")


def pop_inputs(options: dict[str, Any], meanwhile: Callable[[], object] = lambda: None) -> Inputs:
    """Take the `input_options` out of ``options`` and read what they name; ``meanwhile`` may
    be called while they are read (`Inputs.read`)."""
    paths: tuple[str, ...] = options.pop("manifests")
    manifest_format, host = options.pop("manifest_format"), options.pop("host")
    environment = {name: options.pop(name) for name in _ENVIRONMENT_FLAGS}
    versions = {name: options.pop(name) for name in _VERSION_FLAGS}
    return Inputs.read(
        paths,
        manifest_format=manifest_format,
        host=host,
        versions=versions,
        meanwhile=meanwhile,
        **environment,
    )

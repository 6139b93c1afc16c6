"""The options that several commands share, their checks, and what they are read into."""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable
from dataclasses import fields
from datetime import timedelta
from typing import Any, TypeVar

import click

from audit.environment import ACCELERATORS, OPERATING_SYSTEMS, normalize_accelerator, normalize_os
from audit.errors import InputError
from audit.inputs import DEFAULT_REGISTRY, Inputs, RegistrySettings
from audit.manifest import ManifestFormat
from audit.model import Severity
from audit.policy import UNSET, Unset
from audit.registry.credentials import TOKEN_ENV
from audit.versions import parse_local_version

__all__ = [
    "FailOn",
    "advice_options",
    "environment_options",
    "input_options",
    "json_option",
    "manifest_format_option",
    "node_map_option",
    "option_group",
    "output_file_option",
    "policy_options",
    "pop_inputs",
    "pop_registry",
    "registry_options",
    "threshold",
    "version_option",
    "workflow_option",
]

F = TypeVar("F", bound=Callable[..., Any])


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


def option_group(*options: Callable[[Any], Any]) -> Callable[[F], F]:
    """Return one decorator that applies ``options`` in order (the first shows first in --help)."""

    def apply(command: F) -> F:
        return functools.reduce(lambda f, option: option(f), reversed(options), command)

    return apply


def _check_version(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and parse_local_version(value) is None:
        raise click.BadParameter(f"{value!r} is not a version (expected e.g. 0.3.40)")
    return value


def _check_os(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        return normalize_os(value) if value is not None else None
    except InputError as e:
        raise click.BadParameter(str(e)) from e


def _check_accelerators(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    try:
        return tuple(normalize_accelerator(a) for a in value)
    except InputError as e:
        raise click.BadParameter(str(e)) from e


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _check_duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration (expected e.g. 90s, 30m, 1h, 2d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def version_option(name: str, help: str) -> Callable[[F], F]:
    """An option whose value is a version (``0.3.40``)."""
    return click.option(name, metavar="V", callback=_check_version, help=help)


def manifest_format_option(**extra: Any) -> Callable[[F], F]:
    """``--manifest-format``."""
    return click.option(
        "--manifest-format",
        type=click.Choice([f.value for f in ManifestFormat]),
        default=ManifestFormat.AUTO.value,
        help="Format of the manifests; auto detects it from the content.",
        **extra,
    )


def output_file_option(help: str, **extra: Any) -> Callable[[F], F]:
    """``--output``/``-o``: a file the command writes."""
    return click.option("--output", "-o", type=click.Path(dir_okay=False), help=help, **extra)


def json_option(help: str) -> Callable[[F], F]:
    """``--json``: print JSON instead of text."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def workflow_option(help: str) -> Callable[[F], F]:
    """``--workflow``, repeatable: a workflow file or a folder of them."""
    return click.option(
        "--workflow", "workflows", multiple=True, type=click.Path(), metavar="PATH", help=help
    )


#: ``--node-map``, shared by ``run`` and ``needs``.
node_map_option = click.option(
    "--node-map",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="ComfyUI-Manager's extension-node-map.json, for classes the registry cannot place.",
)

#: Options that describe the machine, shared by ``run`` and ``env``.
environment_options = option_group(
    click.option(
        "--comfyui",
        "comfyui_path",
        type=click.Path(file_okay=False),
        metavar="PATH",
        help="A ComfyUI install: its versions, interpreter and torch build describe the host.",
    ),
    click.option(
        "--python",
        type=click.Path(),
        metavar="PATH",
        help="The install's Python (or its venv): its site-packages are read as files, else it "
        "is run if you or root own it. Default: .venv, venv or python_embeded in --comfyui.",
    ),
    click.option(
        "--env-profile",
        type=click.Path(dir_okay=False),
        help="Profile (the JSON `comfy-audit env` prints) used instead of detection.",
    ),
    click.option(
        "--os",
        "os_name",
        metavar="NAME",
        callback=_check_os,
        help=f"Operating system: {', '.join(OPERATING_SYSTEMS)}. Default: detected.",
    ),
    click.option(
        "--accelerator",
        "accelerators",
        multiple=True,
        metavar="NAME",
        callback=_check_accelerators,
        help=f"Accelerator of the host, repeatable: {', '.join(ACCELERATORS)} "
        "(also xpu, npu, mps). cpu is always included. Default: detected.",
    ),
    version_option("--comfyui-version", "Installed ComfyUI version."),
    version_option("--frontend-version", "Installed ComfyUI frontend version."),
    version_option(
        "--target-comfyui",
        "Planned ComfyUI version: version checks also run against it (after-upgrade).",
    ),
    version_option(
        "--target-frontend",
        "Planned frontend version: version checks also run against it (after-upgrade).",
    ),
)

#: Options that say where registry answers come from, shared by ``run`` and ``mirror``.
registry_options = option_group(
    click.option(
        "--registry",
        default=DEFAULT_REGISTRY,
        show_default=True,
        metavar="URL|FILE",
        help="Registry API base URL, or a mirror file (JSON lines) for a fully offline run.",
    ),
    click.option(
        "--cache-dir",
        type=click.Path(file_okay=False),
        metavar="PATH",
        help="Folder of the registry answer cache. Default: the user cache folder.",
    ),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
    click.option(
        "--max-age",
        default="1h",
        show_default=True,
        metavar="DURATION",
        callback=_check_duration,
        help="Cached answers older than this are fetched again (90s, 30m, 1h, 2d); a "
        "mirror or offline data older than this is warned about.",
    ),
    click.option("--refresh", is_flag=True, help="Fetch every answer again; write the cache."),
    click.option(
        "--offline",
        is_flag=True,
        help="Use only the cache (any age), no network; say how old the data is.",
    ),
    click.option(
        "--timeout", default=10.0, show_default=True, help="Seconds before a request fails."
    ),
    click.option(
        "--retries", default=4, show_default=True, help="Retries of a failed registry request."
    ),
    click.option(
        "--concurrency",
        default=8,
        show_default=True,
        type=click.IntRange(1, 64),
        help="Registry requests in flight at once.",
    ),
    click.option(
        "--chunk-size",
        default=100,
        show_default=True,
        type=click.IntRange(1, 1000),
        help="node@version pairs per bulk request.",
    ),
    click.option(
        "--ca-bundle",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="CA bundle to verify a private registry's TLS certificate (never turned off).",
    ),
    click.option(
        "--token-file",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help=f"File holding a registry token (else ${TOKEN_ENV}); sent to that host only.",
    ),
    click.option(
        "--allow-insecure-http",
        is_flag=True,
        help="Allow a plain http:// registry that is not on loopback.",
    ),
    click.option(
        "--vuln-db",
        metavar="URL|ZIP|DIR|none",
        help="Where known vulnerabilities of installed Python packages come from: the OSV API, "
        "OSV's PyPI export zip, a folder of OSV records, or none. Default: the OSV API with the "
        "default registry, else none.",
    ),
)

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


def pop_inputs(options: dict[str, Any]) -> Inputs:
    """Take the `input_options` out of ``options`` and read what they name."""
    paths: tuple[str, ...] = options.pop("manifests")
    manifest_format, host = options.pop("manifest_format"), options.pop("host")
    environment = {name: options.pop(name) for name in _ENVIRONMENT_FLAGS}
    versions = {name: options.pop(name) for name in _VERSION_FLAGS}
    return Inputs.read(
        paths, manifest_format=manifest_format, host=host, versions=versions, **environment
    )


def pop_registry(options: dict[str, Any]) -> RegistrySettings:
    """Take the `registry_options` out of ``options``."""
    return RegistrySettings(**{f.name: options.pop(f.name) for f in fields(RegistrySettings)})

"""The options that several commands share (the machine, files, versions) and their checks."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click

from audit.environment import ACCELERATORS, OPERATING_SYSTEMS, normalize_accelerator, normalize_os
from audit.errors import InputError
from audit.manifest import ManifestFormat
from audit.versions import parse_local_version

__all__ = [
    "environment_options",
    "json_option",
    "manifest_format_option",
    "node_map_option",
    "option_group",
    "output_file_option",
    "version_option",
    "workflow_option",
]

F = TypeVar("F", bound=Callable[..., Any])


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

"""The registry options that every command talking to a registry shares, and their reading."""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import timedelta
from typing import Any

import click

from audit.cli.options import option_group
from audit.inputs import DEFAULT_REGISTRY, RegistrySettings
from audit.registry.credentials import TOKEN_ENV

__all__ = ["pop_registry", "registry_options"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _check_duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration (expected e.g. 90s, 30m, 1h, 2d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


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


def pop_registry(options: dict[str, Any]) -> RegistrySettings:
    """Take the `registry_options` out of ``options``."""
    return RegistrySettings(**{f.name: options.pop(f.name) for f in fields(RegistrySettings)})

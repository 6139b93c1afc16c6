"""Load and save the environment profile, and record which source each fact came from."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from audit import safeio
from audit.environment.names import normalize_accelerator, normalize_os, with_cpu
from audit.errors import InputError, ProfileError
from audit.model import Environment

__all__ = [
    "PROFILE_SCHEMA",
    "load_profile",
    "override",
    "profile_from_dict",
    "profile_to_dict",
]

PROFILE_SCHEMA = "comfy-audit.env/1"
_MAX_PROFILE = 64 * 1024 * 1024


def override(env: Environment, source: str, **facts: Any) -> Environment:
    """Return ``env`` with the facts that are not ``None`` replaced, noting their ``source``."""
    given = {name: value for name, value in facts.items() if value is not None}
    if "accelerators" in given:
        given["accelerators"] = with_cpu(given["accelerators"])
    sources = {**env.sources, **dict.fromkeys(given, source)}
    return replace(env, **given, sources=sources)


def profile_to_dict(env: Environment) -> dict[str, object]:
    """Return the JSON-ready profile of ``env``, as ``comfy-audit env`` prints it."""
    return {
        "schema": PROFILE_SCHEMA,
        "os": env.os,
        "accelerators": sorted(env.accelerators) if env.accelerators is not None else None,
        "comfyui_version": env.comfyui_version,
        "frontend_version": env.frontend_version,
        "target_comfyui": env.target_comfyui,
        "target_frontend": env.target_frontend,
        "python_version": env.python_version,
        "installed": dict(sorted(env.installed.items())) if env.installed is not None else None,
        "installed_source": env.sources.get("installed"),
        "installed_partial": env.installed_partial,
        "sources": dict(sorted(env.sources.items())),
    }


_STRING_FACTS = (
    "comfyui_version",
    "frontend_version",
    "target_comfyui",
    "target_frontend",
    "python_version",
)


def _optional_str(data: Mapping[str, object], name: str, where: str) -> str | None:
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise ProfileError(f"{where}: {name!r} must be a string or null, not {value!r}")


def profile_from_dict(data: object, where: str) -> Environment:
    """Parse a profile written by ``profile_to_dict`` (unknown keys are ignored).

    :raises ProfileError: naming ``where`` and the bad key.
    """
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: expected a JSON object (the output of `comfy-audit env`)")
    try:
        os_name = _optional_str(data, "os", where)
        accelerators = _accelerators(data, where)
        facts = {name: _optional_str(data, name, where) for name in _STRING_FACTS}
        return override(
            Environment(installed_partial=_partial(data, where)),
            "profile",
            os=normalize_os(os_name) if os_name else None,
            accelerators=[normalize_accelerator(a) for a in accelerators] if accelerators else None,
            installed=_installed(data.get("installed"), where),
            **facts,
        )
    except ProfileError:
        raise
    except InputError as e:
        raise ProfileError(f"{where}: {e}") from e


def _accelerators(data: Mapping[str, object], where: str) -> list[str] | None:
    accelerators = data.get("accelerators")
    if accelerators is None or (
        isinstance(accelerators, list) and all(isinstance(a, str) for a in accelerators)
    ):
        return accelerators
    raise ProfileError(f"{where}: 'accelerators' must be a list of strings")


def _partial(data: Mapping[str, object], where: str) -> bool:
    partial = data.get("installed_partial", False)
    if isinstance(partial, bool):
        return partial
    raise ProfileError(f"{where}: 'installed_partial' must be true or false")


def _installed(value: object, where: str) -> dict[str, str | None] | None:
    if value is None:
        return None
    if isinstance(value, dict) and all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()
    ):
        return dict(value)
    raise ProfileError(f"{where}: 'installed' must map distribution names to versions or null")


def load_profile(path: str | Path) -> Environment:
    """Read an environment profile file.

    :raises ProfileError: if it cannot be read or is not a profile.
    """
    try:
        text = safeio.read_bytes(path, limit=_MAX_PROFILE).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ProfileError(f"{path}: cannot read the profile: {e}") from e
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise ProfileError(f"{path}: not JSON: {e}") from e
    return profile_from_dict(data, str(path))

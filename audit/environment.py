"""Detect, load and save the environment profile: OS, accelerators and ComfyUI versions."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from audit import safeio
from audit.errors import InputError, ProfileError
from audit.model import Environment

__all__ = [
    "ACCELERATORS",
    "OPERATING_SYSTEMS",
    "PROFILE_SCHEMA",
    "detect",
    "load_profile",
    "normalize_accelerator",
    "normalize_os",
    "override",
    "profile_from_dict",
    "profile_to_dict",
]

PROFILE_SCHEMA = "comfy-audit.env/1"
OPERATING_SYSTEMS = ("linux", "windows", "macos")
ACCELERATORS = ("cuda", "rocm", "intel", "ascend", "metal", "cpu")

_OS_ALIASES = {
    "linux": "linux",
    "windows": "windows",
    "win32": "windows",
    "nt": "windows",
    "macos": "macos",
    "darwin": "macos",
    "mac": "macos",
    "osx": "macos",
}
# NOTE: torch device names are accepted too, as DESIGN.md asks (xpu, npu, mps).
_ACCELERATOR_ALIASES = {
    **{name: name for name in ACCELERATORS},
    "xpu": "intel",
    "npu": "ascend",
    "mps": "metal",
    "hip": "rocm",
}
_PROBE_TIMEOUT_S = 5.0
_MAX_PROFILE = 64 * 1024 * 1024


def normalize_os(text: str) -> str:
    """Return the canonical OS name for ``text`` (``Darwin`` → ``macos``).

    :raises InputError: for a name that is not an OS comfy-audit knows.
    """
    try:
        return _OS_ALIASES[text.strip().lower()]
    except KeyError:
        raise InputError(
            f"unknown OS {text!r}: expected one of {', '.join(OPERATING_SYSTEMS)}"
        ) from None


def normalize_accelerator(text: str) -> str:
    """Return the canonical accelerator name for ``text`` (``mps`` → ``metal``).

    :raises InputError: for a name that is not an accelerator comfy-audit knows.
    """
    try:
        return _ACCELERATOR_ALIASES[text.strip().lower()]
    except KeyError:
        expected = ", ".join((*ACCELERATORS, "xpu", "npu", "mps"))
        raise InputError(f"unknown accelerator {text!r}: expected one of {expected}") from None


def _with_cpu(accelerators: Iterable[str]) -> frozenset[str]:
    # Every machine can run a pack on its CPU, so "cpu" is always among the accelerators.
    return frozenset(accelerators) | {"cpu"}


Runner = Callable[[list[str]], str | None]


def _run_probe(argv: list[str]) -> str | None:
    """Run a probe command and return its stdout, or ``None`` if it is missing or fails."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _detect_accelerators(system: str, machine: str, run: Runner) -> tuple[frozenset[str], str]:
    found: list[str] = []
    nvidia = run(["nvidia-smi", "-L"])
    if nvidia and "GPU" in nvidia:
        found.append("cuda")
    rocm = run(["rocm-smi", "--showproductname"])
    if rocm and "GPU" in rocm:
        found.append("rocm")
    if system == "Darwin" and machine == "arm64":
        found.append("metal")
    how = "+".join(["nvidia-smi"] * ("cuda" in found) + ["rocm-smi"] * ("rocm" in found))
    return _with_cpu(found), how or "detected"


def detect(
    *,
    system: str | None = None,
    machine: str | None = None,
    run: Runner = _run_probe,
) -> Environment:
    """Detect this machine's OS and accelerators without importing anything heavy.

    ComfyUI and frontend versions are not detected here; they come from flags, a profile or an
    install scan.
    """
    system = system or platform.system()
    machine = machine or platform.machine()
    os_name = _OS_ALIASES.get(system.lower())
    accelerators, how = _detect_accelerators(system, machine, run)
    # NOTE: python_version stays unknown: this interpreter is comfy-audit's, not the install's.
    sources = {"accelerators": how}
    if os_name:
        sources["os"] = "detected"
    return Environment(
        os=os_name,
        accelerators=accelerators,
        sources=sources,
    )


def override(env: Environment, source: str, **facts: Any) -> Environment:
    """Return ``env`` with the facts that are not ``None`` replaced, noting their ``source``."""
    given = {name: value for name, value in facts.items() if value is not None}
    if "accelerators" in given:
        given["accelerators"] = _with_cpu(given["accelerators"])
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
        accelerators = data.get("accelerators")
        if accelerators is not None and not (
            isinstance(accelerators, list) and all(isinstance(a, str) for a in accelerators)
        ):
            raise ProfileError(f"{where}: 'accelerators' must be a list of strings")
        facts = {name: _optional_str(data, name, where) for name in _STRING_FACTS}
        partial = data.get("installed_partial", False)
        if not isinstance(partial, bool):
            raise ProfileError(f"{where}: 'installed_partial' must be true or false")
        return override(
            Environment(installed_partial=partial),
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

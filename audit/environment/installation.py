"""Read the environment of a ComfyUI install from its folder: versions, packages, torch build.

Nothing of the install is imported or executed: its installed packages are read from the files
of its site-packages (see ``audit.environment.sitepackages``). An interpreter runs only when the
user names one with ``--python`` and its files cannot answer (see
``audit.environment.interpreter``).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import audit.environment.machine as this_machine
from audit.environment.comfyui import comfyui_version, frontend_version
from audit.environment.interpreter import query_interpreter
from audit.environment.profile import override
from audit.environment.sitepackages import (
    ENVIRONMENT_NAMES,
    InstalledFiles,
    environment_of,
    find_environment,
    read_environment,
)
from audit.environment.torchbuild import TorchBuild, torch_accelerators
from audit.errors import InputError
from audit.manifest.comfyui_log import read_import_log
from audit.model import Environment

__all__ = ["describe_install", "describe_interpreter"]


@dataclass(frozen=True)
class _Installed:
    """What an environment has installed, however it was read."""

    source: str
    python_version: str | None
    distributions: Mapping[str, str]
    torch: TorchBuild | None
    partial: bool = False


def describe_install(
    comfyui_path: str | Path,
    *,
    python: str | Path | None = None,
    machine: Environment | None = None,
) -> Environment:
    """Return ``machine`` (default: this machine, detected) with the facts of the install.

    Every fact the install tells replaces the machine's, and ``sources`` says where it came
    from. The installed distributions are read from the files of ``python``'s environment, else
    of the ``.venv``, ``venv`` or ``python_embeded`` inside the install; without one they stay
    unknown and ``sources["installed"]`` says why. Nothing outside the install is looked at
    unless named, and comfy-audit's own environment is never used unless it is ``python``.

    :param comfyui_path: the ComfyUI folder (the one holding ``main.py``).
    :param python: the install's interpreter (or its environment's folder).
    :param machine: the machine's OS and accelerators; detected when not given.
    :raises InputError: if the folder does not exist, or if ``python`` cannot be read or run.
    """
    root = Path(comfyui_path)
    if not root.is_dir():
        raise InputError(f"{root}: {'not a folder' if root.exists() else 'no such folder'}")
    env = machine if machine is not None else this_machine.detect()
    version = comfyui_version(root)
    if version is not None:
        env = override(env, version[1], comfyui_version=version[0])
    facts, reason = _installed(root, python)
    if facts is not None:
        env = _with_installed(env, facts)
    elif env.installed is None:
        env = replace(env, sources={**env.sources, "installed": f"unknown: {reason}"})
    frontend = frontend_version(root, facts.distributions if facts else {})
    if frontend is not None:
        env = override(env, frontend[1], frontend_version=frontend[0])
    # NOTE: the import failures belong to the manifest (scan_install); the profile says which
    # log they came from, or why none was used.
    return replace(env, sources={**env.sources, "import_failures": read_import_log(root).note})


def describe_interpreter(env: Environment, python: str | Path) -> Environment:
    """Return ``env`` with what ``python``'s environment has installed (and its torch build).

    Its files are read when it is a venv or an embedded Python; else it is run (see
    ``audit.environment.interpreter`` for which interpreters are refused).

    :raises InputError: if ``python`` cannot be read or run.
    """
    return _with_installed(env, _named(python))


def _installed(root: Path, python: str | Path | None) -> tuple[_Installed | None, str]:
    """What the install has installed; else ``None`` and why the packages are unknown."""
    if python is not None:
        return _named(python), ""  # asked for by the user: its failure is theirs
    location = find_environment(root)
    if location is None:
        names = ", ".join(ENVIRONMENT_NAMES[:3])
        return None, f"no environment ({names}) found inside {root.absolute()}; pass --python"
    found = read_environment(location)
    return (_from_files(found), "") if found is not None else (None, f"{location}: unreadable")


def _named(python: str | Path) -> _Installed:
    """The environment the user named: read from its files if it has any, else run."""
    text = os.fspath(python)
    path = Path(text).absolute()
    # NOTE: a bare name such as `python3` is a command on PATH, not a file here.
    location = environment_of(path) if text.strip() and path.exists() else None
    found = read_environment(location) if location is not None else None
    if found is not None:
        return _from_files(found)
    facts = query_interpreter(python)
    return _Installed(
        f"python {facts.executable}", facts.python_version, facts.distributions, facts.torch
    )


def _from_files(found: InstalledFiles) -> _Installed:
    source = f"site-packages of {found.location}"
    if found.partial:
        source += " (partial: include-system-site-packages)"
    return _Installed(
        source, found.python_version, found.distributions, found.torch, partial=found.partial
    )


def _with_installed(env: Environment, facts: _Installed) -> Environment:
    env = override(
        env,
        facts.source,
        python_version=facts.python_version,
        installed=dict(facts.distributions),
    )
    env = replace(env, installed_partial=facts.partial)
    if facts.torch is None:
        return env
    accelerators = torch_accelerators(
        facts.torch, os_name=env.os, arch=platform.machine(), python_version=facts.python_version
    )
    return override(env, f"torch {facts.torch.version}", accelerators=accelerators)

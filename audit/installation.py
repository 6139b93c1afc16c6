"""Read the environment of a ComfyUI install from its folder: versions, packages, torch build.

Nothing of the install is imported or executed: its installed packages are read from the files
of its site-packages (see ``audit.sitepackages``). An interpreter runs only when the user names
one with ``--python`` and its files cannot answer (see ``audit.interpreter``).
"""

from __future__ import annotations

import os
import platform
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from audit import environment, safeio
from audit.errors import InputError
from audit.gitdir import read_checkout
from audit.interpreter import TorchBuild, query_interpreter
from audit.manifest.comfyui_log import read_import_log
from audit.model import Environment
from audit.sitepackages import (
    ENVIRONMENT_NAMES,
    InstalledFiles,
    environment_of,
    find_environment,
    read_environment,
)
from audit.versions import parse_local_version

__all__ = ["describe_install", "describe_interpreter", "torch_accelerators"]

_MAX_FILE = 1024 * 1024
_VERSION_ASSIGNMENT = re.compile(r"""^__version__\s*=\s*(["'])([^"'\s]+)\1""", re.MULTILINE)
_COMMENT = re.compile(r"(?:^|\s)#.*")
# NOTE: the lite frontend is ComfyUI's own fallback (app/frontend_management.py).
_FRONTEND_PACKAGES = (
    canonicalize_name("comfyui-frontend-package"),
    canonicalize_name("comfyui-lite-frontend"),
)
_LOCAL_WORD = re.compile(r"[a-z]+(?=[0-9]*$)", re.ASCII)
_LOCAL_ACCELERATORS = {"cu": "cuda", "rocm": "rocm", "xpu": "intel", "cpu": "cpu"}
_APPLE_SILICON = ("arm64", "aarch64")
_MARKER_PLATFORMS = {
    "linux": {"platform_system": "Linux", "sys_platform": "linux", "os_name": "posix"},
    "windows": {"platform_system": "Windows", "sys_platform": "win32", "os_name": "nt"},
    "macos": {"platform_system": "Darwin", "sys_platform": "darwin", "os_name": "posix"},
}

Sourced = tuple[str, str]
"""A fact and where it came from."""


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
    env = machine if machine is not None else environment.detect()
    version = _comfyui_version(root)
    if version is not None:
        env = environment.override(env, version[1], comfyui_version=version[0])
    facts, reason = _installed(root, python)
    if facts is not None:
        env = _with_installed(env, facts)
    elif env.installed is None:
        env = replace(env, sources={**env.sources, "installed": f"unknown: {reason}"})
    frontend = _frontend_version(root, facts)
    if frontend is not None:
        env = environment.override(env, frontend[1], frontend_version=frontend[0])
    # NOTE: the import failures belong to the manifest (scan_install); the profile says which
    # log they came from, or why none was used.
    return replace(env, sources={**env.sources, "import_failures": read_import_log(root).note})


def describe_interpreter(env: Environment, python: str | Path) -> Environment:
    """Return ``env`` with what ``python``'s environment has installed (and its torch build).

    Its files are read when it is a venv or an embedded Python; else it is run (see
    ``audit.interpreter`` for which interpreters are refused).

    :raises InputError: if ``python`` cannot be read or run.
    """
    return _with_installed(env, _named(python))


def torch_accelerators(
    torch: TorchBuild, *, os_name: str | None, arch: str, python_version: str | None = None
) -> frozenset[str] | None:
    """Return the accelerators a torch build can use, from its metadata; ``None`` if it won't say.

    The local version segment names the build (``+cu126``, ``+rocm6.2``, ``+xpu``, ``+cpu``).
    Without one, ``Requires-Dist`` on ``nvidia-*`` packages (for this platform) means CUDA, and
    a torch on Apple silicon uses Metal.

    :param os_name: the canonical OS the build runs on, for the markers of its requirements.
    :param arch: the machine architecture (``platform.machine()``).
    :param python_version: the interpreter's version, for the markers of its requirements.

    >>> sorted(torch_accelerators(TorchBuild("2.7.1+cu126", ()), os_name="linux", arch="x86_64"))
    ['cpu', 'cuda']
    >>> torch_accelerators(TorchBuild("2.7.1", ()), os_name="linux", arch="x86_64") is None
    True
    """
    local = torch.version.partition("+")[2].lower()
    word = _LOCAL_WORD.match(re.split(r"[._-]", local)[0])
    if word is not None and word.group() in _LOCAL_ACCELERATORS:
        return frozenset({_LOCAL_ACCELERATORS[word.group()], "cpu"})
    marker_env = _marker_environment(os_name, arch, python_version)
    if any(_is_nvidia(line, marker_env) for line in torch.requires):
        return frozenset({"cuda", "cpu"})
    if os_name == "macos" and arch in _APPLE_SILICON:
        return frozenset({"metal", "cpu"})
    return None


def _marker_environment(os_name: str | None, arch: str, python: str | None) -> dict[str, str]:
    marker_env = {"platform_machine": arch, **_MARKER_PLATFORMS.get(os_name or "", {})}
    if python is not None:
        marker_env |= {"python_version": ".".join(python.split(".")[:2])}
        marker_env |= {"python_full_version": python}
    return marker_env


def _is_nvidia(line: str, marker_env: Mapping[str, str]) -> bool:
    try:
        requirement = Requirement(line)
        if not canonicalize_name(requirement.name).startswith("nvidia-"):
            return False
        return requirement.marker is None or requirement.marker.evaluate(dict(marker_env))
    except (InvalidRequirement, UndefinedComparison, UndefinedEnvironmentName):
        return False


def _read(path: Path) -> str | None:
    """The text of a file of the install; ``None`` when unreadable or linked outside it."""
    if not safeio.stays_within(path, path.parent):
        return None
    try:
        return safeio.read_text(path, limit=_MAX_FILE)
    except safeio.Refused:
        return None


def _comfyui_version(root: Path) -> Sourced | None:
    """The version from ``comfyui_version.py``, else a version tag at HEAD, else pyproject."""
    match = _VERSION_ASSIGNMENT.search(_read(root / "comfyui_version.py") or "")
    if match:
        return match.group(2), "comfyui_version.py"
    checkout = read_checkout(root)
    tags = [
        (version, tag)
        for tag in (checkout.tags_at_head if checkout else ())
        if (version := parse_local_version(tag)) is not None
    ]
    if tags:
        tag = max(tags)[1]
        return tag, f"git tag {tag}"
    try:
        project = tomllib.loads(_read(root / "pyproject.toml") or "").get("project")
    except tomllib.TOMLDecodeError:
        return None
    version = project.get("version") if isinstance(project, dict) else None
    if isinstance(version, str) and version.strip():
        return version.strip(), "pyproject.toml"
    return None


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
    env = environment.override(
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
    return environment.override(env, f"torch {facts.torch.version}", accelerators=accelerators)


def _frontend_version(root: Path, facts: _Installed | None) -> Sourced | None:
    """The installed frontend package, else the pin in ComfyUI's ``requirements.txt``."""
    installed = {canonicalize_name(n): v for n, v in (facts.distributions if facts else {}).items()}
    for package in _FRONTEND_PACKAGES:
        if package in installed:
            return installed[package], f"installed {package}"
    for line in (_read(root / "requirements.txt") or "").splitlines():
        pin = _pinned_frontend(_COMMENT.sub("", line).strip())
        if pin is not None:
            return pin, "requirements.txt pin"
    return None


def _pinned_frontend(line: str) -> str | None:
    if not line or line.startswith("-"):
        return None
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return None
    specifiers = list(requirement.specifier)
    if canonicalize_name(requirement.name) != _FRONTEND_PACKAGES[0] or len(specifiers) != 1:
        return None
    spec = specifiers[0]
    exact = spec.operator in ("==", "===") and not spec.version.endswith("*")
    return spec.version if exact else None

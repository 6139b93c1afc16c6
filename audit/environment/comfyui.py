"""Read the versions of ComfyUI and of its frontend from the files of an install."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from audit import safeio
from audit.gitdir import read_checkout
from audit.versions import parse_local_version

__all__ = ["Sourced", "comfyui_version", "frontend_version"]

_MAX_FILE = 1024 * 1024
_VERSION_ASSIGNMENT = re.compile(r"""^__version__\s*=\s*(["'])([^"'\s]+)\1""", re.MULTILINE)
_COMMENT = re.compile(r"(?:^|\s)#.*")
# NOTE: the lite frontend is ComfyUI's own fallback (app/frontend_management.py).
_FRONTEND_PACKAGES = (
    canonicalize_name("comfyui-frontend-package"),
    canonicalize_name("comfyui-lite-frontend"),
)

Sourced = tuple[str, str]
"""A fact and where it came from."""


def _read(path: Path) -> str | None:
    """The text of a file of the install; ``None`` when unreadable or linked outside it."""
    if not safeio.stays_within(path, path.parent):
        return None
    try:
        return safeio.read_text(path, limit=_MAX_FILE)
    except safeio.Refused:
        return None


def comfyui_version(root: Path) -> Sourced | None:
    """The version from ``comfyui_version.py``, else a version tag at HEAD, else pyproject."""
    match = _VERSION_ASSIGNMENT.search(_read(root / "comfyui_version.py") or "")
    if match:
        return match.group(2), "comfyui_version.py"
    return _tagged_version(root) or _project_version(root)


def _tagged_version(root: Path) -> Sourced | None:
    checkout = read_checkout(root)
    tags = [
        (version, tag)
        for tag in (checkout.tags_at_head if checkout else ())
        if (version := parse_local_version(tag)) is not None
    ]
    if tags:
        tag = max(tags)[1]
        return tag, f"git tag {tag}"
    return None


def _project_version(root: Path) -> Sourced | None:
    try:
        project = tomllib.loads(_read(root / "pyproject.toml") or "").get("project")
    except tomllib.TOMLDecodeError:
        return None
    version = project.get("version") if isinstance(project, dict) else None
    if isinstance(version, str) and version.strip():
        return version.strip(), "pyproject.toml"
    return None


def frontend_version(root: Path, distributions: Mapping[str, str]) -> Sourced | None:
    """The installed frontend package, else the pin in ComfyUI's ``requirements.txt``."""
    installed = {canonicalize_name(n): v for n, v in distributions.items()}
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

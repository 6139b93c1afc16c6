"""Read what a Python environment has installed from its files: nothing is imported or run.

An environment is a virtual environment (``pyvenv.cfg``, ``lib/pythonX.Y/site-packages`` or
``dist-packages``, ``Lib/site-packages``) or the Windows portable build's ``python_embeded``.
Its distributions are the ``*.dist-info`` and ``*.egg-info`` folders of its site-packages, read
as files through :mod:`audit.safeio`; folders named by ``.pth`` lines count when they lie inside
the environment (their ``import`` lines are code, and never run).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from audit import safeio
from audit.environment.torchbuild import TorchBuild

__all__ = [
    "ENVIRONMENT_NAMES",
    "InstalledFiles",
    "environment_of",
    "find_environment",
    "read_environment",
]

#: Environment folders looked for inside an install, the first found wins.
ENVIRONMENT_NAMES = (".venv", "venv", "python_embeded", "python_embedded")
#: Bytes of a METADATA file read: its headers come first, a long description may follow.
_MAX_HEADERS = 256 * 1024
_MAX_CONFIG = 64 * 1024
_MAX_ENTRIES = 50_000
_LIB_VERSION = re.compile(r"python([0-9]+)\.([0-9]+)t?", re.ASCII)
_EMBEDDED_VERSION = re.compile(r"python([0-9])([0-9]+)\._pth", re.ASCII)
_CONFIG_VERSION = re.compile(r"[0-9]+\.[0-9]+(?:\.[0-9]+)?", re.ASCII)
_METADATA_SUFFIXES = (".dist-info", ".egg-info")


@dataclass(frozen=True)
class InstalledFiles:
    """Represents what one environment's site-packages hold, read as files."""

    location: Path
    """The environment folder (a venv's, or ``python_embeded``)."""
    site_packages: tuple[Path, ...]
    python_version: str | None
    """From ``pyvenv.cfg``, else the ``lib/pythonX.Y`` folder or ``pythonXY._pth``."""
    distributions: Mapping[str, str]
    """Every installed distribution: metadata ``Name`` as written → ``Version``."""
    torch: TorchBuild | None
    partial: bool
    """The venv also sees the system's packages (``include-system-site-packages = true``),
    which are not read: a package missing here may still be installed."""


def find_environment(install: Path) -> Path | None:
    """Return the environment folder inside ``install``: ``.venv``, ``venv``, ``python_embeded``.

    Nothing outside ``install`` is looked at, and a folder without site-packages is skipped.
    """
    for name in ENVIRONMENT_NAMES:
        candidate = install / name
        if safeio.stays_within(candidate, install) and _site_dirs(candidate):
            return candidate
    return None


def environment_of(path: Path) -> Path | None:
    """Return the environment folder that ``path`` (a folder or an interpreter in it) belongs to.

    >>> environment_of(Path("/nonexistent/venv/bin/python")) is None
    True
    """
    for candidate in (path, path.parent, path.parent.parent):
        if _is_environment(candidate) and _site_dirs(candidate):
            return candidate
    return None


def _is_environment(folder: Path) -> bool:
    """A venv (``pyvenv.cfg``) or an embedded Python (``Lib/site-packages`` beside ``python``).

    NOTE: a system prefix such as ``/usr`` is neither: its packages are spread over folders
    that only its interpreter knows, so it is asked instead.
    """
    return safeio.is_file(folder / "pyvenv.cfg") or (
        safeio.is_dir(folder / "Lib" / "site-packages")
        and any(safeio.is_file(folder / name) for name in ("python.exe", "python"))
    )


def read_environment(location: Path) -> InstalledFiles | None:
    """Return what the environment at ``location`` has installed; ``None`` if it has no
    site-packages."""
    site = _site_dirs(location)
    if not site:
        return None
    config = _pyvenv_config(location)
    dirs = tuple(_with_pth_folders(site, location))
    distributions, torch = _distributions(dirs)
    return InstalledFiles(
        location=location,
        site_packages=dirs,
        python_version=_python_version(location, config, site),
        distributions=distributions,
        torch=torch,
        partial=config.get("include-system-site-packages", "false").lower() == "true",
    )


def _listdir(folder: Path) -> list[str]:
    try:
        return sorted(os.listdir(folder))[:_MAX_ENTRIES]
    except OSError:
        return []


def _site_dirs(location: Path) -> list[Path]:
    """``lib/python*/site-packages`` and ``dist-packages`` (Debian), then ``Lib/site-packages``."""
    found: list[Path] = []
    for lib in ("lib", "lib64"):
        for name in _listdir(location / lib):
            if _LIB_VERSION.fullmatch(name):
                found += [location / lib / name / "site-packages"]
                found += [location / lib / name / "dist-packages"]
    found.append(location / "Lib" / "site-packages")
    unique = dict.fromkeys(
        p for p in found if safeio.is_dir(p) and safeio.stays_within(p, location)
    )
    # NOTE: lib64 is often a link to lib; the same folder is read once.
    by_real = {p.resolve(): p for p in reversed(list(unique))}
    return [p for p in unique if by_real[p.resolve()] == p]


def _pyvenv_config(location: Path) -> dict[str, str]:
    try:
        text = safeio.read_text(location / "pyvenv.cfg", limit=_MAX_CONFIG)
    except safeio.Refused:
        return {}
    config = {}
    for line in text.splitlines():
        key, eq, value = line.partition("=")
        if eq:
            config[key.strip().lower()] = value.strip()
    return config


def _python_version(location: Path, config: Mapping[str, str], site: list[Path]) -> str | None:
    for key in ("version", "version_info"):
        match = _CONFIG_VERSION.match(config.get(key, ""))
        if match:
            return match.group()
    for folder in site:
        match = _LIB_VERSION.fullmatch(folder.parent.name)
        if match:
            return f"{match[1]}.{match[2]}"
    for name in _listdir(location):
        match = _EMBEDDED_VERSION.fullmatch(name)
        if match:
            return f"{match[1]}.{match[2]}"
    return None


def _with_pth_folders(site: list[Path], location: Path) -> Iterator[Path]:
    """The site folders, each followed by the folders its ``.pth`` files name inside
    ``location``."""
    seen: set[Path] = set()
    for folder in site:
        for found in (folder, *_pth_folders(folder, location)):
            if found not in seen:
                seen.add(found)
                yield found


def _pth_folders(site: Path, location: Path) -> Iterator[Path]:
    for name in _listdir(site):
        if not name.endswith(".pth") or name.startswith("."):
            continue
        try:
            text = safeio.read_text(site / name, limit=_MAX_CONFIG)
        except safeio.Refused:
            continue
        for line in text.splitlines():
            if line.startswith(("#", "import ", "import\t")) or not line.strip():
                continue
            path = site / line.rstrip()
            if safeio.stays_within(path, location) and safeio.is_dir(path):
                yield path


def _distributions(site: tuple[Path, ...]) -> tuple[dict[str, str], TorchBuild | None]:
    seen: set[str] = set()
    found: dict[str, str] = {}
    torch = None
    for folder in site:
        for name in _listdir(folder):
            if not name.endswith(_METADATA_SUFFIXES):
                continue
            headers = _metadata(folder / name, folder)
            if headers is None:
                continue
            dist, version, requires = headers
            key = re.sub(r"[-_.]+", "-", dist).lower()
            if key in seen:
                continue  # NOTE: the first on the path is the one that imports.
            seen.add(key)
            found[dist] = version
            if key == "torch":
                torch = TorchBuild(version, requires)
    return found, torch


def _metadata(entry: Path, site: Path) -> tuple[str, str, tuple[str, ...]] | None:
    """``(name, version, requires)`` of a ``.dist-info`` / ``.egg-info``, else ``None``."""
    if safeio.is_dir(entry):
        name = "METADATA" if entry.name.endswith(".dist-info") else "PKG-INFO"
        path = entry / name
    else:
        path = entry  # NOTE: an old egg-info may be a single file.
    if not safeio.stays_within(path, site):
        return None
    try:
        raw = safeio.read_head(path, limit=_MAX_HEADERS)
    except safeio.Refused:
        return None
    message = HeaderParser().parsestr(raw.decode("utf-8", "replace"))
    name, version = (message.get("Name") or "").strip(), (message.get("Version") or "").strip()
    if not name or not version:
        return None
    requires = tuple(str(line).strip() for line in message.get_all("Requires-Dist") or ())
    return name, version, requires

"""Read the manifests of one run, each with its host's own profile (a sibling ``<stem>.env.json``).

With several manifests, one that is an input error does not stop the run: it becomes a host
whose manifest is `Manifest.unreadable`, and the pipeline reports it as ``manifest.unreadable``
(DESIGN.md "Exit codes"). With one manifest, or when every one is bad, it stays an input error.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from audit.environment import load_profile, override
from audit.errors import InputError, ManifestError
from audit.manifest import ManifestFormat
from audit.model import Environment, Manifest
from audit.parallel import in_chunks

__all__ = ["read_hosts", "sibling_profiles"]

#: Files a part has at least, to be worth a child's start (`audit.parallel.in_chunks`).
_MIN_FILES_PER_PROCESS = 16
#: The parts a fleet's files are cut in.
_PARTS = 64

_Read = tuple[str, Manifest, Environment | None, list[str]]
"""A path read: its manifest (`Manifest.unreadable` when it cannot be), its sibling profile
and its problems, each on a line."""


def _sibling_profile(manifest_path: str) -> Path:
    """Where the profile of a manifest's host is: ``<stem>.env.json`` beside it."""
    path = Path(manifest_path)
    return path.with_name(path.stem + ".env.json")


def read_hosts(
    paths: Sequence[str],
    *,
    host: str | None,
    format: ManifestFormat,
    targets: Mapping[str, str | None],
    meanwhile: Callable[[], object] = lambda: None,
) -> tuple[list[Manifest], dict[str, Environment]]:
    """Return the manifests at ``paths`` and each one's sibling profile, by manifest path.

    ``host`` applies when there is exactly one manifest. A profile describes its host's machine;
    ``targets`` (the planned upgrade) apply to every host. ``meanwhile`` is called once, first,
    while a child reads (`audit.parallel.in_chunks`).

    :raises InputError: for a bad manifest or profile when there is one manifest, or for every
        problem of every manifest when none can be read.
    """
    single = len(paths) == 1
    read = functools.partial(
        _read_each, host=host if single else None, format=format, targets=targets, single=single
    )
    # NOTE: reading is parsing, bound by one processor: a fleet's files are read in parts,
    # taken one by one by a child and by this process.
    chunk = max(_MIN_FILES_PER_PROCESS, math.ceil(len(paths) / _PARTS))
    hosts = [read for part in in_chunks(read, paths, chunk, meanwhile)[1] for read in part]
    manifests = [manifest for _, manifest, _, _ in hosts]
    profiles = {path: profile for path, _, profile, _ in hosts if profile is not None}
    problems = [line for _, _, _, lines in hosts for line in lines]
    if problems and all(m.unreadable for m in manifests):
        raise InputError("\n".join(problems))
    return manifests, profiles


def _read_each(
    paths: Sequence[str],
    *,
    host: str | None,
    format: ManifestFormat,
    targets: Mapping[str, str | None],
    single: bool,
) -> list[_Read]:
    """Each path with its manifest, its profile and its problems, as `read_hosts` reads them."""
    # NOTE: the readers load YAML; the command line imports this module for ``--help``.
    from audit.manifest import read_manifest

    hosts: list[_Read] = []
    for path in paths:
        try:
            manifest = read_manifest(path, host=host, format=format)
            profile = _profile(path, targets)
        except InputError as e:
            if single:
                raise
            hosts.append((path, _unreadable(path, e), None, _lines(e)))
            continue
        hosts.append((path, manifest, profile, []))
    return hosts


def sibling_profiles(manifests: Sequence[Manifest]) -> dict[str, Environment]:
    """Return the sibling profile of each of ``manifests`` that has one, by manifest path.

    :raises InputError: for a profile that cannot be read.
    """
    found = ((m.path, _profile(m.path, {})) for m in manifests)
    return {path: profile for path, profile in found if profile is not None}


def _profile(path: str, targets: Mapping[str, str | None]) -> Environment | None:
    sibling = _sibling_profile(path)
    if not sibling.is_file():
        return None
    return override(load_profile(sibling), "flag", **targets)


def _lines(error: InputError) -> list[str]:
    """Each problem of ``error`` on a line of its own, naming its file."""
    if isinstance(error, ManifestError):
        return [str(p) for p in error.problems]
    return str(error).splitlines()


def _unreadable(path: str, error: InputError) -> Manifest:
    """The host of a manifest that cannot be audited, with the one-line reason why."""
    lines = _lines(error) or [f"{path}: unreadable"]
    more = f" (and {len(lines) - 1} more problems)" if len(lines) > 1 else ""
    return Manifest(path, Path(path).stem, "unreadable", (), unreadable=lines[0] + more)

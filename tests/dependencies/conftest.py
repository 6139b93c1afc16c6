"""Builders of packs and environments for the dependency tests, modelled on real packs' files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from audit.dependencies import PackRequirements
from audit.model import EntrySource, Environment, ManifestEntry, NodeVersion

HOST = "render-01"


def pack(
    node_id: str = "comfyui-foo",
    version: str | None = "1.0.0",
    requirements: Sequence[str] | None = None,
    *,
    registry: Sequence[str] | None = None,
    declared: Sequence[str] | None = None,
    disabled: bool = False,
) -> PackRequirements:
    """A pack with a ``requirements.txt`` (``requirements``), a pyproject's static dependencies
    (``declared``) and the registry's ``dependencies`` (``registry``), each absent when None."""
    entry = ManifestEntry(
        host=HOST,
        node_id=node_id,
        version=version,
        source=EntrySource.REGISTRY,
        manifest=f"{HOST}.json",
        disabled=disabled,
        declared=None
        if declared is None
        else NodeVersion(node_id, version or "0", dependencies=tuple(declared)),
        requirements=None if requirements is None else tuple(requirements),
    )
    return PackRequirements(entry, None if registry is None else tuple(registry))


def env(
    installed: Mapping[str, str | None] | None = None,
    *,
    os: str | None = "linux",
    python: str | None = "3.11.9",
) -> Environment:
    return Environment(
        os=os, python_version=python, installed=None if installed is None else dict(installed)
    )

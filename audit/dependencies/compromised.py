"""The list of known-compromised releases, kept as ``compromised.toml`` beside this module."""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

__all__ = ["CompromisedRelease", "compromised_releases", "is_compromised", "load_releases"]

DATA_FILE = "compromised.toml"


@dataclass(frozen=True)
class CompromisedRelease:
    """Represents a distribution with releases known to carry malware."""

    distribution: NormalizedName
    versions: frozenset[Version] | None
    """The compromised releases; ``None`` when every release is."""
    summary: str
    sources: tuple[str, ...]

    def matches(self, version: str | None) -> bool:
        """Whether an installed ``version`` (``None``: a URL install) is one of the releases.

        >>> CompromisedRelease("x", frozenset({Version("1.0")}), "", ()).matches("1.0.0")
        True
        """
        if self.versions is None:
            return True
        if version is None:
            return False
        try:
            return Version(version) in self.versions
        except InvalidVersion:
            return False


def load_releases(text: str) -> Mapping[NormalizedName, CompromisedRelease]:
    """Parse the TOML of the list, keyed by canonical name.

    :raises ValueError: if the text is not TOML (``tomllib.TOMLDecodeError``), or an entry lacks
        a field, has one of the wrong type, or lists a version that is not PEP 440.
    """
    releases = {}
    for table in tomllib.loads(text).get("release", []):
        if not isinstance(table, dict):
            raise ValueError(f"{DATA_FILE}: every release must be a [[release]] table")
        release = _release(table)
        releases[release.distribution] = release
    return MappingProxyType(releases)


def _release(table: dict[str, object]) -> CompromisedRelease:
    name, summary = table.get("distribution"), table.get("summary")
    versions, sources = table.get("versions"), table.get("sources")
    if not isinstance(name, str) or not isinstance(summary, str):
        raise ValueError(f"{DATA_FILE}: entry {table!r} needs a distribution and a summary")
    listed = None if versions is None else _strings(versions, f"{name}: versions")
    return CompromisedRelease(
        distribution=canonicalize_name(name),
        versions=None if listed is None else frozenset(Version(v) for v in listed),
        summary=summary,
        sources=tuple(_strings(sources, f"{name}: sources")),
    )


def _strings(value: object, what: str) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{DATA_FILE}: {what} must be a non-empty list of strings")
    return [str(v) for v in value]


@functools.cache
def compromised_releases() -> Mapping[NormalizedName, CompromisedRelease]:
    """The list shipped with the package, read once."""
    text = resources.files("audit.dependencies").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return load_releases(text)


def is_compromised(distribution: NormalizedName, version: str | None) -> CompromisedRelease | None:
    """The list's entry when ``distribution`` at ``version`` is a compromised release."""
    release = compromised_releases().get(distribution)
    return release if release is not None and release.matches(version) else None

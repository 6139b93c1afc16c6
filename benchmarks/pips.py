"""Real-looking installed-package lists for benchmark hosts, shaped by the corpus's snapshots.

The corpus holds ComfyUI-Manager snapshots of real installs; about 20 of them list ``pips``. From
them `load_pip_shape` counts, at run time, how many distributions an install has, how often each
distribution occurs and which versions of it occur. `image_pips` then draws a machine image: a
size, then distributions by how often they occur, each at one of its seen versions. No snapshot
is copied: every image is a new draw. Without the corpus, `fixtures.image_pips` (made-up versions
of the distributions packs require) stands in, and the shape's ``source`` says so.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmarks.shape import corpus_folder

__all__ = ["PipShape", "image_pips", "load_pip_shape"]

CORPUS = corpus_folder() / "snapshots"
_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)$")
_BARE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class PipShape:
    """Represents what real installs look like: sizes, distributions and their versions."""

    source: str
    sizes: list[int] = field(default_factory=list)
    """How many distributions each real install has."""
    occurrences: Counter[str] = field(default_factory=Counter)
    """In how many installs each distribution occurs."""
    versions: dict[str, Counter[str]] = field(default_factory=dict)
    """The versions of each distribution seen, with how often (``""``: listed without one)."""

    @property
    def usable(self) -> bool:
        return bool(self.sizes)


def load_pip_shape(folder: Path = CORPUS) -> PipShape:
    """Count the ``pips`` of every snapshot in ``folder``; an empty shape when there are none."""
    shape = PipShape(source=f"{folder.name}/ (no snapshot with pips found)")
    paths = sorted(folder.glob("*.*")) if folder.is_dir() else []
    for path in paths:
        pips = _pips_of(path)
        if pips:
            _count(shape, pips)
    if shape.sizes:
        installs = len(shape.sizes)
        source = f"{installs} real installs' pips in corpus/snapshots (read now)"
        return PipShape(source, shape.sizes, shape.occurrences, shape.versions)
    return shape


def _pips_of(path: Path) -> list[str]:
    load = yaml.safe_load if path.suffix in (".yaml", ".yml") else json.loads
    try:
        document = load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return []
    pips = document.get("pips") if isinstance(document, dict) else None
    return [line for line in pips if isinstance(line, str)] if isinstance(pips, dict) else []


def _count(shape: PipShape, lines: list[str]) -> None:
    seen: dict[str, str] = {}
    for line in lines:
        pinned = _PINNED.match(line.strip())
        if pinned:
            seen.setdefault(pinned.group(1).lower(), pinned.group(2))
        elif _BARE.match(line.strip()):
            seen.setdefault(line.strip().lower(), "")
    shape.sizes.append(len(seen))
    for name, version in seen.items():
        shape.occurrences[name] += 1
        shape.versions.setdefault(name, Counter())[version] += 1


def image_pips(shape: PipShape, rng: random.Random, torch: str) -> dict[str, str | None]:
    """One machine image's installed distributions, drawn in the shape of real installs:
    ``{name: version}`` (``None``: listed without a version); ``torch`` as given."""
    size = rng.choice(shape.sizes)
    names = list(shape.occurrences)
    weights = list(shape.occurrences.values())
    chosen: dict[str, None] = {}
    while len(chosen) < min(size, len(names)):
        chosen.setdefault(rng.choices(names, weights)[0])
    pips = {name: _version_of(shape.versions[name], rng) for name in chosen}
    pips["torch"] = torch
    return pips


def _version_of(versions: Mapping[str, int], rng: random.Random) -> str | None:
    version = rng.choices(list(versions), list(versions.values()))[0]
    return version or None

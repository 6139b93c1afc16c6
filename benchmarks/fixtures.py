"""Real-shaped benchmark data drawn with a seeded random: a registry, snapshots, a fleet.

Statuses, dependency lines, dependency list lengths and version strings follow a `Shape` read
from real records. Two things are invented, because the real records do not show them: which
packs a host installs (a few popular packs on most hosts, a long tail, as in any package
ecosystem: Zipf weights) and the ``supported_*`` fields, which the real records predate
(a minority of generated records declare them, with the values comfy-cli publishes).
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from audit.advisor.ordering import version_order
from benchmarks.shape import Shape
from tests.registry_nodes import node_record
from tests.registry_server import node_version_record

__all__ = [
    "Pack",
    "Registry",
    "fleet_hosts",
    "generate_registry",
    "host_pips",
    "image_pips",
    "missing_packs",
    "pack_pool",
    "pick_packs",
    "snapshot",
]

T = TypeVar("T", bound=Hashable)

_PREFIXES = ("comfyui-", "ComfyUI-", "comfyui_", "comfy-", "")
_WORDS = (
    "upscale", "video", "llm", "mask", "flux", "tile", "lora", "prompt", "face", "depth",
    "audio", "latent", "sampler", "controlnet", "segment", "caption", "style", "inpaint",
)  # fmt: skip
_VERSIONS_PER_NODE = {1: 40, 2: 20, 3: 15, 4: 10, 5: 8, 6: 7}
#: (supported_os, supported_accelerators, supported_comfyui_version) as comfy-cli publishes them
_DECLARED: tuple[tuple[list[str], list[str], str], ...] = (
    (["OS Independent"], ["GPU :: NVIDIA CUDA"], ">=0.3.0"),
    (["OS Independent"], [], ">=0.3.0,<0.4.0"),
    (["Microsoft :: Windows"], ["GPU :: NVIDIA CUDA"], ""),
    (["POSIX :: Linux"], ["GPU :: NVIDIA CUDA", "GPU :: AMD ROCm"], "^0.3.0"),
    (["MacOS"], ["GPU :: Apple Metal"], ">=0.3.30"),
)
_DECLARED_SHARE = 0.3
_ADMIN_TAGS = ("any-code-execute", "any-network-requests", "credential-access")


@dataclass(frozen=True)
class Pack:
    """Represents one node of the generated registry: its id and versions, latest first."""

    node_id: str
    versions: tuple[str, ...]


@dataclass(frozen=True)
class Registry:
    """Represents a generated registry: NodeVersion records and the nodes, most popular first."""

    records: list[dict[str, Any]]
    packs: list[Pack]
    popularity: list[float]
    """Cumulative Zipf weights of `packs`, for `random.choices`."""
    nodes: list[dict[str, Any]] = field(default_factory=list)
    """The Node record of every pack (a few banned, or of a banned publisher)."""


def generate_registry(shape: Shape, rng: random.Random, nodes: int) -> Registry:
    """A registry of ``nodes`` nodes with one to six versions each, shaped like ``shape``."""
    packs = [_pack(shape, rng, index) for index in range(nodes)]
    records = [_record(shape, rng, p.node_id, version) for p in packs for version in p.versions]
    cumulative, total = [], 0.0
    for rank in range(1, nodes + 1):
        total += 1.0 / rank
        cumulative.append(total)
    newest = _newest_active(records)
    node_records = [_node(i, p, newest.get(p.node_id)) for i, p in enumerate(packs)]
    return Registry(records, packs, cumulative, node_records)


def _newest_active(records: list[dict[str, Any]]) -> dict[str, str]:
    """Each node's newest Active version, by version precedence: its Node's ``latest_version``
    (registry.md §4.2)."""
    newest: dict[str, str] = {}
    for record in records:
        node_id, version = record["node_id"], record["version"]
        if record["status"] != "NodeVersionStatusActive":
            continue
        if node_id not in newest or version_order(version) > version_order(newest[node_id]):
            newest[node_id] = version
    return newest


def _node(index: int, pack: Pack, latest: str | None) -> dict[str, Any]:
    # NOTE: by index, not from the random stream, so the other generated data stays as it was.
    status = "NodeStatusBanned" if index % 97 == 13 else "NodeStatusActive"
    publisher = "PublisherStatusBanned" if index % 89 == 7 else "PublisherStatusActive"
    return node_record(
        pack.node_id, status=status, publisher_status=publisher, latest_version=latest
    )


def _pack(shape: Shape, rng: random.Random, index: int) -> Pack:
    count = rng.choices(list(_VERSIONS_PER_NODE), list(_VERSIONS_PER_NODE.values()))[0]
    versions = _distinct_choices(rng, shape.versions, count)
    node_id = f"{rng.choice(_PREFIXES)}{rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{index:04d}"
    return Pack(node_id, tuple(versions))


def _record(shape: Shape, rng: random.Random, node_id: str, version: str) -> dict[str, Any]:
    status = rng.choices(list(shape.statuses), list(shape.statuses.values()))[0]
    count = rng.choices(list(shape.dependency_counts), list(shape.dependency_counts.values()))[0]
    lines = rng.choices(list(shape.dependencies), list(shape.dependencies.values()), k=count)
    fields: dict[str, Any] = {
        "status": status,
        "deprecated": rng.random() < shape.deprecated_share,
        "dependencies": lines,
    }
    if rng.random() < _DECLARED_SHARE:
        os_names, accelerators, comfyui = rng.choice(_DECLARED)
        fields |= {
            "supported_os": os_names,
            "supported_accelerators": accelerators,
            "supported_comfyui_version": comfyui,
        }
    if status in ("NodeVersionStatusBanned", "NodeVersionStatusFlagged"):
        fields["tags_admin"] = rng.sample(_ADMIN_TAGS, rng.randint(0, 2))
    return node_version_record(node_id, version, **fields)


def _distinct_choices(rng: random.Random, weights: Mapping[T, int], count: int) -> list[T]:
    """``count`` distinct values drawn by weight (fewer when there are not that many)."""
    population, counts = list(weights), list(weights.values())
    chosen: dict[T, None] = {}
    while len(chosen) < min(count, len(population)):
        chosen.setdefault(rng.choices(population, counts)[0])
    return list(chosen)


def pick_packs(registry: Registry, rng: random.Random, count: int) -> dict[str, str]:
    """``count`` distinct nodes picked by popularity, each at its latest version 70% of the
    time and at an older one otherwise: ``{node_id: version}``."""
    chosen: dict[int, None] = {}
    indexes = range(len(registry.packs))
    while len(chosen) < count:
        for index in rng.choices(indexes, cum_weights=registry.popularity, k=count):
            chosen.setdefault(index)
    picked = {}
    for index in list(chosen)[:count]:
        pack = registry.packs[index]
        older = len(pack.versions) > 1 and rng.random() >= 0.7
        picked[pack.node_id] = rng.choice(pack.versions[1:]) if older else pack.versions[0]
    return picked


def image_pips(shape: Shape, rng: random.Random, size: int, torch: str) -> dict[str, str]:
    """The installed distributions of one machine image: ``size`` names, the popular
    requirements of packs most likely, each at a made-up version; ``torch`` as given."""
    names = _distinct_choices(rng, shape.distributions(), size)
    pips = {name: _version(rng) for name in names}
    pips["torch"] = torch
    return pips


def host_pips(
    image: Mapping[str, str | None],
    rng: random.Random,
    drift: int,
    versions: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, str | None]:
    """One host's distributions: its image's, with ``drift`` of them at another version (one
    of ``versions`` of that name, when it has any, else a made-up one)."""
    pips = dict(image)
    for name in rng.sample(sorted(pips), drift):
        seen = [v for v in (versions or {}).get(name, {}) if v]
        pips[name] = rng.choice(seen) if seen else _version(rng)
    return pips


def pack_pool(registry: Registry, rng: random.Random, size: int) -> Registry:
    """The registry with hosts' choices narrowed to ``size`` packs picked by popularity, which
    keep their popularity order (a fleet that standardised on a few hundred packs)."""
    pool = sorted(pick_packs(registry, rng, size))
    order = {p.node_id: index for index, p in enumerate(registry.packs)}
    packs = sorted(
        (registry.packs[order[node_id]] for node_id in pool), key=lambda p: order[p.node_id]
    )
    cumulative, total = [], 0.0
    for rank in range(1, len(packs) + 1):
        total += 1.0 / rank
        cumulative.append(total)
    return Registry(registry.records, packs, cumulative)


def _version(rng: random.Random) -> str:
    return f"{rng.randint(0, 4)}.{rng.randint(0, 30)}.{rng.randint(0, 12)}"


def snapshot(
    packs: Mapping[str, str], pips: Mapping[str, str | None], comfyui: str
) -> dict[str, Any]:
    """A ComfyUI-Manager snapshot (new format) of registry packs and installed distributions
    (a version of ``None``: listed bare, as pip lists some)."""
    return {
        "comfyui": comfyui,
        "git_custom_nodes": {},
        "cnr_custom_nodes": dict(packs),
        "file_custom_nodes": [],
        "pips": {_pip_line(name, version): "" for name, version in sorted(pips.items())},
    }


def _pip_line(name: str, version: str | None) -> str:
    return name if version is None else f"{name}=={version}"


def missing_packs(count: int) -> dict[str, str]:
    """Packs no registry knows (private forks, typos), as real snapshots hold a few."""
    return {f"comfyui-private-fork-{index}": "1.0.0" for index in range(count)}


def fleet_hosts(count: int, images: Sequence[str]) -> list[tuple[str, str]]:
    """``(host name, image)`` for ``count`` hosts, the images dealt round-robin."""
    return [(f"render-{index:03d}", images[index % len(images)]) for index in range(count)]

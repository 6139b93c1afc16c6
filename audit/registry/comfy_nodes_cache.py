"""The comfy-nodes answers through the registry cache, and the choice of source for a run."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.model import Failed, NodeKey
from audit.registry.cache import RegistryCache
from audit.registry.caching import CachingRegistry, OfflineRegistry
from audit.registry.comfy_nodes import (
    ClassesAnswer,
    ClassList,
    ComfyNodesSource,
    HttpComfyNodes,
    MirrorComfyNodes,
    PackAnswer,
    PackOf,
    class_list,
    pack_of,
)
from audit.registry.http_registry import HttpRegistry
from audit.registry.interface import Pair

__all__ = ["CachedComfyNodes", "open_comfy_nodes"]

_CLASSES, _PACKS = "comfy-nodes-of", "comfy-node-name"


def open_comfy_nodes(
    spec: str, registry: object, *, max_age: timedelta, refresh: bool
) -> ComfyNodesSource:
    """The comfy-nodes source that goes with ``registry`` (what `open_registry` gave for
    ``spec``): the mirror file itself, the cache (offline), or HTTP behind the cache.

    :raises MirrorError: for a mirror file that cannot be read.
    """
    if isinstance(registry, CachingRegistry) and isinstance(registry.inner, HttpRegistry):
        inner = HttpComfyNodes(registry.inner)
        return CachedComfyNodes(inner, registry.cache, registry.base_url, max_age, refresh)
    if isinstance(registry, OfflineRegistry):
        return CachedComfyNodes(None, registry.cache, registry.base_url, timedelta.max, False)
    if isinstance(registry, HttpRegistry):
        return HttpComfyNodes(registry)
    return MirrorComfyNodes.from_file(spec)


class CachedComfyNodes:
    """An implementation of `ComfyNodesSource` that answers from the cache when it can and
    stores what ``inner`` answers (facts only); without ``inner`` (offline) a miss fails."""

    def __init__(
        self,
        inner: ComfyNodesSource | None,
        cache: RegistryCache,
        base_url: str,
        max_age: timedelta,
        refresh: bool,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._inner, self._cache, self._base = inner, cache, base_url
        self._max_age, self._refresh, self._clock = max_age, refresh, clock

    def classes_of(self, keys: Sequence[NodeKey]) -> dict[Pair, ClassesAnswer]:
        wanted = {k.normalized: k for k in keys}
        stored = self._fresh(_CLASSES, [_pair_key(p) for p in wanted])
        answers: dict[Pair, ClassesAnswer] = {
            pair: class_list(stored[_pair_key(pair)][1], stored[_pair_key(pair)][0])
            for pair in wanted
            if _pair_key(pair) in stored
        }
        missing = [k for p, k in wanted.items() if p not in answers]
        if missing:
            fetched = self._ask_classes(missing)
            self._cache.put_documents(self._base, _CLASSES, _storable_classes(fetched))
            answers.update(fetched)
        return answers

    def packs_of(self, names: Sequence[str]) -> dict[str, PackAnswer]:
        wanted = list(dict.fromkeys(names))
        stored = self._fresh(_PACKS, wanted)
        answers: dict[str, PackAnswer] = {
            name: pack_of(body, at) for name, (at, body) in stored.items()
        }
        missing = [name for name in wanted if name not in answers]
        if missing:
            fetched = self._ask_packs(missing)
            self._cache.put_documents(self._base, _PACKS, _storable_packs(fetched))
            answers.update(fetched)
        return answers

    def _fresh(self, kind: str, keys: Sequence[str]) -> dict[str, tuple[datetime, Any]]:
        if self._refresh:
            return {}
        now = self._clock()
        stored = self._cache.get_documents(self._base, kind, keys)
        return {
            key: (at, body)
            for key, (at, body) in stored.items()
            if self._max_age == timedelta.max or abs(now - at) < self._max_age
        }

    def _ask_classes(self, keys: list[NodeKey]) -> Mapping[Pair, ClassesAnswer]:
        if self._inner is None:
            return {k.normalized: Failed("offline: not in the cache") for k in keys}
        return self._inner.classes_of(keys)

    def _ask_packs(self, names: list[str]) -> Mapping[str, PackAnswer]:
        if self._inner is None:
            return dict.fromkeys(names, Failed("offline: not in the cache"))
        return self._inner.packs_of(names)


def _pair_key(pair: Pair) -> str:
    return f"{pair[0]}@{pair[1]}"


def _storable_classes(answers: Mapping[Pair, ClassesAnswer]) -> list[tuple[str, datetime, object]]:
    return [
        (_pair_key(pair), a.fetched_at, [dict(r) for r in a.records])
        for pair, a in answers.items()
        if isinstance(a, ClassList) and a.fetched_at is not None
    ]


def _storable_packs(answers: Mapping[str, PackAnswer]) -> list[tuple[str, datetime, object]]:
    return [
        (name, a.fetched_at, None if a.record is None else dict(a.record))
        for name, a in answers.items()
        if isinstance(a, PackOf) and a.fetched_at is not None
    ]

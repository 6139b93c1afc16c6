"""Helpers shared by the registry tests."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from audit.model import Found, LookupResult, NodeKey, NodeVersion
from audit.registry import HttpRegistry, parse_node_version


class FakeClock:
    """A clock for cache expiry that moves only when a test says so; starts at the real now."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def fast_registry(url: str, **options: Any) -> HttpRegistry:
    """An HttpRegistry whose waits between retries last milliseconds."""
    settings: dict[str, Any] = {"backoff_base": 0.001, "retry_after_cap": 0.01} | options
    return HttpRegistry(url, **settings)


def keys_of(records: Iterable[Mapping[str, Any]]) -> list[NodeKey]:
    return [NodeKey(record["node_id"], record["version"]) for record in records]


def found(record: Mapping[str, Any]) -> Found:
    """The result a registry answering ``record`` gives, fetch time left out."""
    parsed = parse_node_version(dict(record))
    assert isinstance(parsed, NodeVersion), parsed
    return Found(parsed)


def comparable(results: Mapping[NodeKey, LookupResult]) -> dict[NodeKey, LookupResult]:
    """``results`` without fetch times, which differ from run to run."""
    return {key: _without_fetch_time(result) for key, result in results.items()}


def uncached(results: Mapping[NodeKey, LookupResult]) -> dict[NodeKey, LookupResult]:
    """``results`` as a registry without cache gives them: ``cache_hit`` false everywhere."""
    return {
        key: dataclasses.replace(r, cache_hit=False) if isinstance(r, Found) else r
        for key, r in results.items()
    }


def _without_fetch_time(result: LookupResult) -> LookupResult:
    if not isinstance(result, Found):
        return result
    return dataclasses.replace(
        result, node_version=dataclasses.replace(result.node_version, fetched_at=None)
    )

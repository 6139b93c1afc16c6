"""Turn the registry options into a registry: HTTP (cached or offline) for a URL, else a mirror."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from audit.errors import InputError
from audit.registry.cache import DEFAULT_MAX_AGE, RegistryCache
from audit.registry.caching import CachingRegistry, OfflineRegistry
from audit.registry.http_registry import HttpRegistry, is_loopback_host
from audit.registry.mirror import MirrorRegistry

__all__ = ["AnyRegistry", "open_registry", "stale_data_warning"]

AnyRegistry = HttpRegistry | CachingRegistry | OfflineRegistry | MirrorRegistry


def open_registry(
    spec: str,
    *,
    allow_insecure_http: bool = False,
    cache_dir: str | Path | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    refresh: bool = False,
    offline: bool = False,
    token: str | None = None,
    ca_bundle: str | Path | None = None,
    **http_options: Any,
) -> AnyRegistry:
    """Return the registry ``spec`` names: an ``http(s)://`` base URL, or a mirror file path.

    Plain ``http://`` is refused unless the host is this machine or ``allow_insecure_http``
    is set: registry answers decide whether a pack is reported as banned.

    A URL gives an `HttpRegistry`; with ``cache_dir`` a `CachingRegistry` in front of it
    (answers younger than ``max_age``; ``refresh`` reads none); with ``offline`` an
    `OfflineRegistry` on the cache alone. A mirror file ignores the cache options: it is
    offline already.

    :param cache_dir: the cache folder (`default_cache_dir` for the usual one); ``None``
        means no cache.
    :param token: sent as ``Authorization: Bearer`` to the registry's host only.
    :param ca_bundle: a CA bundle to verify the registry's TLS certificate with.
    :param http_options: keyword arguments of `HttpRegistry` (timeout, concurrency…).
    :raises InputError: for a URL that cannot be used, an option out of range, a CA bundle
        that is no file, or an offline run without a usable cache.
    :raises MirrorError: for a mirror file that cannot be read.
    """
    if "://" not in spec:
        return MirrorRegistry.from_file(Path(spec))
    base_url = _base_url(spec, allow_insecure_http)
    if offline:
        return _offline(base_url, cache_dir, refresh)
    if ca_bundle is not None and not Path(ca_bundle).is_file():
        raise InputError(f"CA bundle {str(ca_bundle)!r}: no such file")
    try:
        http = HttpRegistry(base_url, token=token, ca_bundle=ca_bundle, **http_options)
        if cache_dir is None:
            return http
        cache = RegistryCache(cache_dir)
        return CachingRegistry(http, cache, max_age=max_age, refresh=refresh)
    except ValueError as error:  # an option out of range, such as --concurrency 0
        raise InputError(f"registry options: {error}") from error


def _offline(base_url: str, cache_dir: str | Path | None, refresh: bool) -> OfflineRegistry:
    if refresh:
        raise InputError("--offline and --refresh cannot be used together")
    if cache_dir is None:
        raise InputError("--offline needs the cache (drop --no-cache), or --registry FILE")
    return OfflineRegistry(RegistryCache(cache_dir), base_url)


def _base_url(spec: str, allow_insecure_http: bool) -> str:
    parts = urlsplit(spec)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InputError(f"registry URL {spec!r}: use https:// (or give a mirror file path)")
    try:
        host = parts.hostname
        parts.port  # noqa: B018  # NOTE: evaluated only to reject a malformed port early
    except ValueError:
        raise InputError(f"registry URL {spec!r}: bad port") from None
    if not host:
        raise InputError(f"registry URL {spec!r}: no host")
    if parts.query or parts.fragment or parts.username is not None:
        raise InputError(f"registry URL {spec!r}: must not hold a query, fragment or user name")
    if scheme == "http" and not allow_insecure_http and not is_loopback_host(host):
        raise InputError(
            f"registry URL {spec!r}: plain http is only for this machine; "
            "use https, or pass --allow-insecure-http"
        )
    return spec.rstrip("/")


def stale_data_warning(
    registry: AnyRegistry, max_age: timedelta, now: datetime | None = None
) -> str | None:
    """A one-line warning when offline answers are older than ``max_age``, else ``None``.

    Call it after the lookup: an `OfflineRegistry` knows the age of the answers it gave.

    >>> from audit.model import NodeVersion
    >>> fetched = datetime(2026, 1, 1, tzinfo=UTC)
    >>> mirror = MirrorRegistry([NodeVersion("a", "1", fetched_at=fetched)])
    >>> stale_data_warning(mirror, timedelta(hours=1), now=fetched + timedelta(hours=30))
    'mirror data is 30 hours old (older than --max-age)'
    """
    if not isinstance(registry, MirrorRegistry | OfflineRegistry):
        return None
    oldest = registry.oldest_fetched_at
    age = (now or datetime.now(UTC)) - oldest if oldest is not None else None
    if age is None or age <= max_age:
        return None
    kind = "mirror" if isinstance(registry, MirrorRegistry) else "cached"
    return f"{kind} data is {_describe_age(age)} old (older than --max-age)"


def _describe_age(age: timedelta) -> str:
    """Say how long ``age`` is, in the unit a reader takes in at a glance.

    >>> _describe_age(timedelta(minutes=95)), _describe_age(timedelta(days=12))
    ('95 minutes', '12 days')
    """
    minutes = int(age.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    if minutes < 72 * 60:
        return f"{minutes // 60} hours"
    return f"{minutes // (24 * 60)} days"

"""Turn the ``--registry`` option into a registry: a URL means HTTP, anything else a mirror file."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from audit.errors import InputError
from audit.registry.http_registry import HttpRegistry, is_loopback_host
from audit.registry.mirror import MirrorRegistry

__all__ = ["open_registry"]


def open_registry(
    spec: str, *, allow_insecure_http: bool = False, **http_options: Any
) -> HttpRegistry | MirrorRegistry:
    """Return the registry ``spec`` names: an ``http(s)://`` base URL, or a mirror file path.

    Plain ``http://`` is refused unless the host is this machine or ``allow_insecure_http``
    is set: registry answers decide whether a pack is reported as banned.

    :param http_options: keyword arguments of `HttpRegistry` (timeout, concurrency…).
    :raises InputError: for a URL that cannot be used, or an option out of range.
    :raises MirrorError: for a mirror file that cannot be read.
    """
    if "://" not in spec:
        return MirrorRegistry.from_file(Path(spec))
    base_url = _base_url(spec, allow_insecure_http)
    try:
        return HttpRegistry(base_url, **http_options)
    except ValueError as error:  # an option out of range, such as --concurrency 0
        raise InputError(f"registry options: {error}") from error


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

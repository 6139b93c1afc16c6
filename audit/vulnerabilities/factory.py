"""Turn ``--vuln-db`` into a vulnerability source, and decide what it is by default."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import audit
from audit.errors import InputError
from audit.registry.cache import DEFAULT_MAX_AGE, RegistryCache
from audit.registry.http_registry import is_loopback_host
from audit.registry.transport import RequestCounter, Transport, TransportOptions
from audit.vulnerabilities.interface import VulnerabilitySource
from audit.vulnerabilities.offline import OfflineDatabase
from audit.vulnerabilities.osv_api import DEFAULT_OSV_URL, OsvApi

__all__ = ["NONE", "default_vuln_db", "open_vulnerability_source"]

NONE = "none"


def default_vuln_db(registry: str, default_registry: str, *, offline: bool) -> str:
    """``--vuln-db`` when not given: the OSV API only with the default public registry.

    A mirror file, ``--offline`` or a registry of one's own means an air-gapped or private
    set-up, where nothing goes to a third party the user did not choose.

    >>> default_vuln_db("https://api.comfy.org", "https://api.comfy.org", offline=False)
    'https://api.osv.dev'
    >>> default_vuln_db("http://127.0.0.1:8080", "https://api.comfy.org", offline=False)
    'none'
    """
    same = registry.rstrip("/").lower() == default_registry.rstrip("/").lower()
    return DEFAULT_OSV_URL if same and not offline else NONE


def open_vulnerability_source(
    spec: str,
    *,
    cache_dir: str | Path | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    refresh: bool = False,
    offline: bool = False,
    allow_insecure_http: bool = False,
    timeout: float = 10.0,
    retries: int = 4,
    backoff_base: float = 0.5,
    concurrency: int = 8,
    ca_bundle: str | None = None,
) -> VulnerabilitySource | None:
    """Return the source ``spec`` names: ``none`` (no check), an OSV API base URL, or the path
    of an OSV zip or folder. Plain ``http://`` only on loopback (or ``allow_insecure_http``),
    as for the registry.

    :raises InputError: for a URL that cannot be used or a path that does not exist.
    """
    if spec.strip().lower() == NONE:
        return None
    if "://" not in spec:
        path = Path(spec)
        if not path.exists():
            raise InputError(f"--vuln-db {spec!r}: no such file or folder")
        return OfflineDatabase(path)
    base = _base_url(spec, allow_insecure_http)
    cache = None if cache_dir is None else RegistryCache(cache_dir)
    if offline:
        return OsvApi(base, None, cache)
    options = TransportOptions(
        timeout=timeout,
        retries=retries,
        backoff_base=backoff_base,
        retry_after_cap=60.0,
        max_response_bytes=32 * 1024 * 1024,
        user_agent=audit.USER_AGENT,
        ca_bundle=ca_bundle,
    )
    counter = RequestCounter()
    loopback = is_loopback_host(urlsplit(base).hostname or "")

    def transport(allow: Callable[[str], bool]) -> Transport:
        # NOTE: no origin, so no registry token ever goes to the OSV service.
        return Transport(options, counter, allow=allow, trust_env=not loopback)

    return OsvApi(base, transport, cache, max_age=max_age, refresh=refresh, concurrency=concurrency)


def _base_url(spec: str, allow_insecure_http: bool) -> str:
    parts = urlsplit(spec)
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018  # NOTE: evaluated only to reject a malformed port early
    except ValueError:
        raise InputError(f"--vuln-db {spec!r}: bad port") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InputError(f"--vuln-db {spec!r}: use an https:// URL, a zip or a folder, or none")
    if parts.query or parts.fragment or parts.username is not None:
        raise InputError(f"--vuln-db {spec!r}: must not hold a query, fragment or user name")
    if parts.scheme.lower() == "http" and not allow_insecure_http and not is_loopback_host(host):
        raise InputError(
            f"--vuln-db {spec!r}: plain http is only for this machine; "
            "use https, or pass --allow-insecure-http"
        )
    return spec.rstrip("/")

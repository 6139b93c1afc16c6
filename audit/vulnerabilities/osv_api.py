"""The OSV API as a vulnerability source: ``POST /v1/querybatch``, then ``GET /v1/vulns/{id}``.

Requests go through the registry's `Transport` (retries, back-off, circuit breaker, size cap,
TLS rules), and answers into the registry's cache with the same expiry: a query result or a
record younger than ``max_age`` is not asked again; ``refresh`` reads none; without a
``transport`` (``--offline``) only the cache answers and every miss is a failed lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from audit.model import ID_PATTERN
from audit.registry.cache import DEFAULT_MAX_AGE, RegistryCache
from audit.registry.transport import Failure, NotJson, Outcome, Reply, Transport
from audit.vulnerabilities.advisory import Advisory, parse_advisory
from audit.vulnerabilities.interface import Candidates, Pair

__all__ = ["BATCH_PATH", "DEFAULT_OSV_URL", "MAX_BATCH", "VULNS_PATH", "OsvApi"]

DEFAULT_OSV_URL = "https://api.osv.dev"
BATCH_PATH = "/v1/querybatch"
VULNS_PATH = "/v1/vulns/"
#: The API's own limit of queries in one batch.
MAX_BATCH = 1000
#: Pages a single query may follow before its answer counts as failed (a server that loops).
_MAX_PAGES = 100
_QUERY, _VULN = "osv-query", "osv-vuln"

TransportFactory = Callable[[Callable[[str], bool]], Transport]
"""Opens a `Transport` that may request only the URLs the given predicate allows."""


class OsvApi:
    """An implementation of `VulnerabilitySource` that asks the OSV API (or its cache)."""

    def __init__(
        self,
        base_url: str,
        transport: TransportFactory | None,
        cache: RegistryCache | None = None,
        *,
        max_age: timedelta = DEFAULT_MAX_AGE,
        refresh: bool = False,
        concurrency: int = 8,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._base = base_url.rstrip("/")
        self._transport = transport
        self._cache = cache
        self._max_age = max_age
        self._refresh = refresh
        self._concurrency = concurrency
        self._clock = clock

    @property
    def name(self) -> str:
        return self._base

    def candidates(self, pairs: Sequence[Pair]) -> Candidates:
        """See `VulnerabilitySource.candidates`."""
        wanted = list(dict.fromkeys(pairs))
        ids, failed = self._query(wanted)
        records, missing = self._records(sorted({i for found in ids.values() for i in found}))
        advisories: dict[Pair, tuple[Advisory, ...]] = {}
        for pair, found in ids.items():
            lost = [i for i in found if i in missing]
            if lost:
                failed[pair] = f"advisory {lost[0]}: {missing[lost[0]]}"
            else:
                advisories[pair] = tuple(records[i] for i in found if i in records)
        return Candidates(advisories, failed)

    # -- query batch --------------------------------------------------------------------------

    def _query(self, pairs: list[Pair]) -> tuple[dict[Pair, list[str]], dict[Pair, str]]:
        keys = {pair: f"{pair[0]}=={pair[1]}" for pair in pairs}
        cached = self._fresh(_QUERY, list(keys.values()))
        ids = {p: _id_list(cached[k]) for p, k in keys.items() if k in cached}
        missing = [p for p in pairs if p not in ids]
        if not missing:
            return ids, {}
        if self._transport is None:
            return ids, dict.fromkeys(missing, "not in the cache (offline)")
        fetched, failed = self._batch(self._transport, missing)
        now = self._clock()
        self._store(_QUERY, [(keys[p], now, found) for p, found in fetched.items()])
        ids.update(fetched)
        return ids, failed

    def _batch(
        self, open_transport: TransportFactory, pairs: list[Pair]
    ) -> tuple[dict[Pair, list[str]], dict[Pair, str]]:
        found: dict[Pair, list[str]] = {p: [] for p in pairs}
        failed: dict[Pair, str] = {}
        pending: list[tuple[Pair, str | None]] = [(p, None) for p in pairs]
        with open_transport(self._allowed) as transport:
            for _ in range(_MAX_PAGES):
                if not pending:
                    break
                pending = self._pages(transport, pending, found, failed)
            failed.update((p, "more than 100 pages of results") for p, _ in pending)
        return {p: ids for p, ids in found.items() if p not in failed}, failed

    def _pages(
        self,
        transport: Transport,
        pending: list[tuple[Pair, str | None]],
        found: dict[Pair, list[str]],
        failed: dict[Pair, str],
    ) -> list[tuple[Pair, str | None]]:
        """Send one page of every pending query; return the queries with a next page."""
        following: list[tuple[Pair, str | None]] = []
        for start in range(0, len(pending), MAX_BATCH):
            chunk = pending[start : start + MAX_BATCH]
            outcome = transport.send("POST", self._base + BATCH_PATH, _batch_body(chunk))
            results = _results(outcome, len(chunk))
            if isinstance(results, str):
                failed.update((pair, results) for pair, _ in chunk)
                continue
            for (pair, _), result in zip(chunk, results, strict=True):
                found[pair] += [i for i in _result_ids(result) if i not in found[pair]]
                token = result.get("next_page_token")
                if isinstance(token, str) and token:
                    following.append((pair, token))
        return following

    # -- records ------------------------------------------------------------------------------

    def _records(self, ids: list[str]) -> tuple[dict[str, Advisory], dict[str, str]]:
        cached = self._fresh(_VULN, ids)
        records = {i: a for i, body in cached.items() if (a := _advisory(body, i)) is not None}
        missing = [i for i in ids if i not in records]
        if not missing:
            return records, {}
        if self._transport is None:
            return records, dict.fromkeys(missing, "not in the cache (offline)")
        with (
            self._transport(self._allowed) as transport,
            ThreadPoolExecutor(self._concurrency, thread_name_prefix="osv") as pool,
        ):
            answers = list(pool.map(lambda i: (i, self._get(transport, i)), missing))
        now = self._clock()
        fetched = {i: a for i, a in answers if isinstance(a, Advisory)}
        self._store(_VULN, [(i, now, a.record) for i, a in fetched.items()])
        records.update(fetched)
        return records, {i: a for i, a in answers if isinstance(a, str)}

    def _get(self, transport: Transport, ident: str) -> Advisory | str:
        if ID_PATTERN.fullmatch(ident) is None:
            return "not an id that is safe to put in a URL"
        outcome = transport.send("GET", self._base + VULNS_PATH + quote(ident, safe=""))
        if not isinstance(outcome, Reply):
            return _failure(outcome)
        if outcome.status != 200:
            return f"HTTP {outcome.status}"
        return _advisory(outcome.payload, ident) or "not an OSV record for that id"

    # -- cache and routes ---------------------------------------------------------------------

    def _fresh(self, kind: str, keys: list[str]) -> dict[str, object]:
        if self._cache is None or (self._refresh and self._transport is not None):
            return {}
        now = self._clock()
        stored = self._cache.get_documents(self._base, kind, keys)
        # NOTE: with no network, any age will do (as --offline for the registry).
        return {
            key: body
            for key, (moment, body) in stored.items()
            if self._transport is None or abs(now - moment) < self._max_age
        }

    def _store(self, kind: str, documents: list[tuple[str, datetime, object]]) -> None:
        if self._cache is not None:
            self._cache.put_documents(self._base, kind, documents)

    def _allowed(self, url: str) -> bool:
        """Whether ``url`` is one of the two routes this client may ever request."""
        if url == self._base + BATCH_PATH:
            return True
        ident = url.removeprefix(self._base + VULNS_PATH)
        return ident != url and ID_PATTERN.fullmatch(ident) is not None


def _batch_body(chunk: Sequence[tuple[Pair, str | None]]) -> dict[str, object]:
    queries = []
    for (name, version), token in chunk:
        query: dict[str, object] = {
            "package": {"name": name, "ecosystem": "PyPI"},
            "version": version,
        }
        if token is not None:
            query["page_token"] = token
        queries.append(query)
    return {"queries": queries}


def _results(outcome: Outcome, expected: int) -> list[dict[str, object]] | str:
    """The results of a batch answer, one per query, or why there are none."""
    if not isinstance(outcome, Reply):
        return _failure(outcome)
    if outcome.status != 200:
        return f"HTTP {outcome.status}"
    payload = outcome.payload
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or len(results) != expected:
        return "the query batch answer does not have one result per query"
    if not all(isinstance(r, dict) for r in results):
        return "the query batch answer holds a result that is not an object"
    return results


def _result_ids(result: Mapping[str, object]) -> list[str]:
    vulns = result.get("vulns")
    items = vulns if isinstance(vulns, list) else []
    return [i for v in items if isinstance(v, dict) and isinstance(i := v.get("id"), str)]


def _id_list(body: object) -> list[str]:
    return [i for i in body if isinstance(i, str)] if isinstance(body, list) else []


def _advisory(body: object, ident: str) -> Advisory | None:
    advisory = parse_advisory(body)
    return advisory if advisory is not None and advisory.id == ident else None


def _failure(outcome: Failure | NotJson) -> str:
    return outcome.reason if isinstance(outcome, Failure) else f"not JSON: {outcome.detail}"

"""The registry's whole version list, read page by page from ``GET /versions``.

The first page says how many pages there are; the others are fetched concurrently, a bounded
window at a time, and yielded in page order, so memory holds a few pages, not the registry.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any

from audit.model import Invalid
from audit.registry.interface import RegistryError
from audit.registry.outcomes import Outcome, answered
from audit.registry.parse import parse_node_version

__all__ = ["LISTING_QUERY", "MAX_PAGE_SIZE", "in_order", "list_pages", "listing_page"]

#: The API answers 400 to a larger ``pageSize``.
MAX_PAGE_SIZE = 100
#: The only query a listing request (or a redirect it follows) may carry.
LISTING_QUERY = re.compile(r"pageSize=\d{1,3}&page=\d{1,7}")

_log = logging.getLogger(__name__)

Record = dict[str, Any]
_Page = tuple[list[object], int]


def list_pages(
    get: Callable[[str], Outcome],
    base_url: str,
    *,
    page_size: int = MAX_PAGE_SIZE,
    concurrency: int = 8,
    max_pages: int = 10_000,
) -> Iterator[Record]:
    """Yield every NodeVersion record of the listing at ``base_url``, each with ``fetched_at``.

    A record that is not a NodeVersion at all (no ``node_id``…) is skipped with one warning,
    so that the mirror written from it can always be read back; a pair listed twice (the
    registry changed between pages) is yielded once.

    :param get: sends one GET (with retries) and returns its outcome.
    :raises RegistryError: when a page cannot be fetched or is not a listing page, or the
        listing claims more than ``max_pages`` pages.
    """
    if not 1 <= page_size <= MAX_PAGE_SIZE or concurrency < 1:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE} and concurrency at least 1")
    fetch = _PageFetcher(get, base_url, page_size)
    first, total_pages = fetch(1)
    if total_pages > max_pages:
        raise RegistryError(f"registry listing: {total_pages} pages, more than {max_pages}")
    later = in_order(fetch, range(2, total_pages + 1), concurrency)
    yield from _Sieve().records(chain([first], later))


class _PageFetcher:
    """Fetches and checks one page."""

    def __init__(self, get: Callable[[str], Outcome], base_url: str, page_size: int) -> None:
        self._get = get
        self._base = base_url
        self._page_size = page_size

    def __call__(self, page: int) -> _Page:
        outcome = self._get(f"{self._base}/versions?pageSize={self._page_size}&page={page}")
        fetched_at = datetime.now(UTC).isoformat()
        versions, total_pages = _page_body(outcome, page)
        stamped = [{**v, "fetched_at": fetched_at} if isinstance(v, dict) else v for v in versions]
        return stamped, total_pages


def in_order(
    fetch: Callable[[int], _Page], pages: range, concurrency: int
) -> Iterator[list[object]]:
    """Fetch ``pages`` with ``concurrency`` workers; yield their records in page order."""
    todo = iter(pages)
    with ThreadPoolExecutor(concurrency, thread_name_prefix="listing") as pool:
        # NOTE: a window of twice the concurrency keeps every worker busy while the consumer
        # writes, without holding the whole registry in memory.
        window: deque[Future[_Page]] = deque(
            pool.submit(fetch, page) for page in islice(todo, 2 * concurrency)
        )
        try:
            while window:
                records, _ = window.popleft().result()
                window.extend(pool.submit(fetch, page) for page in islice(todo, 1))
                yield records
        finally:
            for future in window:  # the consumer stopped early, or a page failed
                future.cancel()


def _page_body(outcome: Outcome, page: int) -> tuple[list[object], int]:
    return listing_page(outcome, f"registry listing, page {page}", "versions")


def listing_page(outcome: Outcome, where: str, field: str) -> tuple[list[object], int]:
    """The items (under ``field``) and ``totalPages`` of a listing page, else `RegistryError`."""
    reply = answered(outcome)
    if isinstance(reply, str):
        raise RegistryError(f"{where}: {reply}")
    payload = reply.payload
    items = payload.get(field) if isinstance(payload, dict) else None
    total_pages = payload.get("totalPages") if isinstance(payload, dict) else None
    if not isinstance(items, list) or type(total_pages) is not int or total_pages < 0:
        raise RegistryError(f"{where}: not a listing page (no {field} or totalPages)")
    return items, total_pages


class _Sieve:
    """Drops records that are no NodeVersion, and repeats of a pair; warns once at the end."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._skipped = 0

    def records(self, pages: Iterable[list[object]]) -> Iterator[Record]:
        for page in pages:
            for item in page:
                if self._keep(item):
                    assert isinstance(item, dict)  # NOTE: parse_node_version accepts no other
                    yield item
        if self._skipped:
            _log.warning(
                "registry listing: skipped %d items that are not NodeVersions", self._skipped
            )

    def _keep(self, item: object) -> bool:
        parsed = parse_node_version(item)
        if isinstance(parsed, Invalid):
            self._skipped += 1
            return False
        pair = parsed.key.normalized
        if pair in self._seen:
            return False
        self._seen.add(pair)
        return True

"""Run one function over many items on a few threads, each thread taking one share of them.

Why shares, not one task per item: 10,000 ``run.json`` files as 10,000 futures of a thread pool
spent more time in the pool's locks than in reading them; a share per thread is one task each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["LOCAL_WORKERS", "in_shares", "per_share"]

T = TypeVar("T")
R = TypeVar("R")

#: Threads for files on a local disk: one per core, at most four (reading is mostly CPU here).
LOCAL_WORKERS = min(4, os.cpu_count() or 1)


def per_share(function: Callable[[Sequence[T]], R], items: Sequence[T], workers: int) -> list[R]:
    """Return ``function`` of each share of ``items``: up to ``workers`` contiguous ones, each
    on a thread of its own, in the items' order (none when there are no items).

    An exception raised for a share is raised here, the one of the first such share; the other
    shares are finished first.
    """
    size = max(1, -(-len(items) // max(1, workers)))
    shares = [items[start : start + size] for start in range(0, len(items), size)]
    if len(shares) <= 1:
        return [function(share) for share in shares]
    with ThreadPoolExecutor(len(shares), thread_name_prefix="fleet") as pool:
        done = [pool.submit(function, share) for share in shares]
        return [future.result() for future in done]


def in_shares(function: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """Return ``function`` of every item, in the items' order, computed on up to ``workers``
    threads, each over one contiguous share of ``items``.

    An exception raised for an item is raised here, the one of the first such item in order.
    """
    shares = per_share(lambda share: [function(item) for item in share], items, workers)
    return [result for share in shares for result in share]

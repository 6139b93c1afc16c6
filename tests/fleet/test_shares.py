"""Work split into one share per thread: every result, in the items' order; the first error."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.fleet.shares import in_shares, per_share


@settings(deadline=None)
@given(st.lists(st.integers()), st.integers(min_value=0, max_value=8))
def test_every_result_in_the_items_order(items: list[int], workers: int) -> None:
    assert in_shares(lambda n: n * 2, items, workers) == [n * 2 for n in items]


@settings(deadline=None)
@given(st.lists(st.integers(), min_size=1), st.integers(min_value=1, max_value=8))
def test_at_most_one_contiguous_share_per_worker(items: list[int], workers: int) -> None:
    shares = per_share(list, items, workers)
    assert 1 <= len(shares) <= workers
    assert [n for share in shares for n in share] == items


def test_no_items_no_shares() -> None:
    assert per_share(list, [], 4) == []


def test_the_shares_run_at_once() -> None:
    # NOTE: each share waits for the other: run one after the other, they would time out.
    both = threading.Barrier(2, timeout=30)
    assert per_share(lambda share: (both.wait(), list(share))[1], range(4), 2) == [[0, 1], [2, 3]]


def test_the_first_failing_item_in_order_is_raised() -> None:
    def check(n: int) -> int:
        if n in (3, 7):
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match=r"^item 3$"):
        in_shares(check, range(10), 2)

"""Retries and back-off: how long the transport waits before it tries a request again."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["retry_after_seconds", "retry_delay"]


def retry_delay(
    attempt: int,
    backoff_base: float,
    retry_after: float | None,
    cap: float,
    rand: Callable[[], float] = random.random,
) -> float:
    """Return how long to wait before retry number ``attempt + 1``.

    ``Retry-After`` wins when the server sent one; otherwise exponential back-off with full
    jitter (``uniform(0, base * 2**attempt)``) spreads the retries of concurrent workers.
    No wait is ever longer than ``cap``.

    >>> retry_delay(3, 0.5, 120.0, 60.0)
    60.0
    """
    if retry_after is not None:
        return min(max(retry_after, 0.0), cap)
    return min(rand() * backoff_base * 2.0**attempt, cap)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delay or HTTP date), or ``None``.

    >>> retry_after_seconds("7"), retry_after_seconds("soon")
    (7.0, None)
    """
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(text)
        return seconds if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)

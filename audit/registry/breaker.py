"""The circuit breaker of the transport: it gives up on a registry that is down."""

from __future__ import annotations

import threading

__all__ = ["MIN_BREAKER_THRESHOLD", "CircuitBreaker", "breaker_threshold"]

#: Failed attempts in a row after which the registry counts as down, whatever the retries.
MIN_BREAKER_THRESHOLD = 10


def breaker_threshold(retries: int) -> int:
    """Failed attempts in a row that open the `CircuitBreaker` of a transport with ``retries``.

    Two whole retry budgets, and never fewer than `MIN_BREAKER_THRESHOLD`.

    >>> breaker_threshold(4), breaker_threshold(9)
    (10, 20)
    """
    return max(MIN_BREAKER_THRESHOLD, 2 * (retries + 1))


class CircuitBreaker:
    """Decides that a registry is down, so that a run against it ends after a bounded effort.

    Every attempt of every request of one `Transport` (all its worker threads) reports here.
    After ``threshold`` failed attempts in a row (no HTTP answer: a 5xx or 429, a timeout, a
    refused or reset connection, a body cut short or not JSON, a TLS error…) on at least two
    different request paths, with no answer in between, the breaker opens: every request that
    has not finished fails at once, without another attempt, with the one-line reason
    ``registry unavailable: <last failure> (N failures in a row; giving up)``. Any HTTP answer
    (a 200, a 404…) closes it again.

    Two paths, because one path alone proves little: a single pair the server chokes on must
    not fail the others, and neither must a bulk route that fails while the per-version GETs
    (where its pairs fall back to) still answer.

    The bound, for a lookup of P pairs against a registry that is down (or from its last
    answer on), with T = `breaker_threshold` (10 with the default 4 retries), C = ceil(P /
    chunk size) bulk requests and B = C * (retries + 1), the attempts they can spend:

    - attempts: at most ``max(T, B + 1) + concurrency - 1``: the bulk requests use their
      budgets, the first failed per-version GET (or the T-th failure) opens the breaker, and
      only attempts already in flight in the other workers still end. 300 pairs with the
      defaults (chunks of 100, 8 workers): 15 + 1 + 7 = 23 attempts, not 303 * 5;
    - time: an attempt lasts at most ``timeout`` (connect, headers and body together) and a
      worker waits at most ``backoff_base * 2**(retries - 1)`` (4 s by default), or a
      ``Retry-After`` of at most ``retry_after_cap`` (60 s), before its next one, so the lookup
      ends within
      ``(ceil(C / concurrency) * (retries + 1) + T) * (timeout + longest wait)``. With the
      defaults and up to 800 pairs: 15 * (10 s + 4 s) = 210 s when every attempt times out,
      60 s of back-off when every answer is an immediate 503. Waiting workers wake as soon as
      the breaker opens.
    """

    def __init__(self, threshold: int) -> None:
        if threshold < 2:
            raise ValueError("the breaker threshold must be at least 2")
        self.threshold = threshold
        self._lock = threading.Lock()
        self._opened = threading.Event()
        self._failures = 0
        self._first_path: str | None = None
        self._several_paths = False
        self._reason: str | None = None

    @property
    def reason(self) -> str | None:
        """Why every request now fails at once, or ``None`` while the breaker is closed."""
        with self._lock:
            return self._reason

    def failed(self, path: str, reason: str) -> None:
        """Note an attempt at ``path`` that got no HTTP answer, for ``reason``."""
        with self._lock:
            self._failures += 1
            if self._first_path is None:
                self._first_path = path
            elif path != self._first_path:
                self._several_paths = True
            if self._reason is None and self._failures >= self.threshold and self._several_paths:
                self._reason = (
                    f"registry unavailable: {reason} "
                    f"({self._failures} failures in a row; giving up)"
                )
                self._opened.set()

    def succeeded(self) -> None:
        """Note an attempt that got an HTTP answer: the registry is up; close the breaker."""
        with self._lock:
            self._failures = 0
            self._first_path = None
            self._several_paths = False
            self._reason = None
            self._opened.clear()

    def wait(self, seconds: float) -> None:
        """Sleep ``seconds`` before a retry, or less if the breaker opens meanwhile."""
        if seconds > 0:
            self._opened.wait(seconds)

"""HTTP transport of the registry client: sessions and the retry loop of one lookup.

This is the only module that sends requests. Its parts live beside it, one concern each:
`audit.registry.breaker` (the circuit breaker that gives up on a registry that is down),
`audit.registry.retry` (back-off and ``Retry-After``), `audit.registry.redirects` (guarded
redirects and who gets the token), `audit.registry.body` with `audit.registry.limits` (the
size cap, the whole-attempt deadline and the bytes held at once) and `audit.registry.outcomes`
(what a request comes to: every requests exception becomes an `Outcome` value, so none can
escape `HttpRegistry.lookup`). The names other modules use are re-exported here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from audit.lazy import attributes
from audit.registry.breaker import CircuitBreaker, breaker_threshold
from audit.registry.credentials import Token
from audit.registry.outcomes import (
    Failure,
    NotJson,
    Outcome,
    Reply,
    Transient,
    request_fault,
    what_failed,
)
from audit.registry.retry import retry_after_seconds, retry_delay

if TYPE_CHECKING:
    import requests

    from audit.registry.limits import ByteBudget, Deadline
    from audit.registry.redirects import MAX_REDIRECTS, redirect_refusal, same_origin

# NOTE: the parts that load requests (sessions, limits, redirects, reading answers) are imported
# where a request is sent, so that a run that sends nothing (a warm cache) never loads requests.
__getattr__ = attributes(
    __name__,
    dict.fromkeys(["MAX_REDIRECTS", "redirect_refusal", "same_origin"], "audit.registry.redirects"),
    globals(),
)

__all__ = [
    "MAX_REDIRECTS",
    "CircuitBreaker",
    "Failure",
    "NotJson",
    "Outcome",
    "Reply",
    "RequestCounter",
    "RequestStats",
    "Transport",
    "TransportOptions",
    "breaker_threshold",
    "redirect_refusal",
    "retry_after_seconds",
    "retry_delay",
    "same_origin",
]


@dataclass(frozen=True)
class RequestStats:
    """Represents the HTTP requests an `HttpRegistry` has sent so far.

    Every attempt counts, retries included; redirects followed within an attempt do not.
    """

    requests: int = 0
    bulk_requests: int = 0
    get_requests: int = 0
    retries: int = 0
    """Attempts that repeated an earlier one after a transient fault (included above)."""


@dataclass(frozen=True)
class TransportOptions:
    """Represents the knobs of the transport; see `HttpRegistry` for their meaning."""

    timeout: float
    retries: int
    backoff_base: float
    retry_after_cap: float
    max_response_bytes: int
    user_agent: str
    token: Token | None = None
    """Sent as ``Authorization: Bearer`` to the registry's own origin and nowhere else."""
    ca_bundle: str | None = None
    """A CA bundle that replaces the default trust store (private mirrors); ``None``: default."""
    max_held_bytes: int | None = None
    """Bytes of answers all threads may hold at once; ``None``: twice ``max_response_bytes``."""


class RequestCounter:
    """Counts requests across threads and lookups."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = RequestStats()

    def add(self, method: str, *, retry: bool) -> None:
        bulk = method == "POST"
        with self._lock:
            s = self._stats
            self._stats = RequestStats(
                requests=s.requests + 1,
                bulk_requests=s.bulk_requests + bulk,
                get_requests=s.get_requests + (not bulk),
                retries=s.retries + retry,
            )

    @property
    def stats(self) -> RequestStats:
        with self._lock:
            return self._stats


class Transport:
    """Sends requests with one `requests.Session` per thread, for the span of one lookup.

    Use it as a context manager: leaving it closes every session it opened. Its
    `CircuitBreaker`, shared by all the threads that use it, bounds the attempts and the time a
    lookup spends on a registry that is down (see there for the bound).

    :param allow: whether a URL may be requested; redirects to anything else are refused.
    :param trust_env: whether proxies and netrc from the environment apply.
    :param origin: the registry's base URL: the only origin that is sent the token.
    """

    def __init__(
        self,
        options: TransportOptions,
        counter: RequestCounter,
        *,
        allow: Callable[[str], bool],
        trust_env: bool = True,
        origin: str | None = None,
    ) -> None:
        self._options = options
        self._origin = origin
        self._counter = counter
        self._allow = allow
        self._trust_env = trust_env
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._down: str | None = None
        self._breaker = CircuitBreaker(breaker_threshold(options.retries))
        from audit.registry.limits import ByteBudget

        held = options.max_held_bytes
        self._budget = ByteBudget(held if held is not None else 2 * options.max_response_bytes)

    def __enter__(self) -> Transport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    def send(self, method: str, url: str, body: object = None) -> Outcome:
        """Send one request, retrying transient faults; never raises for network trouble."""
        attempts = self._options.retries + 1
        path = urlsplit(url).path
        fault = Transient("no attempt")
        for attempt in range(attempts):
            if self._down is not None:
                # NOTE: the host refused or could not be resolved through a whole retry
                # budget already; trying every key again would only multiply the wait.
                return Failure(self._down)
            if (down := self._breaker.reason) is not None:
                return Failure(down)
            self._counter.add(method, retry=attempt > 0)
            result = self._attempt(method, url, body)
            if isinstance(result, Reply):
                self._breaker.succeeded()
            else:
                self._breaker.failed(path, what_failed(result))
            if not isinstance(result, Transient):
                return result
            fault = result
            if attempt + 1 < attempts:
                self._breaker.wait(self._delay(attempt, fault.retry_after))
        return self._give_up(fault, attempts)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        o = self._options
        return retry_delay(attempt, o.backoff_base, retry_after, o.retry_after_cap)

    def _give_up(self, fault: Transient, attempts: int) -> Outcome:
        reason = f"{fault.reason} after {attempts} attempt{'s' if attempts > 1 else ''}"
        if fault.bad_body:
            return NotJson(reason)
        if fault.unreachable:
            self._down = reason
        return Failure(reason)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._new_session()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _new_session(self) -> requests.Session:
        import requests

        from audit.registry.limits import DeadlineAdapter

        session = requests.Session()
        session.trust_env = self._trust_env
        session.verify = self._verify
        session.headers.update(
            {"User-Agent": self._options.user_agent, "Accept": "application/json"}
        )
        # Retries are ours: they must also cover bodies cut short and honour Retry-After.
        adapter = DeadlineAdapter(max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    @property
    def budget(self) -> ByteBudget:
        return self._budget

    def _attempt(self, method: str, url: str, body: object) -> Outcome | Transient:
        from audit.registry.body import read_answer
        from audit.registry.limits import deadline

        # NOTE: --timeout bounds the whole attempt, redirects and a body sent a byte at a time
        # included; requests' own timeout only bounds each socket operation.
        with deadline(self._options.timeout) as limit:
            try:
                response = self._follow(method, url, body)
            except (OSError, ValueError) as error:  # requests' exceptions are OSErrors
                return self._late(limit) or request_fault(error)
            if isinstance(response, Failure):
                return response
            with response:
                result = read_answer(response, self._options.max_response_bytes, self._budget)
            return result if isinstance(result, Reply) else self._late(limit) or result

    def _late(self, limit: Deadline) -> Transient | None:
        if not limit.expired:
            return None
        return Transient("timed out")

    def _follow(self, method: str, url: str, body: object) -> requests.Response | Failure:
        """Send, following at most `MAX_REDIRECTS` redirects, and only to allowed URLs."""
        from audit.registry.redirects import MAX_REDIRECTS, bearer_auth, redirect_refusal

        for _ in range(MAX_REDIRECTS + 1):
            response = self._session().request(
                method,
                url,
                json=body,
                timeout=self._options.timeout,
                stream=True,
                allow_redirects=False,
                auth=bearer_auth(url, self._options.token, self._origin),
                # NOTE: per request too: with trust_env, REQUESTS_CA_BUNDLE would beat a
                # session-level bundle.
                verify=self._verify,
            )
            if not response.is_redirect:
                return response
            response.close()
            target = urljoin(url, response.headers["Location"])
            refusal = redirect_refusal(method, response.status_code, url, target, self._allow)
            if refusal is not None:
                return Failure(refusal)
            url = target
        return Failure(f"more than {MAX_REDIRECTS} redirects")

    @property
    def _verify(self) -> bool | str:
        """Never ``False``: verification stays on, at most with another trust store."""
        return self._options.ca_bundle or True

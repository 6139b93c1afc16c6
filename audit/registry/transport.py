"""HTTP transport of the registry client: sessions, bounded retries, size cap, guarded redirects,
and a circuit breaker that gives up on a registry that is down.

This is the only module that uses requests. Every requests exception is turned into an
`Outcome` value here, so none can escape `HttpRegistry.lookup`.
"""

from __future__ import annotations

import http.client
import json
import math
import random
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import requests
import urllib3.exceptions
from requests.auth import AuthBase

from audit.registry.credentials import Token
from audit.registry.limits import ByteBudget, Deadline, DeadlineAdapter, deadline

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

#: pip-audit's reasoning holds here too: an API should never redirect more than once or twice.
MAX_REDIRECTS = 5
#: Failed attempts in a row after which the registry counts as down, whatever the retries.
MIN_BREAKER_THRESHOLD = 10
_CHUNK_BYTES = 64 * 1024
_KEEP_BODY_ON_REDIRECT = frozenset({307, 308})


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


@dataclass(frozen=True)
class Reply:
    """A final HTTP answer: ``payload`` is the decoded JSON (always, for 200), else ``None``."""

    status: int
    payload: object


@dataclass(frozen=True)
class NotJson:
    """A 200 answer whose body stayed cut or unparsable through every attempt."""

    detail: str


@dataclass(frozen=True)
class Failure:
    """No answer: the network, the server or our own limits got in the way."""

    reason: str


Outcome = Reply | NotJson | Failure


@dataclass(frozen=True)
class _Transient:
    """A fault worth another attempt."""

    reason: str
    retry_after: float | None = None
    bad_body: bool = False
    """A 200 whose body was cut short or is not JSON: reported as `NotJson` in the end."""
    unreachable: bool = False
    """The host could not be reached at all, so other requests need not try it again."""


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
        fault = _Transient("no attempt")
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
                self._breaker.failed(path, _what_failed(result))
            if not isinstance(result, _Transient):
                return result
            fault = result
            if attempt + 1 < attempts:
                self._breaker.wait(self._delay(attempt, fault.retry_after))
        return self._give_up(fault, attempts)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        o = self._options
        return retry_delay(attempt, o.backoff_base, retry_after, o.retry_after_cap)

    def _give_up(self, fault: _Transient, attempts: int) -> Outcome:
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

    def _attempt(self, method: str, url: str, body: object) -> Outcome | _Transient:
        # NOTE: --timeout bounds the whole attempt, redirects and a body sent a byte at a time
        # included; requests' own timeout only bounds each socket operation.
        with deadline(self._options.timeout) as limit:
            try:
                response = self._follow(method, url, body)
            except (OSError, ValueError) as error:  # requests' exceptions are OSErrors
                return self._late(limit) or _request_fault(error)
            if isinstance(response, Failure):
                return response
            with response:
                result = self._read(response)
            return result if isinstance(result, Reply) else self._late(limit) or result

    def _late(self, limit: Deadline) -> _Transient | None:
        if not limit.expired:
            return None
        return _Transient("timed out")

    def _follow(self, method: str, url: str, body: object) -> requests.Response | Failure:
        """Send, following at most `MAX_REDIRECTS` redirects, and only to allowed URLs."""
        for _ in range(MAX_REDIRECTS + 1):
            response = self._session().request(
                method,
                url,
                json=body,
                timeout=self._options.timeout,
                stream=True,
                allow_redirects=False,
                auth=self._auth(url),
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

    def _auth(self, url: str) -> AuthBase | None:
        """The token for a request to the registry's own origin, else nothing.

        NOTE: checked per request, redirects included, so the token never follows a
        redirect to another host, whatever the redirect rules allow.
        """
        token = self._options.token
        if token is None or self._origin is None or not same_origin(url, self._origin):
            return None
        return _BearerAuth(token)

    def _read(self, response: requests.Response) -> Outcome | _Transient:
        status = response.status_code
        if status == 429 or (status >= 500 and status != 501):
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            return _Transient(f"HTTP {status}", retry_after=retry_after)
        body = self._read_body(response)
        try:
            if status != 200:
                # NOTE: only a 200 needs its body; a 404 is a 404 even if its page was cut.
                return Reply(status, _json_or_none(body) if isinstance(body, bytes) else None)
            if not isinstance(body, bytes):
                return body
            try:
                return Reply(status, json.loads(body))
            except (ValueError, RecursionError):
                kind = response.headers.get("Content-Type", "untyped").split(";")[0].strip()
                return _Transient(f"{kind or 'untyped'} body", bad_body=True)
        finally:
            # NOTE: held until parsed, since parsing is where a large answer costs most.
            if isinstance(body, bytes):
                self._budget.give(len(body))

    def _read_body(self, response: requests.Response) -> bytes | Failure | _Transient:
        limit = self._options.max_response_bytes
        too_large = Failure(f"response larger than {limit} bytes")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            return too_large
        chunks: list[bytes] = []
        size = 0
        try:
            # NOTE: counted after decompression, so a small gzip bomb is caught too.
            for chunk in response.iter_content(_CHUNK_BYTES):
                if size + len(chunk) > limit:
                    self._budget.give(size)
                    return too_large
                if not self._budget.take(len(chunk)):
                    self._budget.give(size)
                    held = self._budget.limit
                    return _Transient(f"answers held in memory would pass {held} bytes")
                size += len(chunk)
                chunks.append(chunk)
        except (OSError, ValueError) as error:
            self._budget.give(size)
            return _request_fault(error)
        return b"".join(chunks)


class _BearerAuth(AuthBase):
    """Sets ``Authorization: Bearer``; an explicit auth also keeps netrc from overriding it."""

    def __init__(self, token: Token) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token.reveal()}"
        return request


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs share scheme, host and port (default ports filled in).

    >>> same_origin("https://API.comfy.org:443/nodes", "https://api.comfy.org")
    True
    """
    return _origin(url) is not None and _origin(url) == _origin(other)


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        return None
    host = (parts.hostname or "").rstrip(".")
    return (scheme, host, port) if host and port else None


def redirect_refusal(
    method: str, status: int, source: str, target: str, allow: Callable[[str], bool]
) -> str | None:
    """Why a redirect from ``source`` to ``target`` must not be followed, or ``None``.

    >>> redirect_refusal("GET", 302, "https://a.org/x", "http://a.org/x", lambda url: True)
    'refused a redirect from https to http://a.org/x'
    """
    if urlsplit(source).scheme == "https" and urlsplit(target).scheme != "https":
        return f"refused a redirect from https to {target}"
    if not allow(target):
        return f"refused a redirect to {target}"
    if method != "GET" and status not in _KEEP_BODY_ON_REDIRECT:
        # NOTE: 301/302/303 would turn the bulk POST into a GET without its body.
        return f"refused an HTTP {status} redirect of a {method} request"
    return None


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


def _request_fault(error: OSError | ValueError) -> Failure | _Transient:
    """Translate an exception of requests (or below it) into a failure or a transient fault."""
    if isinstance(error, requests.exceptions.SSLError):
        return Failure(f"TLS error: {_one_line(error)}")
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return _Transient("timed out", unreachable=True)
    if isinstance(error, requests.Timeout):
        return _Transient("timed out")
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return _Transient("truncated body", bad_body=True)
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return _Transient("undecodable body", bad_body=True)
    if isinstance(error, requests.ConnectionError):
        return _connection_fault(error)
    return Failure(f"request failed: {_one_line(error)}")


def _connection_fault(error: requests.ConnectionError) -> _Transient:
    causes = _causes(error)

    def caused_by(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    if caused_by(ConnectionRefusedError):
        return _Transient("connection refused", unreachable=True)
    if caused_by(socket.gaierror, urllib3.exceptions.NameResolutionError):
        return _Transient("name resolution failed", unreachable=True)
    if caused_by(TimeoutError, urllib3.exceptions.TimeoutError):
        return _Transient("timed out")
    # NOTE: RemoteDisconnected is a ConnectionResetError, so it must be tested first.
    if caused_by(http.client.RemoteDisconnected):
        return _Transient("connection closed without an answer")
    if caused_by(ConnectionResetError):
        return _Transient("connection reset")
    if caused_by(urllib3.exceptions.NewConnectionError):
        return _Transient("connection failed", unreachable=True)
    return _Transient("connection failed")


def _causes(error: BaseException) -> list[BaseException]:
    """Return ``error`` and everything it wraps: causes, contexts, urllib3 reasons, args."""
    seen: list[BaseException] = []
    pending = [error]
    while pending and len(seen) < 32:
        current = pending.pop()
        if any(current is known for known in seen):
            continue
        seen.append(current)
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += list(current.args)
        pending += [item for item in linked if isinstance(item, BaseException)]
    return seen


def _what_failed(result: Failure | NotJson | _Transient) -> str:
    return result.detail if isinstance(result, NotJson) else result.reason


def _json_or_none(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:200] if text else type(error).__name__

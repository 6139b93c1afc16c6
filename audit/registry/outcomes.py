"""What one request comes to (`Outcome`), and the classification of what went wrong.

Every exception of requests (or below it) is turned into a `Failure` or a `Transient` fault
here, so none can escape the transport.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from audit.errors import describe_error

if TYPE_CHECKING:
    import requests

__all__ = [
    "Failure",
    "NotJson",
    "Outcome",
    "Reply",
    "Transient",
    "answered",
    "one_line",
    "request_fault",
    "what_failed",
]


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
class Transient:
    """A fault worth another attempt."""

    reason: str
    retry_after: float | None = None
    bad_body: bool = False
    """A 200 whose body was cut short or is not JSON: reported as `NotJson` in the end."""
    unreachable: bool = False
    """The host could not be reached at all, so other requests need not try it again."""


def one_line(error: BaseException) -> str:
    """`describe_error`, cut to 200 characters: exception texts of libraries can be long.

    >>> one_line(ValueError("x" * 300)) == "x" * 200
    True
    """
    return describe_error(error)[:200]


def answered(outcome: Outcome) -> Reply | str:
    """The 200 reply, or why ``outcome`` is none (a failure, a body not JSON, another status).

    >>> answered(Reply(503, None)), answered(NotJson("text/html body"))
    ('HTTP 503', 'not JSON: text/html body')
    """
    if isinstance(outcome, Failure):
        return outcome.reason
    if isinstance(outcome, NotJson):
        return f"not JSON: {outcome.detail}"
    return outcome if outcome.status == 200 else f"HTTP {outcome.status}"


def what_failed(result: Failure | NotJson | Transient) -> str:
    """The one-line reason of an attempt that got no answer."""
    return result.detail if isinstance(result, NotJson) else result.reason


def request_fault(error: OSError | ValueError) -> Failure | Transient:
    """Translate an exception of requests (or below it) into a failure or a transient fault."""
    # NOTE: imported here: a run that sends nothing (a warm cache) never loads requests (0.1 s).
    import requests

    if isinstance(error, requests.exceptions.SSLError):
        return Failure(f"TLS error: {one_line(error)}")
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return Transient("timed out", unreachable=True)
    if isinstance(error, requests.Timeout):
        return Transient("timed out")
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return Transient("truncated body", bad_body=True)
    if isinstance(error, requests.exceptions.ContentDecodingError):
        return Transient("undecodable body", bad_body=True)
    if isinstance(error, requests.ConnectionError):
        return _connection_fault(error)
    return Failure(f"request failed: {one_line(error)}")


def _connection_fault(error: requests.ConnectionError) -> Transient:
    import http.client
    import socket

    import urllib3.exceptions

    causes = _causes(error)

    def caused_by(*kinds: type[BaseException]) -> bool:
        return any(isinstance(cause, kinds) for cause in causes)

    if caused_by(ConnectionRefusedError):
        return Transient("connection refused", unreachable=True)
    if caused_by(socket.gaierror, urllib3.exceptions.NameResolutionError):
        return Transient("name resolution failed", unreachable=True)
    if caused_by(TimeoutError, urllib3.exceptions.TimeoutError):
        return Transient("timed out")
    # NOTE: RemoteDisconnected is a ConnectionResetError, so it must be tested first.
    if caused_by(http.client.RemoteDisconnected):
        return Transient("connection closed without an answer")
    if caused_by(ConnectionResetError):
        return Transient("connection reset")
    if caused_by(urllib3.exceptions.NewConnectionError):
        return Transient("connection failed", unreachable=True)
    return Transient("connection failed")


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

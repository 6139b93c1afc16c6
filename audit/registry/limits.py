"""Bounds on one request's time and on the answers held in memory, whatever a server does.

``requests``' timeout applies to each socket operation: a server that sends one byte a second
never trips it. :func:`deadline` bounds a whole attempt (connect, headers, body): when it
passes, the sockets the attempt uses are shut down, which ends any read blocked on them. A
:class:`ByteBudget` bounds the bytes of answers held at once by all the threads of a lookup.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

__all__ = ["ByteBudget", "Deadline", "DeadlineAdapter", "deadline"]

_current = threading.local()


class Deadline:
    """Represents the end of one attempt; the sockets it used are shut down when it passes."""

    def __init__(self) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    # NOTE: shutdown, not close: it wakes a read blocked in another thread, and the pool still
    # owns the descriptor.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[Deadline]:
    """Bound the requests this thread sends inside the block to ``seconds`` in all."""
    current = Deadline()
    timer = threading.Timer(seconds, current.expire)
    timer.daemon = True
    _current.deadline = current
    timer.start()
    try:
        yield current
    finally:
        timer.cancel()
        _current.deadline = None


def _watch(connection: HTTPConnection) -> None:
    current: Deadline | None = getattr(_current, "deadline", None)
    if current is not None:
        current.watch(connection.sock)


class _WatchedHTTP(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        # NOTE: the socket exists once the request is sent, whether new or reused from the pool;
        # the headers and the body are read after this.
        super().request(*args, **kwargs)
        _watch(self)


class _WatchedHTTPS(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _watch(self)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """An adapter whose connections a :func:`deadline` can end."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


class ByteBudget:
    """Bytes of answers that may be held in memory at once, shared by threads.

    A reader that would pass the budget is refused, not made to wait: an honest answer is a
    few KiB, and waiting could leave every thread holding part of the budget.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held = 0
        self._lock = threading.Lock()

    def take(self, count: int) -> bool:
        """Reserve ``count`` bytes; ``False`` (nothing reserved) when they would pass the limit."""
        with self._lock:
            if self._held + count > self.limit:
                return False
            self._held += count
            return True

    def give(self, count: int) -> None:
        with self._lock:
            self._held -= count

    @property
    def held(self) -> int:
        return self._held

"""Whole-request deadlines, decompression bombs and the bytes held at once, against real servers.

Each server here is hostile in one way a registry client must survive: it sends its answer a
byte at a time, nests gzip in gzip, or sends large answers to many threads at once.
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import pytest
from packaging.version import Version

from audit.registry.limits import ByteBudget
from audit.registry.transport import (
    Failure,
    Reply,
    RequestCounter,
    Transport,
    TransportOptions,
)

Handler = Callable[[socket.socket, threading.Event], None]


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], str]]:
    """``serve(handler)``: a loopback server running ``handler`` per connection; its URL."""
    stop = threading.Event()
    listeners: list[socket.socket] = []

    def start(handler: Handler) -> str:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def accept() -> None:
            while not stop.is_set():
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=_run, args=(handler, connection), daemon=True).start()

        def _run(handler: Handler, connection: socket.socket) -> None:
            with connection:
                connection.recv(65536)
                # NOTE: the client hangs up on purpose.
                with contextlib.suppress(OSError):
                    handler(connection, stop)

        threading.Thread(target=accept, daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


def transport(**options: object) -> Transport:
    settings: dict[str, object] = {
        "timeout": 1.0,
        "retries": 0,
        "backoff_base": 0.001,
        "retry_after_cap": 0.01,
        "max_response_bytes": 1 << 20,
        "user_agent": "test",
    } | options
    return Transport(
        TransportOptions(**settings),  # type: ignore[arg-type]
        RequestCounter(),
        allow=lambda url: True,
        trust_env=False,
    )


def drip(head: bytes, body: bytes) -> Handler:
    """Send the status line at once, then the rest one byte every 50 ms (the answer is honest:
    given 10 s it would complete; the client's --timeout is 1 s)."""

    def handler(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(head[:9])
        for byte in head[9:] + body:
            if stop.wait(0.05):
                return
            connection.sendall(bytes([byte]))

    return handler


BODY = b'{"ok": true}' + b" " * 100
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
ANSWER = HEAD + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(BODY)


@pytest.mark.parametrize(
    "answer",
    [(ANSWER, BODY), (ANSWER + BODY[:1], BODY[1:])],
    ids=["headers-drip", "body-drip"],
)
def test_a_slow_drip_server_is_given_up_on_after_the_timeout(
    serve: Callable[[Handler], str], answer: tuple[bytes, bytes]
) -> None:
    head, rest = answer
    url = serve(drip(head, rest))
    with transport(timeout=1.0) as t:
        outcome = t.send("GET", url + "/nodes/a/versions/1")
    assert outcome == Failure("timed out after 1 attempt")


def test_an_answer_within_the_timeout_is_read(serve: Callable[[Handler], str]) -> None:
    def prompt(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(ANSWER + BODY)

    with transport() as t:
        assert t.send("GET", serve(prompt) + "/x") == Reply(200, {"ok": True})
        assert t.budget.held == 0


def _zeros_gzipped(size: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    return b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()


def test_urllib3_is_new_enough_for_the_bomb_limits() -> None:
    assert Version(metadata.version("urllib3")) >= Version("2.6")


def test_a_nested_gzip_bomb_is_refused_in_bounded_memory(
    serve: Callable[[Handler], str], tmp_path: Path
) -> None:
    """``Content-Encoding: gzip, gzip``: a few KiB that inflate to 256 MiB."""
    bomb = gzip.compress(_zeros_gzipped(256 << 20), 9)
    assert len(bomb) < 64 * 1024
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip, gzip\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(bomb)
    )

    def handler(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(head + bomb)

    url = serve(handler)
    tracemalloc.start()
    try:
        with transport(timeout=30.0) as t:
            outcome = t.send("GET", url + "/x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert outcome == Failure(f"response larger than {1 << 20} bytes")
    assert peak < 32 << 20


def test_answers_held_at_once_are_bounded(serve: Callable[[Handler], str]) -> None:
    body = b"[" + b"0," * (100 * 1024) + b"0]"
    answer = HEAD + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body

    def handler(connection: socket.socket, stop: threading.Event) -> None:
        connection.sendall(answer)

    url = serve(handler)
    with transport(max_held_bytes=300 * 1024) as t:
        # NOTE: another thread holds most of the budget: this answer does not fit beside it.
        assert t.budget.take(200 * 1024)
        refused = t.send("GET", url + "/x")
        t.budget.give(200 * 1024)
        accepted = t.send("GET", url + "/x")
        assert t.budget.held == 0
    assert refused == Failure(
        f"answers held in memory would pass {300 * 1024} bytes after 1 attempt"
    )
    assert isinstance(accepted, Reply) and accepted.status == 200


def test_a_byte_budget() -> None:
    budget = ByteBudget(10)
    assert (budget.take(6), budget.take(5), budget.take(4), budget.held) == (True, False, True, 10)
    budget.give(10)
    assert budget.held == 0

"""Fixtures shared by every test package."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.registry_server import SAMPLE_RECORDS, RegistryServer


@pytest.fixture
def make_registry_server() -> Iterator[Callable[..., RegistryServer]]:
    """Start loopback registries: ``make_registry_server(records, bulk=False, ...)``.

    Takes the arguments of `RegistryServer`. Every server stops at teardown, and a test fails
    if a request handler raised (a bug in the test's data or in the server).
    """
    servers: list[RegistryServer] = []

    def make(records: Any = SAMPLE_RECORDS, **options: Any) -> RegistryServer:
        server = RegistryServer(records, **options).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
    errors = [error for server in servers for error in server.errors]
    assert not errors, "\n".join(errors)


@pytest.fixture
def registry_server(make_registry_server: Callable[..., RegistryServer]) -> RegistryServer:
    """A running loopback registry serving `SAMPLE_RECORDS`, with the bulk route."""
    return make_registry_server()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    """A registry cache folder of this test's own (not created yet: the cache makes it)."""
    return tmp_path / "registry-cache"


@pytest.fixture(autouse=True)
def no_user_cache_or_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Keep tests off the user's real cache folder and away from a token in the environment."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.delenv("COMFY_AUDIT_TOKEN", raising=False)


def _is_loopback(host: object) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every name lookup and connection that is not loopback: tests never go online."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(host):
            raise socket.gaierror(f"tests may not resolve {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def refuse_online(address: Any) -> None:
        if isinstance(address, tuple) and not _is_loopback(address[0]):
            raise ConnectionRefusedError(f"tests may not connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        refuse_online(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        refuse_online(address)
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    # NOTE: a comfy-audit started as a subprocess does not inherit the patches above; its
    # requests to anything but loopback go to a proxy that is not there, and fail.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost,::1")

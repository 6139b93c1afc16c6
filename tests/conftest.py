"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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

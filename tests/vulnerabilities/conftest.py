"""Fixtures of the vulnerability tests: a loopback OSV server and the offline databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.osv_server import OsvServer
from tests.vulnerabilities.support import RECORDS, write_folder, write_zip


@pytest.fixture
def make_osv_server() -> Iterator[Callable[..., OsvServer]]:
    """Start loopback OSV servers (the arguments of `OsvServer`); a handler error fails the
    test."""
    servers: list[OsvServer] = []

    def make(records: Any = RECORDS, **options: Any) -> OsvServer:
        server = OsvServer(records, **options)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
    errors = [error for server in servers for error in server.errors]
    assert not errors, "\n".join(errors)


@pytest.fixture
def osv_zip(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "all.zip", RECORDS)


@pytest.fixture
def osv_folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "osv", RECORDS)

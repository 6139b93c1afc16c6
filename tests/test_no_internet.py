"""The tests' guard (`tests.conftest.no_internet`) keeps every test off the internet: the real
registry and OSV are named in many tests, and none may reach them, in this process or in a
comfy-audit started as a subprocess."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
import requests

ONLINE = ["https://api.comfy.org/nodes", "https://api.osv.dev/v1/querybatch"]


@pytest.mark.parametrize("url", ONLINE)
def test_requests_in_this_process_never_leave_the_machine(url: str) -> None:
    # NOTE: requests goes to the proxy the guard names, which is not there.
    with pytest.raises(requests.exceptions.ProxyError, match=r"127\.0\.0\.1', port=9\)"):
        requests.get(url, timeout=5)


@pytest.mark.parametrize("url", ONLINE)
def test_requests_without_a_proxy_never_resolve_an_online_name(url: str) -> None:
    with requests.Session() as session:
        session.trust_env = False
        with pytest.raises(requests.ConnectionError, match="tests may not resolve"):
            session.get(url, timeout=5)


@pytest.mark.parametrize("address", [("api.comfy.org", 443), ("api.osv.dev", 443)])
def test_sockets_never_resolve_an_online_name(address: tuple[str, int]) -> None:
    with pytest.raises(socket.gaierror, match="tests may not resolve"):
        socket.create_connection(address, timeout=5)


@pytest.mark.parametrize("connect", ["connect", "connect_ex"])
def test_sockets_never_connect_to_an_online_address(connect: str) -> None:
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError, match="may not connect"):
        getattr(sock, connect)(("192.0.2.1", 443))


@pytest.mark.parametrize("url", ONLINE)
def test_a_subprocess_reaches_only_the_proxy_that_is_not_there(url: str) -> None:
    script = (
        "import requests, sys\n"
        "try:\n"
        f"    requests.get({url!r}, timeout=5)\n"
        "except requests.exceptions.ProxyError:\n"
        "    print('refused by the missing proxy')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, "refused by the missing proxy\n")

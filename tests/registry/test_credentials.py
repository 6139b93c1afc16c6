"""Tests of the registry token and TLS options: where the token goes, where it never shows."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from audit.errors import InputError
from audit.model import Failed, NodeKey
from audit.registry import HttpRegistry, list_all_versions, load_token, open_registry
from audit.registry.credentials import Token
from audit.registry.transport import Reply, RequestCounter, Transport, TransportOptions
from tests.registry.support import comparable, fast_registry, found, keys_of
from tests.registry_server import (
    BULK_PATH,
    SAMPLE_RECORDS,
    LoggedRequest,
    RegistryServer,
    version_path,
)

MakeServer = Callable[..., RegistryServer]

TOKEN = "cat-tok_3n.S3cret~value"
BANNED = SAMPLE_RECORDS[3]
BANNED_KEY = NodeKey(BANNED["node_id"], BANNED["version"])
BANNED_PATH = version_path(BANNED_KEY.node_id, BANNED_KEY.version)


def authorization(request: LoggedRequest) -> str | None:
    return {k.lower(): v for k, v in request.headers.items()}.get("authorization")


# -- where the token comes from ----------------------------------------------------------------


def test_the_token_comes_from_the_environment() -> None:
    assert load_token({"COMFY_AUDIT_TOKEN": f"  {TOKEN}\n"}) == TOKEN
    assert load_token({"COMFY_AUDIT_TOKEN": "  "}) is None
    assert load_token({}) is None


def test_a_token_file_beats_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"{TOKEN}\n", encoding="utf-8")
    assert load_token({"COMFY_AUDIT_TOKEN": "other"}, path) == TOKEN
    assert load_token({}, str(path)) == TOKEN


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read it: no such file or directory"),
        ("", "empty"),
        (" \n\n", "empty"),
        (f"{TOKEN}\n{TOKEN}\n", "the token must be one line"),
        (f"{TOKEN} {TOKEN}", "the token must be one line"),
        ("t\u00f6ken", "visible ASCII"),
        ("x" * 5000, "at most 4096"),
    ],
    ids=["missing", "empty", "blank", "two-lines", "space", "not-ascii", "huge"],
)
def test_a_bad_token_file_is_an_input_error_without_the_token(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "token"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_token({}, path)
    message = str(caught.value)
    assert message.startswith(f"token file {str(path)!r}: ") and problem in message
    assert TOKEN not in message and "\n" not in message
    assert caught.value.__cause__ is None


def test_a_bad_token_in_the_environment_is_an_input_error_without_the_token() -> None:
    with pytest.raises(InputError) as caught:
        load_token({"COMFY_AUDIT_TOKEN": f"{TOKEN}\r\nX-Evil: 1"})
    assert str(caught.value).startswith("COMFY_AUDIT_TOKEN: the token must be one line")
    assert TOKEN not in str(caught.value)


def test_the_token_never_shows_in_a_repr() -> None:
    token = Token(TOKEN)
    registry = HttpRegistry("https://api.comfy.org", token=TOKEN)
    for text in (repr(token), str(token), repr(vars(registry)), repr(registry._options)):
        assert TOKEN not in text
    with pytest.raises(ValueError) as caught:
        Token(f"{TOKEN}\n")
    assert TOKEN not in str(caught.value)


# -- where the token goes ----------------------------------------------------------------------


def test_the_token_goes_to_the_registry(make_registry_server: MakeServer) -> None:
    server = make_registry_server(bulk=False)
    registry = fast_registry(server.url, token=TOKEN)

    results = registry.lookup(keys_of(SAMPLE_RECORDS))

    assert comparable(results)[BANNED_KEY] == found(BANNED)
    assert {authorization(r) for r in server.requests} == {f"Bearer {TOKEN}"}
    assert {r.path for r in server.requests} >= {BULK_PATH, BANNED_PATH}


def test_no_token_no_authorization_header(registry_server: RegistryServer) -> None:
    fast_registry(registry_server.url).lookup(keys_of(SAMPLE_RECORDS))
    assert [authorization(r) for r in registry_server.requests] == [None]


def test_the_token_reaches_the_listing_and_open_registry(make_registry_server: MakeServer) -> None:
    server = make_registry_server()
    list(list_all_versions(server.url, token=TOKEN))
    open_registry(server.url, token=TOKEN).lookup([BANNED_KEY])
    assert [authorization(r) for r in server.requests] == [f"Bearer {TOKEN}"] * 2


def test_a_redirect_to_another_host_is_refused_and_gets_no_token(
    make_registry_server: MakeServer,
) -> None:
    server, elsewhere = make_registry_server(bulk=False), make_registry_server(bulk=False)
    server.fail(BANNED_PATH, "redirect", location=elsewhere.url + BANNED_PATH)

    results = fast_registry(server.url, token=TOKEN).lookup([BANNED_KEY])

    assert results == {BANNED_KEY: Failed(f"refused a redirect to {elsewhere.url}{BANNED_PATH}")}
    assert elsewhere.requests == []


def test_even_a_followed_redirect_to_another_port_gets_no_token(
    make_registry_server: MakeServer,
) -> None:
    # NOTE: a transport that would follow any redirect: the token rule must hold on its own.
    server, elsewhere = make_registry_server(bulk=False), make_registry_server(bulk=False)
    server.fail(BANNED_PATH, "redirect", status=307, location=elsewhere.url + BANNED_PATH)
    server.fail("/back", "redirect", status=307, location=elsewhere.url + "/away")
    elsewhere.fail("/away", "redirect", status=307, location=server.url + BANNED_PATH)
    options = TransportOptions(1.0, 0, 0.001, 0.01, 1 << 20, "test", token=Token(TOKEN))

    with Transport(
        options, RequestCounter(), allow=lambda url: True, trust_env=False, origin=server.url
    ) as t:
        outcome = t.send("GET", server.url + BANNED_PATH)
        back = t.send("GET", server.url + "/back")

    assert isinstance(outcome, Reply) and outcome.status == 200
    assert isinstance(back, Reply) and back.status == 200
    assert [authorization(r) for r in server.requests] == [f"Bearer {TOKEN}"] * 3
    assert [authorization(r) for r in elsewhere.requests] == [None, None]


def test_the_token_is_never_logged(
    make_registry_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_registry_server(bulk=False)
    server.fail(BANNED_PATH, "status", times=3, status=503)
    server.fail(BULK_PATH, "reset")
    caplog.set_level(logging.DEBUG)

    results = fast_registry(server.url, token=TOKEN, retries=2).lookup(keys_of(SAMPLE_RECORDS))

    assert results[BANNED_KEY] == Failed("HTTP 503 after 3 attempts")
    assert caplog.records  # urllib3 logs every request at debug level
    assert TOKEN not in caplog.text
    assert all(TOKEN not in repr(result) for result in results.values())


# -- TLS ---------------------------------------------------------------------------------------


def verify_used(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the ``verify`` setting requests settles on for every request sent."""
    seen: list[Any] = []
    original = requests.Session.merge_environment_settings

    def spy(self: requests.Session, *args: Any, **kwargs: Any) -> Any:
        settings = original(self, *args, **kwargs)
        seen.append((self.verify, settings["verify"]))
        return settings

    monkeypatch.setattr(requests.Session, "merge_environment_settings", spy)
    return seen


def test_a_ca_bundle_reaches_every_request(
    registry_server: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n", encoding="utf-8")
    seen = verify_used(monkeypatch)

    open_registry(registry_server.url, ca_bundle=bundle).lookup(keys_of(SAMPLE_RECORDS))

    assert seen == [(str(bundle), str(bundle))]


def test_verification_is_on_by_default(
    registry_server: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = verify_used(monkeypatch)
    open_registry(registry_server.url).lookup(keys_of(SAMPLE_RECORDS))
    assert seen == [(True, True)]


def test_a_missing_ca_bundle_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(InputError) as caught:
        open_registry("https://api.comfy.org", ca_bundle=missing)
    assert str(caught.value) == f"CA bundle {str(missing)!r}: no such file"
    with pytest.raises(InputError, match="CA bundle"):
        open_registry("https://api.comfy.org", ca_bundle=tmp_path)  # a folder
    with pytest.raises(ValueError, match="no such file"):
        HttpRegistry("https://api.comfy.org", ca_bundle=missing)

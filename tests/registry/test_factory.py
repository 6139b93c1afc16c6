"""Tests of open_registry: which ``--registry`` values give which registry, which are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import InputError, MirrorError
from audit.registry import HttpRegistry, MirrorRegistry, open_registry


@pytest.mark.parametrize(
    ("spec", "base_url"),
    [
        ("https://api.comfy.org", "https://api.comfy.org"),
        ("https://api.comfy.org/", "https://api.comfy.org"),
        ("https://mirror.example.com:8443/registry/", "https://mirror.example.com:8443/registry"),
        ("HTTPS://api.comfy.org", "HTTPS://api.comfy.org"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://127.4.5.6/", "http://127.4.5.6"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://LocalHost", "http://LocalHost"),
    ],
)
def test_urls_give_an_http_registry(spec: str, base_url: str) -> None:
    registry = open_registry(spec)
    assert isinstance(registry, HttpRegistry)
    assert registry.base_url == base_url


@pytest.mark.parametrize(
    "spec",
    [
        "http://api.comfy.org",
        "http://10.0.0.5:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "http://[::2]",
    ],
)
def test_plain_http_elsewhere_needs_the_flag(spec: str) -> None:
    with pytest.raises(InputError) as caught:
        open_registry(spec)
    message = str(caught.value)
    assert "--allow-insecure-http" in message and spec in message
    assert "\n" not in message
    assert isinstance(open_registry(spec, allow_insecure_http=True), HttpRegistry)


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("ftp://api.comfy.org", "use https://"),
        ("file:///srv/mirror.jsonl", "use https://"),
        ("s3://bucket/mirror.jsonl", "use https://"),
        ("https://", "no host"),
        ("https://api.comfy.org:port", "bad port"),
        ("https://api.comfy.org/?x=1", "must not hold a query"),
        ("https://user:secret@api.comfy.org", "must not hold a query, fragment or user name"),
    ],
)
def test_unusable_urls_are_input_errors(spec: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        open_registry(spec)


def test_http_options_reach_the_client() -> None:
    registry = open_registry("https://api.comfy.org", timeout=3.0, concurrency=2, retries=0)
    assert isinstance(registry, HttpRegistry)
    with pytest.raises(TypeError):
        open_registry("https://api.comfy.org", no_such_option=1)


def test_options_out_of_range_are_input_errors() -> None:
    with pytest.raises(InputError, match=r"registry options: .* must be > 0"):
        open_registry("https://api.comfy.org", concurrency=0)


def test_anything_else_is_a_mirror_file(tmp_path: Path) -> None:
    path = tmp_path / "mirror.jsonl"
    path.write_text('{"node_id": "a", "version": "1"}\n', encoding="utf-8")
    assert isinstance(open_registry(str(path)), MirrorRegistry)
    with pytest.raises(MirrorError, match="cannot read the mirror file"):
        open_registry(str(tmp_path / "missing.jsonl"))

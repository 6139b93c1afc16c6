"""A snapshot's pips, and the git URLs of its git entries."""

from __future__ import annotations

import json

import pytest

from audit.manifest import read_manifest
from audit.manifest.gitsource import repository_name, strip_credentials
from audit.manifest.pips import parse_freeze_line
from tests.manifest.helpers import Write

PIPS: list[tuple[str, dict[str, str | None], dict[str, str | None]]] = [
    ("freeze-pin", {"numpy==1.26.4": ""}, {"numpy": "1.26.4"}),
    ("name-kept-as-written", {"Jinja2==3.1.4": ""}, {"Jinja2": "3.1.4"}),
    ("url-line", {"sam2 @ git+https://github.com/x/sam2@2b90b9f": ""}, {"sam2": None}),
    ("old-style", {"numpy": "1.26.4"}, {"numpy": "1.26.4"}),
    ("old-style-git-url", {"cstr": "git+https://github.com/x/cstr@0520c29"}, {"cstr": None}),
    ("old-style-file-url", {"attrs": "file:///tmp/croot/attrs_1734/work"}, {"attrs": None}),
    (
        "old-style-https-wheel",
        {"xx": "https://x.org/xx-3.8.0-py3-none-any.whl#sha256=1b"},
        {"xx": None},
    ),
    (
        "editable-with-egg",
        {"-e git+https://github.com/thu-ml/SageAttention@073f403#egg=sageattention": ""},
        {"sageattention": None},
    ),
    ("editable-without-egg", {"-e git+ssh://git@x.org/y.git@87ed7c8": ""}, {}),
    ("extras", {"uvicorn[standard]==0.30.0": ""}, {"uvicorn": "0.30.0"}),
    ("arbitrary-equality", {"pkg===1.0-local": ""}, {"pkg": "1.0-local"}),
    ("freeze-comment", {"# Editable install with no version control (x==1)": ""}, {}),
    ("null-value", {"numpy": None}, {"numpy": None}),
    ("bare-name", {"numpy": ""}, {"numpy": None}),
    ("first-wins", {"numpy==1.0": "", "numpy==2.0": ""}, {"numpy": "1.0"}),
    ("empty", {}, {}),
]


@pytest.mark.parametrize(("pips", "expected"), [c[1:] for c in PIPS], ids=[c[0] for c in PIPS])
def test_pips(write: Write, pips: dict[str, str | None], expected: dict[str, str | None]) -> None:
    manifest = read_manifest(write("s.json", json.dumps({"comfyui": None, "pips": pips})))
    assert manifest.pips == expected


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("s.json", '{"comfyui": null}'),
        ("s.json", '{"comfyui": null, "pips": null}'),
        ("s.yaml", "custom_nodes:\n  pips:\n"),
    ],
    ids=["absent", "null", "yaml-empty"],
)
def test_pips_unknown(write: Write, name: str, content: str) -> None:
    assert read_manifest(write(name, content)).pips is None


def test_parse_freeze_line() -> None:
    assert parse_freeze_line("  numpy == 1.26.4  ") == ("numpy", "1.26.4")
    assert parse_freeze_line("torch==2.5.1+cu124") == ("torch", "2.5.1+cu124")
    assert parse_freeze_line("!!!") is None


GIT_URLS: list[tuple[str, str, str, str]] = [
    (
        "https-dot-git",
        "https://github.com/owner/ComfyUI-Foo.git",
        "ComfyUI-Foo",
        "https://github.com/owner/ComfyUI-Foo.git",
    ),
    (
        "trailing-slash",
        "https://github.com/owner/ComfyUI-Foo/",
        "ComfyUI-Foo",
        "https://github.com/owner/ComfyUI-Foo/",
    ),
    ("dot-git-and-slash", "https://github.com/o/r.git/", "r", "https://github.com/o/r.git/"),
    (
        "user-and-token",
        "https://user:tok@github.com/owner/repo",
        "repo",
        "https://github.com/owner/repo",
    ),
    (
        "token-only",
        "https://ghp_abc@github.com/owner/repo.git",
        "repo",
        "https://github.com/owner/repo.git",
    ),
    ("at-in-password", "https://u:p@ss@github.com/o/r", "r", "https://github.com/o/r"),
    ("scp-like", "git@github.com:owner/repo.git", "repo", "git@github.com:owner/repo.git"),
    (
        "ssh-with-port",
        "ssh://git@host.example:2222/owner/repo.git",
        "repo",
        "ssh://host.example:2222/owner/repo.git",
    ),
    (
        "query",
        "https://github.com/o/repo.git?ref=main",
        "repo",
        "https://github.com/o/repo.git?ref=main",
    ),
    ("local-path", "/opt/repos/local-pack", "local-pack", "/opt/repos/local-pack"),
    ("windows-path", "C:\\repos\\win-pack", "win-pack", "C:\\repos\\win-pack"),
    ("surrounding-space", " https://github.com/o/r ", "r", "https://github.com/o/r"),
]


@pytest.mark.parametrize(
    ("url", "name", "clean"), [c[1:] for c in GIT_URLS], ids=[c[0] for c in GIT_URLS]
)
def test_git_entries(write: Write, url: str, name: str, clean: str) -> None:
    content = json.dumps({"git_custom_nodes": {url: {"hash": "abc", "disabled": False}}})
    [entry] = read_manifest(write("s.json", content)).entries
    assert (entry.node_id, entry.version, entry.hash, entry.url) == (name, "abc", "abc", clean)


def test_url_helpers() -> None:
    assert strip_credentials("https://github.com/a/b") == "https://github.com/a/b"
    assert repository_name("https://github.com/") == ""
    assert repository_name("https://github.com") == ""

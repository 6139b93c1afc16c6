"""Tests for audit.environment: detection, overrides and the profile format."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from audit.environment import (
    detect,
    load_profile,
    normalize_accelerator,
    normalize_os,
    override,
    profile_from_dict,
    profile_to_dict,
)
from audit.errors import InputError, ProfileError
from audit.model import Environment


def probes(answers: dict[str, str]) -> Callable[[list[str]], str | None]:
    """A fake probe runner: the command's first word → its stdout; anything else is missing."""

    def run(argv: list[str]) -> str | None:
        return answers.get(argv[0])

    return run


@pytest.mark.parametrize(
    ("system", "machine", "answers", "os_name", "accelerators"),
    [
        ("Linux", "x86_64", {}, "linux", {"cpu"}),
        (
            "Linux",
            "x86_64",
            {"nvidia-smi": "GPU 0: NVIDIA A100 (UUID: GPU-1)\n"},
            "linux",
            {"cuda", "cpu"},
        ),
        ("Linux", "x86_64", {"nvidia-smi": "No devices were found\n"}, "linux", {"cpu"}),
        (
            "Linux",
            "x86_64",
            {"rocm-smi": "GPU[0] : Card series: Instinct MI210\n"},
            "linux",
            {"rocm", "cpu"},
        ),
        ("Darwin", "arm64", {}, "macos", {"metal", "cpu"}),
        ("Darwin", "x86_64", {}, "macos", {"cpu"}),
        ("Windows", "AMD64", {"nvidia-smi": "GPU 0: RTX 4090\n"}, "windows", {"cuda", "cpu"}),
        ("FreeBSD", "amd64", {}, None, {"cpu"}),
    ],
    ids=[
        "linux-cpu",
        "linux-cuda",
        "nvidia-smi-no-gpu",
        "linux-rocm",
        "apple-silicon",
        "intel-mac",
        "windows-cuda",
        "unknown-os",
    ],
)
def test_detect(
    system: str, machine: str, answers: dict[str, str], os_name: str | None, accelerators: set[str]
) -> None:
    env = detect(system=system, machine=machine, run=probes(answers))
    assert (env.os, env.accelerators) == (os_name, frozenset(accelerators))
    assert env.comfyui_version is None and env.python_version is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Linux", "linux"), ("darwin", "macos"), ("win32", "windows"), (" macOS ", "macos")],
)
def test_normalize_os(text: str, expected: str) -> None:
    assert normalize_os(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("CUDA", "cuda"), ("mps", "metal"), ("xpu", "intel"), ("npu", "ascend"), ("rocm", "rocm")],
)
def test_normalize_accelerator(text: str, expected: str) -> None:
    assert normalize_accelerator(text) == expected


def test_unknown_names_are_input_errors() -> None:
    with pytest.raises(
        InputError, match=r"unknown OS 'beos': expected one of linux, windows, macos"
    ):
        normalize_os("beos")
    with pytest.raises(InputError, match=r"unknown accelerator 'directml'"):
        normalize_accelerator("directml")


def test_override_keeps_cpu_and_records_sources() -> None:
    env = override(
        Environment(os="linux", sources={"os": "detected"}),
        "flag",
        accelerators=["cuda"],
        comfyui_version="0.3.40",
        os=None,
    )
    assert env.accelerators == frozenset({"cuda", "cpu"})
    assert env.os == "linux"
    assert dict(env.sources) == {
        "os": "detected",
        "accelerators": "flag",
        "comfyui_version": "flag",
    }


def test_profile_round_trip(tmp_path: Path) -> None:
    env = Environment(
        os="windows",
        accelerators=frozenset({"cuda", "cpu"}),
        comfyui_version="0.3.40",
        frontend_version="1.20.5",
        target_comfyui="0.4.0",
    )
    path = tmp_path / "host.env.json"
    path.write_text(json.dumps(profile_to_dict(env)))
    loaded = load_profile(path)
    assert profile_to_dict(loaded) | {"sources": {}} == profile_to_dict(env) | {"sources": {}}
    assert set(loaded.sources.values()) == {"profile"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "p.json: expected a JSON object (the output of `comfy-audit env`)"),
        ({"os": 3}, "p.json: 'os' must be a string or null, not 3"),
        ({"os": "beos"}, "p.json: unknown OS 'beos': expected one of linux, windows, macos"),
        ({"accelerators": "cuda"}, "p.json: 'accelerators' must be a list of strings"),
        ({"comfyui_version": 0.3}, "p.json: 'comfyui_version' must be a string or null, not 0.3"),
    ],
    ids=["not-object", "os-type", "os-unknown", "accelerators-type", "version-type"],
)
def test_bad_profiles(data: object, message: str) -> None:
    with pytest.raises(ProfileError) as caught:
        profile_from_dict(data, "p.json")
    assert str(caught.value) == message


def test_unreadable_profiles(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"missing\.json: cannot read the profile"):
        load_profile(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ProfileError, match=r"bad\.json: not JSON"):
        load_profile(bad)

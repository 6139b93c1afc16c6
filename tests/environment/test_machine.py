"""Tests for audit.environment.machine: detecting this machine's OS and accelerators."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from audit.environment.machine import detect


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

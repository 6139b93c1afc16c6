"""Tests for the OS and accelerator vocabularies of audit.checks.platform."""

from __future__ import annotations

import pytest

from audit.checks.platform import accelerator_name, os_names

ANY = {"linux", "windows", "macos"}


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("OS Independent", ANY),
        ("os independent", ANY),
        ("Microsoft :: Windows", {"windows"}),
        ("Microsoft :: Windows :: Windows 10", {"windows"}),
        ("Microsoft", {"windows"}),
        ("POSIX :: Linux", {"linux"}),
        ("POSIX :: Linux :: Ubuntu", {"linux"}),
        ("POSIX", {"linux", "macos"}),
        ("MacOS", {"macos"}),
        ("MacOS :: MacOS X", {"macos"}),
        ("Operating System :: POSIX :: Linux", {"linux"}),
        ("POSIX::Linux", {"linux"}),
        ("Windows", {"windows"}),
        ("Windows 11", {"windows"}),
        ("Linux", {"linux"}),
        ("Ubuntu", {"linux"}),
        ("Ubuntu 22.04", {"linux"}),
        ("Debian", {"linux"}),
        ("CentOS", {"linux"}),
        ("macOS", {"macos"}),
        ("Mac", {"macos"}),
        ("Darwin", {"macos"}),
        ("  LINUX  ", {"linux"}),
        ("Unix", None),
        ("POSIX :: BSD :: FreeBSD", None),
        ("Microsoft :: MS-DOS", None),
        ("Linuxish", None),
        ("", None),
    ],
    ids=lambda value: repr(value) if isinstance(value, str) else None,
)
def test_os_names(word: str, expected: set[str] | None) -> None:
    assert os_names(word) == (frozenset(expected) if expected is not None else None)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("GPU :: NVIDIA CUDA", "cuda"),
        ("GPU :: NVIDIA CUDA :: 12", "cuda"),
        ("Environment :: GPU :: NVIDIA CUDA", "cuda"),
        ("CUDA", "cuda"),
        ("cuda 12.1", "cuda"),
        ("NVIDIA", "cuda"),
        ("GPU :: AMD ROCm", "rocm"),
        ("ROCm", "rocm"),
        ("AMD", "rocm"),
        ("GPU :: Intel Arc", "intel"),
        ("Intel Arc", "intel"),
        ("XPU", "intel"),
        ("NPU :: Huawei Ascend", "ascend"),
        ("Ascend", "ascend"),
        ("NPU", "ascend"),
        ("GPU :: Apple Metal", "metal"),
        ("Metal", "metal"),
        ("MPS", "metal"),
        ("CPU", "cpu"),
        ("DirectML", None),
        ("OpenCL", None),
        ("GPU", None),
        ("Intel", None),
        ("CUDA-less OpenCL", None),
        ("GPU :: NVIDIA CUDAish", None),
    ],
    ids=lambda value: repr(value) if isinstance(value, str) else None,
)
def test_accelerator_name(word: str, expected: str | None) -> None:
    assert accelerator_name(word) == expected

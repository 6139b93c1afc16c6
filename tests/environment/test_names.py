"""Tests for audit.environment.names: the canonical OS and accelerator names."""

from __future__ import annotations

import pytest

from audit.environment.names import normalize_accelerator, normalize_os
from audit.errors import InputError


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

"""The canonical names of operating systems and accelerators, and the aliases accepted for them."""

from __future__ import annotations

from collections.abc import Iterable

from audit.errors import InputError

__all__ = [
    "ACCELERATORS",
    "OPERATING_SYSTEMS",
    "OS_ALIASES",
    "normalize_accelerator",
    "normalize_os",
    "with_cpu",
]

OPERATING_SYSTEMS = ("linux", "windows", "macos")
ACCELERATORS = ("cuda", "rocm", "intel", "ascend", "metal", "cpu")

OS_ALIASES = {
    "linux": "linux",
    "windows": "windows",
    "win32": "windows",
    "nt": "windows",
    "macos": "macos",
    "darwin": "macos",
    "mac": "macos",
    "osx": "macos",
}
"""Lower-case OS name (``platform.system()``, ``sys.platform``, ``os.name``) → canonical name."""
# NOTE: torch device names are accepted too, as DESIGN.md asks (xpu, npu, mps).
_ACCELERATOR_ALIASES = {
    **{name: name for name in ACCELERATORS},
    "xpu": "intel",
    "npu": "ascend",
    "mps": "metal",
    "hip": "rocm",
}


def normalize_os(text: str) -> str:
    """Return the canonical OS name for ``text`` (``Darwin`` → ``macos``).

    :raises InputError: for a name that is not an OS comfy-audit knows.
    """
    try:
        return OS_ALIASES[text.strip().lower()]
    except KeyError:
        raise InputError(
            f"unknown OS {text!r}: expected one of {', '.join(OPERATING_SYSTEMS)}"
        ) from None


def normalize_accelerator(text: str) -> str:
    """Return the canonical accelerator name for ``text`` (``mps`` → ``metal``).

    :raises InputError: for a name that is not an accelerator comfy-audit knows.
    """
    try:
        return _ACCELERATOR_ALIASES[text.strip().lower()]
    except KeyError:
        expected = ", ".join((*ACCELERATORS, "xpu", "npu", "mps"))
        raise InputError(f"unknown accelerator {text!r}: expected one of {expected}") from None


def with_cpu(accelerators: Iterable[str]) -> frozenset[str]:
    """Return ``accelerators`` with ``cpu``: every machine can run a pack on its CPU.

    >>> sorted(with_cpu(["cuda"]))
    ['cpu', 'cuda']
    """
    return frozenset(accelerators) | {"cpu"}

"""Detect this machine's OS and accelerators, with a few probe commands and nothing heavy."""

from __future__ import annotations

import platform
import shutil
import subprocess
from collections.abc import Callable

from audit.environment.names import OS_ALIASES, with_cpu
from audit.model import Environment

__all__ = ["Runner", "detect"]

Runner = Callable[[list[str]], str | None]
"""Runs a probe command and returns its stdout, or ``None`` if it is missing or fails."""

_PROBE_TIMEOUT_S = 5.0


def _run_probe(argv: list[str]) -> str | None:
    """Run a probe command and return its stdout, or ``None`` if it is missing or fails."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=_PROBE_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def _detect_accelerators(system: str, machine: str, run: Runner) -> tuple[frozenset[str], str]:
    found: list[str] = []
    nvidia = run(["nvidia-smi", "-L"])
    if nvidia and "GPU" in nvidia:
        found.append("cuda")
    rocm = run(["rocm-smi", "--showproductname"])
    if rocm and "GPU" in rocm:
        found.append("rocm")
    if system == "Darwin" and machine == "arm64":
        found.append("metal")
    how = "+".join(["nvidia-smi"] * ("cuda" in found) + ["rocm-smi"] * ("rocm" in found))
    return with_cpu(found), how or "detected"


def detect(
    *,
    system: str | None = None,
    machine: str | None = None,
    run: Runner = _run_probe,
) -> Environment:
    """Detect this machine's OS and accelerators without importing anything heavy.

    ComfyUI and frontend versions are not detected here; they come from flags, a profile or an
    install scan.
    """
    system = system or platform.system()
    machine = machine or platform.machine()
    os_name = OS_ALIASES.get(system.lower())
    accelerators, how = _detect_accelerators(system, machine, run)
    # NOTE: python_version stays unknown: this interpreter is comfy-audit's, not the install's.
    sources = {"accelerators": how}
    if os_name:
        sources["os"] = "detected"
    return Environment(
        os=os_name,
        accelerators=accelerators,
        sources=sources,
    )

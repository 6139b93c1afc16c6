"""The torch build an environment has installed, and the accelerators its metadata says it uses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.markers import UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = ["TorchBuild", "torch_accelerators"]

_LOCAL_WORD = re.compile(r"[a-z]+(?=[0-9]*$)", re.ASCII)
_LOCAL_ACCELERATORS = {"cu": "cuda", "rocm": "rocm", "xpu": "intel", "cpu": "cpu"}
_APPLE_SILICON = ("arm64", "aarch64")
_MARKER_PLATFORMS = {
    "linux": {"platform_system": "Linux", "sys_platform": "linux", "os_name": "posix"},
    "windows": {"platform_system": "Windows", "sys_platform": "win32", "os_name": "nt"},
    "macos": {"platform_system": "Darwin", "sys_platform": "darwin", "os_name": "posix"},
}


@dataclass(frozen=True)
class TorchBuild:
    """Represents the torch distribution installed in an interpreter, as its metadata says."""

    version: str
    """The version as installed, local segment included (``2.7.1+cu126``)."""
    requires: tuple[str, ...]
    """Its ``Requires-Dist`` lines, as written."""


def torch_accelerators(
    torch: TorchBuild, *, os_name: str | None, arch: str, python_version: str | None = None
) -> frozenset[str] | None:
    """Return the accelerators a torch build can use, from its metadata; ``None`` if it won't say.

    The local version segment names the build (``+cu126``, ``+rocm6.2``, ``+xpu``, ``+cpu``).
    Without one, ``Requires-Dist`` on ``nvidia-*`` packages (for this platform) means CUDA, and
    a torch on Apple silicon uses Metal.

    :param os_name: the canonical OS the build runs on, for the markers of its requirements.
    :param arch: the machine architecture (``platform.machine()``).
    :param python_version: the interpreter's version, for the markers of its requirements.

    >>> sorted(torch_accelerators(TorchBuild("2.7.1+cu126", ()), os_name="linux", arch="x86_64"))
    ['cpu', 'cuda']
    >>> torch_accelerators(TorchBuild("2.7.1", ()), os_name="linux", arch="x86_64") is None
    True
    """
    local = torch.version.partition("+")[2].lower()
    word = _LOCAL_WORD.match(re.split(r"[._-]", local)[0])
    if word is not None and word.group() in _LOCAL_ACCELERATORS:
        return frozenset({_LOCAL_ACCELERATORS[word.group()], "cpu"})
    marker_env = _marker_environment(os_name, arch, python_version)
    if any(_is_nvidia(line, marker_env) for line in torch.requires):
        return frozenset({"cuda", "cpu"})
    if os_name == "macos" and arch in _APPLE_SILICON:
        return frozenset({"metal", "cpu"})
    return None


def _marker_environment(os_name: str | None, arch: str, python: str | None) -> dict[str, str]:
    marker_env = {"platform_machine": arch, **_MARKER_PLATFORMS.get(os_name or "", {})}
    if python is not None:
        marker_env |= {"python_version": ".".join(python.split(".")[:2])}
        marker_env |= {"python_full_version": python}
    return marker_env


def _is_nvidia(line: str, marker_env: Mapping[str, str]) -> bool:
    try:
        requirement = Requirement(line)
        if not canonicalize_name(requirement.name).startswith("nvidia-"):
            return False
        return requirement.marker is None or requirement.marker.evaluate(dict(marker_env))
    except (InvalidRequirement, UndefinedComparison, UndefinedEnvironmentName):
        return False

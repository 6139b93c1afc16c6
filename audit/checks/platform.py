"""Platform checks: the OS and accelerator lists a version declares, in both vocabularies.

The registry holds comfy-cli's classifier tails (``POSIX :: Linux``, ``GPU :: NVIDIA CUDA``) and
admins' free words (``Linux``, ``CUDA``) side by side (registry.md §2.2, §2.4, §3.2). Words are
mapped by meaning, never by substring; words nobody knows are ignored for matching.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TypeVar

from audit.checks.interface import declared_words, finding, quote_all, unknown
from audit.model import Environment, Finding, ManifestEntry, NodeVersion

__all__ = ["accelerator_name", "check_accelerators", "check_os", "os_names"]

_T = TypeVar("_T")
_WINDOWS, _LINUX, _MACOS = frozenset({"windows"}), frozenset({"linux"}), frozenset({"macos"})
_ANY_OS = _WINDOWS | _LINUX | _MACOS

# Classifier families: a deeper classifier ("POSIX :: Linux :: Ubuntu") means the same thing.
_OS_FAMILIES = {"microsoft :: windows": _WINDOWS, "posix :: linux": _LINUX, "macos": _MACOS}
_OS_WORDS = {
    # Classifier tails that are exact: "POSIX :: BSD" is not POSIX in general.
    "os independent": _ANY_OS,
    "microsoft": _WINDOWS,
    "posix": _LINUX | _MACOS,
    # Admin words (registry-web's compatibility page suggests a few; the rest are their kin).
    **dict.fromkeys(("any", "all", "cross-platform", "cross platform"), _ANY_OS),
    **dict.fromkeys(("windows", "win", "win10", "win11", "win32", "win64"), _WINDOWS),
    **dict.fromkeys(
        (
            *("linux", "ubuntu", "debian", "centos", "fedora", "rhel", "red hat", "redhat"),
            *("rocky", "rocky linux", "almalinux", "alma linux", "arch", "arch linux"),
            *("manjaro", "opensuse", "suse", "alpine", "mint", "linux mint", "gentoo"),
            *("nixos", "wsl", "wsl2"),
        ),
        _LINUX,
    ),
    **dict.fromkeys(("mac", "mac os", "mac os x", "osx", "os x", "darwin"), _MACOS),
}
# NOTE: every comfy-cli accelerator classifier is a family: an unknown deeper one such as
# "GPU :: NVIDIA CUDA :: 12" (a real PyPI classifier) still means CUDA.
_ACCELERATOR_FAMILIES = {
    "gpu :: nvidia cuda": "cuda",
    "gpu :: amd rocm": "rocm",
    "gpu :: intel arc": "intel",
    "npu :: huawei ascend": "ascend",
    "gpu :: apple metal": "metal",
}
# NOTE: plain "intel" is left out: it names a CPU as often as an Arc GPU.
_ACCELERATOR_WORDS = {
    **dict.fromkeys(("cuda", "nvidia", "nvidia cuda"), "cuda"),
    **dict.fromkeys(("rocm", "amd", "amd rocm", "hip"), "rocm"),
    **dict.fromkeys(("intel arc", "xpu", "intel xpu"), "intel"),
    **dict.fromkeys(("ascend", "huawei ascend", "npu"), "ascend"),
    **dict.fromkeys(("metal", "apple metal", "mps"), "metal"),
    "cpu": "cpu",
}
# Admins write versions after the word: "Windows 10", "Ubuntu 22.04", "CUDA 12.x".
_VERSION_SUFFIX = re.compile(r"\s+v?[0-9][0-9.x]*\+?$")


def os_names(word: str) -> frozenset[str] | None:
    """The OSes a declared word stands for, or ``None`` for a word nobody knows.

    >>> sorted(os_names("POSIX"))
    ['linux', 'macos']
    >>> os_names("Microsoft :: Windows :: Windows 10"), os_names("Unix")
    (frozenset({'windows'}), None)
    """
    return _lookup(word, "operating system :: ", _OS_FAMILIES, _OS_WORDS)


def accelerator_name(word: str) -> str | None:
    """The canonical accelerator a declared word stands for, or ``None`` for an unknown word.

    >>> accelerator_name("GPU :: NVIDIA CUDA"), accelerator_name("MPS")
    ('cuda', 'metal')
    >>> accelerator_name("DirectML") is None
    True
    """
    return _lookup(word, "environment :: ", _ACCELERATOR_FAMILIES, _ACCELERATOR_WORDS)


def _lookup(
    word: str, prefix: str, families: Mapping[str, _T], words: Mapping[str, _T]
) -> _T | None:
    # NOTE: a full classifier pasted by an admin ("Operating System :: MacOS") is the tail too.
    text = re.sub(r"\s*::\s*", " :: ", " ".join(word.lower().split())).removeprefix(prefix)
    for name, value in families.items():
        if text == name or text.startswith(f"{name} :: "):
            return value
    return words.get(_VERSION_SUFFIX.sub("", text))


def check_os(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Iterator[Finding]:
    """Whether this host's OS is among those the version declares."""
    declared = declared_words(node_version.supported_os)
    known = [names for names in map(os_names, declared) if names is not None]
    supported = frozenset[str]().union(*known)
    expected = "; ".join(declared)
    if not declared or supported >= _ANY_OS:
        return
    if not known:
        message = f"declares OS {quote_all(declared)}, none of them known: not checked"
        yield finding(entry, "os.spec-invalid", message, expected=expected)
    elif env.os is None:
        message = f"unknown: declares OS {quote_all(declared)}; not checked"
        yield unknown(entry, "OS", message, expected=expected)
    elif env.os not in supported:
        message = f"declares OS {quote_all(declared)}; this host is {env.os}"
        yield finding(entry, "os.unsupported", message, expected=expected, actual=env.os)


def check_accelerators(
    entry: ManifestEntry, node_version: NodeVersion, env: Environment
) -> Iterator[Finding]:
    """Whether this machine has at least one of the accelerators the version declares."""
    declared = declared_words(node_version.supported_accelerators)
    wanted = {name for name in map(accelerator_name, declared) if name is not None}
    expected = "; ".join(declared)
    # Every machine has a CPU, so a list that names it constrains nothing.
    if not declared or "cpu" in wanted:
        return
    if not wanted:
        message = f"declares accelerators {quote_all(declared)}, none of them known: not checked"
        yield finding(entry, "accelerator.spec-invalid", message, expected=expected)
    elif env.accelerators is None:
        message = f"unknown: declares accelerators {quote_all(declared)}; not checked"
        yield unknown(entry, "accelerators", message, expected=expected)
    elif not wanted & env.accelerators:
        have = sorted(env.accelerators)
        message = f"declares accelerators {quote_all(declared)}; this host has {', '.join(have)}"
        yield finding(
            entry, "accelerator.unsupported", message, expected=expected, actual="; ".join(have)
        )

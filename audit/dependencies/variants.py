"""Families of distributions that install the same module and overwrite each other's files."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import NormalizedName, canonicalize_name

__all__ = ["FAMILIES", "Family", "VariantsSeen", "family_of"]


@dataclass(frozen=True)
class Family:
    """Represents mutually exclusive builds of one module: at most one may be installed."""

    module: str
    """The import name they all provide (``cv2``)."""
    members: tuple[NormalizedName, ...]


FAMILIES: tuple[Family, ...] = (
    Family(
        "cv2",
        tuple(
            canonicalize_name(n)
            for n in (
                "opencv-python",
                "opencv-python-headless",
                "opencv-contrib-python",
                "opencv-contrib-python-headless",
            )
        ),
    ),
    Family(
        "onnxruntime",
        tuple(
            canonicalize_name(n)
            for n in (
                "onnxruntime",
                "onnxruntime-gpu",
                "onnxruntime-directml",
                "onnxruntime-silicon",
            )
        ),
    ),
)

_BY_MEMBER: Mapping[NormalizedName, Family] = {m: f for f in FAMILIES for m in f.members}


def family_of(distribution: NormalizedName) -> Family | None:
    """The family ``distribution`` belongs to, if any.

    >>> family_of(canonicalize_name("opencv_python_headless")).module
    'cv2'
    """
    return _BY_MEMBER.get(distribution)


@dataclass(frozen=True)
class VariantsSeen:
    """Represents the members of one family a host has installed or its packs require."""

    family: Family
    installed: Mapping[NormalizedName, str | None]
    """Installed member → version (``None`` for a URL install)."""
    required: Mapping[NormalizedName, Sequence[str]]
    """Required member → the labels of the packs requiring it, in pack order."""

    @property
    def members(self) -> list[NormalizedName]:
        """Every member seen, in the family's order."""
        seen = self.installed.keys() | self.required.keys()
        return [m for m in self.family.members if m in seen]

    @property
    def clash(self) -> bool:
        return len(self.members) > 1

    def describe(self) -> str:
        """Say which members were seen and where, for a finding's message."""
        installed = [f"{m} {v}" if v else m for m, v in self.installed.items()]
        required = [f"{m} by {', '.join(packs)}" for m, packs in self.required.items()]
        parts = [
            *([f"installed {', '.join(installed)}"] if installed else []),
            *([f"required {'; '.join(required)}"] if required else []),
        ]
        return (
            f"{', '.join(self.members)} install the same {self.family.module} module and "
            f"overwrite each other: {'; '.join(parts)}"
        )

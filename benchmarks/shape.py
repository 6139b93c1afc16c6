"""The shape of real registry data, which the generated benchmark data follows.

When the real-world corpus is there (``../shared/corpus/registry/registry-real.jsonl``, 1,949
real NodeVersion records), the shape is read from it at run time: how often each status occurs,
how long dependency lists are, which dependency lines and version strings occur and how often.
No record is copied: `benchmarks.fixtures` draws new records from these frequencies with a
seeded random. Without the corpus, a built-in summary of the same file is used instead, so the
benchmark runs anywhere.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CORPUS", "Shape", "builtin_shape", "corpus_folder", "distribution_name", "load_shape"]


def corpus_folder() -> Path:
    """``shared/corpus`` beside the checkout, or beside a folder of worktrees holding it."""
    for parent in Path(__file__).resolve().parents[1:4]:
        if (parent / "shared" / "corpus").is_dir():
            return parent / "shared" / "corpus"
    return Path(__file__).resolve().parents[2] / "shared" / "corpus"


CORPUS = corpus_folder() / "registry" / "registry-real.jsonl"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Shape:
    """Represents frequencies observed in real registry records (value → how many records)."""

    source: str
    """Where the frequencies come from, for the benchmark's output."""
    statuses: Mapping[str, int]
    dependency_counts: Mapping[int, int]
    """Length of a record's ``dependencies`` list → number of records with that length."""
    dependencies: Mapping[str, int]
    """A dependency line exactly as published (comments, git URLs and all) → occurrences."""
    versions: Mapping[str, int]
    deprecated_share: float

    def distributions(self) -> Counter[str]:
        """Canonical distribution names required by the dependency lines, with occurrences."""
        names: Counter[str] = Counter()
        for line, count in self.dependencies.items():
            name = distribution_name(line)
            if name is not None:
                names[name] += count
        return names


def distribution_name(line: str) -> str | None:
    """The canonical distribution a requirement line names, or ``None`` (comment, URL, blank).

    >>> distribution_name("Pillow>=10"), distribution_name("git+https://x"), distribution_name("#")
    ('pillow', None, None)
    """
    match = _NAME.match(line.strip())
    if match is None or line.strip().startswith("git+") or "://" in match.group(0):
        return None
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def load_shape(path: Path = CORPUS) -> Shape:
    """The shape of the real records at ``path``, or `builtin_shape` when it cannot be read."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return builtin_shape()
    records = [json.loads(line) for line in lines if line.strip()]
    return _shape_of(records, f"{path.name} ({len(records):,} real records, read now)")


def _shape_of(records: Iterable[Mapping[str, Any]], source: str) -> Shape:
    records = list(records)
    dependency_lists = [record.get("dependencies") or [] for record in records]
    return Shape(
        source=source,
        statuses=Counter(str(record["status"]) for record in records),
        dependency_counts=Counter(len(deps) for deps in dependency_lists),
        dependencies=Counter(str(line) for deps in dependency_lists for line in deps),
        versions=Counter(str(record["version"]) for record in records),
        deprecated_share=sum(bool(r.get("deprecated")) for r in records) / max(len(records), 1),
    )


def builtin_shape() -> Shape:
    """A summary of registry-real.jsonl (counts only, no record) for machines without it."""
    return Shape(
        source="built-in summary of registry-real.jsonl (the corpus was not found)",
        statuses={
            "NodeVersionStatusActive": 1280,
            "NodeVersionStatusPending": 313,
            "NodeVersionStatusFlagged": 266,
            "NodeVersionStatusBanned": 53,
            "NodeVersionStatusDeleted": 37,
        },
        dependency_counts={
            **{0: 961, 1: 234, 2: 148, 3: 109, 4: 120, 5: 75, 6: 60, 7: 54, 8: 25, 9: 16},
            **{10: 20, 11: 18, 12: 10, 13: 8, 14: 10, 15: 11, 17: 8, 20: 5, 24: 7, 30: 6},
            **{35: 2, 45: 1, 70: 2},
        },
        dependencies=_BUILTIN_DEPENDENCIES,
        versions={
            **{"1.0.0": 619, "1.0.1": 209, "1.0.2": 119, "1.1.0": 97, "1.0.3": 56},
            **{"0.1.0": 41, "1.1.1": 40, "1.0.5": 37, "1.0.4": 37, "0.0.1": 30, "1.0.6": 27},
            **{"1.2.0": 26, "2.0.0": 24, "1.1.2": 21, "0.1.1": 18, "0.0.2": 18, "0.0.3": 17},
            **{"0.2.0": 16, "1.2.1": 16, "1.0.7": 14, "1.0.8": 11, "1.1.3": 10, "2.1.0": 10},
        },
        deprecated_share=52 / 1949,
    )


_BUILTIN_DEPENDENCIES = {
    **{"numpy": 212, "torch": 180, "opencv-python": 147, "Pillow": 102, "requests": 86},
    **{"matplotlib": 86, "transformers": 70, "pillow": 67, "scipy": 60, "accelerate": 60},
    **{"huggingface_hub": 59, "torchvision": 52, "tqdm": 50, "scikit-image": 50, "einops": 48},
    **{"aiohttp": 45, "diffusers": 41, "openai": 38, "torch>=2.0.0": 35, "timm": 35},
    **{"omegaconf": 31, "python-dotenv": 29, "scikit-learn": 28, "piexif": 28, "librosa": 27},
    **{"torchaudio": 27, "sentencepiece": 26, "peft": 24, "ftfy": 23, "pandas": 23},
    **{"pydantic": 22, "pyyaml": 20, "imageio": 20, "rich": 20, "onnxruntime-gpu": 19},
    **{"onnxruntime": 19, "numpy>=1.24.0": 18, "ffmpeg-python": 18, "pydub": 17, "kornia": 17},
    **{"clip @ git+https://github.com/openai/CLIP.git": 3, "imageio[ffmpeg]": 4, "": 6},
    **{"# requirements.txt for this pack": 5, "WeTextProcessing; sys_platform == 'linux'": 2},
}

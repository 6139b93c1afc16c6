"""How many processors the run may use: its affinity, no more than its cgroup's CPU quota."""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import pytest

from audit import cpus


def test_processors_is_the_affinity_on_linux() -> None:
    expected = len(os.sched_getaffinity(0)) if os.uname().sysname == "Linux" else 1
    assert cpus.processors() == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("150000 100000\n", 2),
        ("100000 100000\n", 1),
        ("50000 100000\n", 1),
        ("max 100000\n", math.inf),
        ("-1\n 100000\n", math.inf),  # cgroup v1: no quota
        ("100000 0", math.inf),
        ("²00000 100000", math.inf),
        (" ", math.inf),
    ],
    ids=["one-and-a-half", "one", "half", "v2-none", "v1-none", "no-period", "not-ascii", "empty"],
)
def test_a_cpu_quota_amounts_to_processors_rounded_up(text: str, expected: float) -> None:
    assert cpus.quota_processors(text) == expected


_UNIT = "system.slice/cron.service"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only forks")
@pytest.mark.parametrize(
    ("cgroup", "files", "expected"),
    [
        ("0::/\n", {"cpu.max": "50000 100000\n"}, 1),
        (f"0::/{_UNIT}\n", {f"{_UNIT}/cpu.max": "100000 100000\n", "cpu.max": "max\n"}, 1),
        (f"0::/{_UNIT}\n", {"system.slice/cpu.max": "90000 100000\n"}, 1),
        ("0::/../outside\n", {"../outside/cpu.max": "90000 100000\n"}, 2),
        ("1:cpu:/\n0::/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "1\n"}, 2),
        ("", {"cpu/cpu.cfs_quota_us": "100000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ("", {}, 2),
    ],
    ids=["v2-root", "v2-unit", "v2-parent", "v2-never-outside", "v1-none", "v1-quota", "none"],
)
def test_processors_are_no_more_than_the_cpu_quota(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    cgroup: str,
    files: dict[str, str],
    expected: int,
) -> None:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "self-cgroup").write_text(cgroup)
    monkeypatch.setattr(cpus, "PROC_CGROUP", str(tmp_path / "self-cgroup"))
    monkeypatch.setattr(cpus, "CGROUP_ROOT", str(root))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    cpus._quota.cache_clear()
    try:
        assert cpus.processors() == expected
    finally:
        cpus._quota.cache_clear()

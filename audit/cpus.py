"""How many processors this process may use: those it may run on, no more than its CPU quota.

A container or a systemd unit limited to one CPU gains nothing from a forked helper
(`audit.parallel`) however many processors the machine has.
"""

from __future__ import annotations

import functools
import math
import os
import sys

__all__ = ["CGROUP_ROOT", "PROC_CGROUP", "processors", "quota_processors"]

#: Where Linux tells a process its cgroup, and where cgroups are.
PROC_CGROUP = "/proc/self/cgroup"
CGROUP_ROOT = "/sys/fs/cgroup"


def processors() -> int:
    """The processors this process may use (those it may run on, no more than its CPU quota),
    or 1 where work cannot go to a forked child."""
    # NOTE: macOS and Windows offer no safe fork (system libraries break in a forked child).
    if not sys.platform.startswith("linux"):
        return 1
    return max(1, int(min(len(os.sched_getaffinity(0)), _quota())))


@functools.cache
def _quota() -> float:
    """The tightest CPU quota over this process's cgroup and its ancestors (cgroup v2), and its
    cpu controller's (v1), in processors."""
    v2 = [_small_text(f"{folder}/cpu.max") for folder in _cgroup_folders()]
    v1 = " ".join(_small_text(f"{CGROUP_ROOT}/cpu/cpu.cfs_{n}_us") for n in ("quota", "period"))
    return min(map(quota_processors, [*v2, v1]))


def _cgroup_folders() -> list[str]:
    """The folders of this process's cgroup v2 and of its ancestors, itself first."""
    lines = _small_text(PROC_CGROUP, 4096).splitlines()
    path = next((line[3:] for line in lines if line.startswith("0::")), "/")
    parts = [part for part in path.split("/") if part not in ("", ".", "..")]
    return ["/".join([CGROUP_ROOT, *parts[:n]]) for n in range(len(parts), -1, -1)]


def _small_text(path: str, limit: int = 64) -> str:
    try:
        with open(path, encoding="ascii") as file:
            return file.read(limit)
    except (OSError, ValueError):
        return ""


def quota_processors(text: str) -> float:
    """The processors a CPU quota, ``"QUOTA PERIOD"`` in microseconds, amounts to, rounded up
    (1.5 CPUs keep two processes busier than one); infinite when there is no quota or the text
    is not one.

    >>> quota_processors("150000 100000"), quota_processors("max 100000"), quota_processors("")
    (2, inf, inf)
    """
    match text.split():
        case [quota, period] if quota.isdecimal() and period.isdecimal() and int(period) > 0:
            return math.ceil(int(quota) / int(period))
    return math.inf

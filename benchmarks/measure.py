"""Run a command as a child process and record its wall time and its own peak memory."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BenchmarkError", "Measurement", "Summary", "measure", "measure_median"]


class BenchmarkError(Exception):
    """The benchmark itself failed (a command crashed, data disagree): no number is valid."""


@dataclass(frozen=True)
class Measurement:
    """Represents one finished child process."""

    seconds: float
    peak_rss_mb: float
    """The command's peak memory in 10^6 bytes: its own peak resident set size (``ru_maxrss``
    of ``wait4``) or, when larger, the peak of the summed PSS of it and its forked helpers."""
    exit_code: int
    stdout: str
    stderr: str


def measure(
    argv: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    ok: Sequence[int] = (0,),
    sample: bool = True,
) -> Measurement:
    """Run ``argv`` to completion and measure it.

    The command is started by `_TRAMPOLINE`, a small Python process, which times it and reads
    its peak memory from ``wait4`` and, when ``sample`` asks, from samples of its process
    tree: see there why not from this process.

    :param ok: the exit codes that mean the command worked (comfy-audit exits 1 on findings).
    :param sample: whether to sample the memory of the command's process tree. Sampling reads
        every process's page tables four times a second, which slows a command that keeps
        both processors busy (a 500-host run by about 0.1 s): a run timed for a row samples
        nothing, and a run of its own measures the memory (`Bench.repeat`).
    :raises BenchmarkError: when it exits with another code.
    """
    with (
        tempfile.TemporaryDirectory(prefix="measure-") as tmp,
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
    ):
        usage_file = Path(tmp) / "usage.json"
        sampling = "sample" if sample else "peak"
        trampoline = [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, usage_file, sampling]
        subprocess.run([str(a) for a in (*trampoline, *argv)], cwd=cwd, stdout=out, stderr=err)
        out.seek(0)
        err.seek(0)
        stdout, stderr = (f.read().decode("utf-8", "replace") for f in (out, err))
        try:
            usage = json.loads(usage_file.read_text(encoding="utf-8"))
        except OSError:
            raise BenchmarkError(f"{argv[0]}: did not start\n{stderr[-2000:]}") from None
    result = Measurement(
        seconds=usage["seconds"],
        peak_rss_mb=usage["maxrss_kib"] * 1024 / 1e6,
        exit_code=usage["exit_code"],
        stdout=stdout,
        stderr=stderr,
    )
    if result.exit_code not in ok:
        command = " ".join(str(a) for a in argv)
        raise BenchmarkError(f"{command[:200]}: exit code {result.exit_code}\n{stderr[-2000:]}")
    return result


#: Runs ``argv[3:]`` and writes its wall time, exit code and peak memory to the file ``argv[1]``;
#: ``argv[2]`` is ``sample`` to sample the memory of its process tree, ``peak`` not to.
#: NOTE: a child's ``ru_maxrss`` counts the memory of the process it was forked from (Linux
#: keeps the larger of the forking parent's high-water mark and its own across ``exec``): run
#: from the benchmark, which holds the registry's data, every command would seem to need 150 MB.
#: Spawned from this small interpreter instead, that floor is about 10 MB.
#: NOTE: comfy-audit forks helpers for a fleet's work (`audit.parallel`), and ``ru_maxrss`` is
#: one process's peak: a thread also sums the proportional set size (PSS, which splits each
#: page between the processes sharing it, so shared pages count once) of the command and all
#: its descendants every 0.25 s, and the larger of the two peaks is the command's memory.
_TRAMPOLINE = """
import json, os, sys, threading, time

def tree(pid):
    pids = [pid]
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as file:
            pids += [p for child in file.read().split() for p in tree(int(child))]
    return pids

def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup") as file:
        return sum(int(line.split()[1]) for line in file if line.startswith("Pss:"))

def sample(pid, peak, done):
    while not done.wait(0.25):
        total = 0
        try:
            for p in tree(pid):
                total += pss_kib(p)
        except OSError:
            continue  # NOTE: a process ended while it was read; the next sample counts
        peak[0] = max(peak[0], total)

start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[3], sys.argv[3:], os.environ)
peak, done = [0], threading.Event()
sampler = threading.Thread(target=sample, args=(pid, peak, done))
if sys.argv[2] == "sample":
    sampler.start()
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
done.set()
if sampler.is_alive():
    sampler.join()
code = os.waitstatus_to_exitcode(status)
memory = max(usage.ru_maxrss, peak[0])
with open(sys.argv[1], "w") as file:
    json.dump({"seconds": seconds, "exit_code": code, "maxrss_kib": memory}, file)
"""


@dataclass(frozen=True)
class Summary:
    """Represents repeated runs of one command: the median time, the largest peak memory."""

    seconds: float
    peak_rss_mb: float
    runs: list[Measurement]


def measure_median(
    argv: Sequence[str | Path], repeat: int, *, cwd: Path | None = None, ok: Sequence[int] = (0,)
) -> Summary:
    """Run ``argv`` ``repeat`` times; the median wall time and the largest peak memory."""
    runs = [measure(argv, cwd=cwd, ok=ok) for _ in range(repeat)]
    return Summary(
        seconds=statistics.median(run.seconds for run in runs),
        peak_rss_mb=max(run.peak_rss_mb for run in runs),
        runs=runs,
    )

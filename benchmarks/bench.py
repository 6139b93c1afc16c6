"""``make bench``: comfy-audit against honest baselines, one table, from one run.

Every number comes from a real process: comfy-audit runs as its console script in a child
process, against the loopback registry of `tests.registry_server` (run here, in a thread, with
50 ms of latency on every answer), on data generated with a seeded random in the shape of real
registry records (`benchmarks.shape`). Speed-ups are ratios within this one run, never absolute
times compared with another machine's. Targets are reported, met or not; the exit code is
non-zero only when the benchmark itself could not run.

Usage: ``python -m benchmarks.bench [--json PATH]``.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from benchmarks import fixtures, fleet_runs, pips, vulns, workflows
from benchmarks.measure import BenchmarkError, Measurement, measure, measure_median
from benchmarks.shape import Shape, load_shape
from tests.registry_server import BULK_PATH, LoggedRequest, RegistryServer

SEED = 5
LATENCY = 0.05
REGISTRY_NODES = 2_500
COLD_PACKS = 300
MISSING_PACKS = 3
"""Of the cold run's packs, how many no registry knows (real snapshots hold a few)."""
FLEET_HOSTS = 500
FLEET_PACKS = 80
SCALE_HOSTS = 5_000
SCALE_POOL = 400
"""The scale case: hosts draw their packs from a pool of this many (a fleet that standardised)."""
PIPS = 250
HOST_DRIFT = 5
"""Installed distributions at a version of their own on each host, besides its image's."""
BASELINE_SAMPLE = 20
REPEAT_COLD, REPEAT_WARM, REPEAT_FLEET, REPEAT_ROLLUP, REPEAT_HELP = 3, 5, 3, 3, 7
REPEAT_SCALE = 1
"""The scale case runs once: one run of 5,000 hosts takes as long as the rest of a case."""
ROLLUP_HOSTS, ROLLUP_RUNS_PER_HOST = 2_000, 5
"""The roll-up case's history: daily single-host runs, 10,000 run folders."""
FLEET_OUTPUT = "fleet/out-{}"
"""Where the fleet case writes the reports of its i-th run; the roll-up case cuts its runs from
the first."""
TARGET_COMFYUI = "0.4.0"
#: Machine images of the fleet: OS, accelerator, ComfyUI, frontend, installed torch build.
IMAGES = {
    "linux-cuda": ("linux", "cuda", "0.3.40", "1.20.5", "2.7.1+cu126"),
    "linux-cuda-new": ("linux", "cuda", "0.3.44", "1.23.4", "2.7.1+cu128"),
    "linux-rocm": ("linux", "rocm", "0.3.40", "1.20.5", "2.7.1+rocm6.3"),
    "windows-cuda": ("windows", "cuda", "0.3.43", "1.21.7", "2.7.1+cu126"),
}

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COMFY_AUDIT = BIN / "comfy-audit"
PYTHON = BIN / "python"
NAIVE = ROOT / "benchmarks" / "naive.py"
NAIVE_FLEET = ROOT / "benchmarks" / "naive_fleet.py"
RESULTS = ROOT / "benchmarks" / "results.json"


@dataclass(frozen=True)
class Row:
    """Represents one case of the table."""

    case: str
    seconds: float
    baseline_seconds: float
    requests: int
    """Every HTTP request comfy-audit made (the most any of its runs made)."""
    lookups: int
    """Of those, NodeVersion lookups: bulk POSTs and per-version GETs."""
    baseline_requests: int
    peak_rss_mb: float
    target: str
    """What the row must show; empty for a comparison line, which has no target."""
    met: bool
    baseline: str
    """Exactly what the baseline is."""
    baseline_peak_rss_mb: float | None = None
    """The peak memory of the baseline's process (of its largest one, when it runs several)."""
    notes: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    """comfy-audit's wall time in each run, in seconds."""

    @property
    def speedup(self) -> float:
        """How many times faster comfy-audit is than the baseline (< 1: slower); 0 when the row
        has no timed baseline."""
        return self.baseline_seconds / self.seconds if self.baseline_seconds > 0 else 0.0


@dataclass
class Bench:
    """Represents the shared state of one benchmark run: data, folders, the registry."""

    shape: Shape
    registry: fixtures.Registry
    server: RegistryServer
    tmp: Path
    rng: random.Random
    pip_shape: pips.PipShape
    naive: Measurement | None = None
    mirror: Path = Path()
    fleet_seconds: float = 0.0

    def folder(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def requests_of(
        self, run: Callable[[], Measurement]
    ) -> tuple[Measurement, list[LoggedRequest]]:
        """Run ``run`` with an empty request log; its measurement and the requests it made."""
        self.server.clear_log()
        measurement = run()
        return measurement, self.server.requests

    def repeat(self, argv: Callable[[int], Sequence[str | Path]], times: int) -> Runs:
        """Run comfy-audit once to sample its memory, then ``times`` times to time it (no
        sampler then slows it); ``argv(i)`` is the i-th run's, the first ``argv(0)``. Exit 1
        is findings."""
        runs = Runs()
        for index in range(times + 1):
            timed = index > 0
            run = functools.partial(measure, argv(index), ok=(0, 1), sample=not timed)
            runs.add(*self.requests_of(run), timed=timed)
        return runs


@dataclass
class Runs:
    """Represents repeated runs of one case: the median time, the worst memory and requests."""

    measurements: list[Measurement] = field(default_factory=list)
    """Every run's, the memory run's first."""
    timed: list[Measurement] = field(default_factory=list)
    """The runs whose time counts."""
    requests: int = 0
    lookups: int = 0
    node_lists: int = 0
    version_lists: int = 0

    def add(self, run: Measurement, requests: Sequence[LoggedRequest], *, timed: bool) -> None:
        self.measurements.append(run)
        if timed:
            self.timed.append(run)
        self.requests = max(self.requests, len(requests))
        self.lookups = max(self.lookups, sum(map(is_lookup, requests)))
        self.node_lists = max(self.node_lists, sum(map(is_node_list, requests)))
        self.version_lists = max(self.version_lists, sum(map(is_version_list, requests)))

    @property
    def seconds(self) -> float:
        return statistics.median(run.seconds for run in self.timed)

    @property
    def peak_rss_mb(self) -> float:
        return max(run.peak_rss_mb for run in self.measurements)

    @property
    def times(self) -> list[float]:
        return [round(run.seconds, 3) for run in self.timed]


def is_lookup(request: LoggedRequest) -> bool:
    """Whether ``request`` asks for NodeVersions: a bulk POST or a per-version GET."""
    segments = request.segments
    per_version = len(segments) == 4 and segments[0] == "nodes" and segments[2] == "versions"
    return (request.method == "POST" and request.path == BULK_PATH) or (
        request.method == "GET" and per_version
    )


def is_version_list(request: LoggedRequest) -> bool:
    """Whether ``request`` lists a node's versions (``GET /nodes/{id}/versions``): the advisor's."""
    segments = request.segments
    return len(segments) == 3 and segments[0] == "nodes" and segments[2] == "versions"


def is_node_list(request: LoggedRequest) -> bool:
    """Whether ``request`` asks for Node records in bulk (``GET /nodes?node_id=…``)."""
    return request.method == "GET" and request.path == "/nodes" and "node_id" in request.query


def audit(*args: str | Path, advice: bool = True) -> list[str | Path]:
    """The argv of ``comfy-audit run`` with ``args``: its defaults (the upgrade advisor on), or
    with ``--no-advice`` for the comparison line beside each case."""
    return [COMFY_AUDIT, "run", *args, *(() if advice else ("--no-advice",))]


ADVISOR_CUT = (
    "the Node records name each pack's newest Active version; one more bulk NodeVersion lookup "
    "for those settles every pack whose newest version fits, and only the rest are listed"
)


def run_nodes(output: Path) -> list[dict[str, str]]:
    """The rows of ``nodes.csv`` of the one run written under ``output``."""
    (path,) = output.glob("*/nodes.csv")
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def write_json(path: Path, document: object) -> None:
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False), encoding="utf-8")


# -- case 1 and 2: one host, 300 distinct packs, over the network -------------------------------


def cold_manifest(bench: Bench) -> Path:
    """A snapshot of ``COLD_PACKS`` distinct packs, a few unknown to the registry."""
    packs = fixtures.pick_packs(bench.registry, bench.rng, COLD_PACKS - MISSING_PACKS)
    packs |= fixtures.missing_packs(MISSING_PACKS)
    pips = fixtures.image_pips(bench.shape, bench.rng, PIPS, "2.7.1+cu126")
    path = bench.folder("single") / "render-01.json"
    write_json(path, fixtures.snapshot(packs, pips, "v0.3.40"))
    return path


def single_host_argv(
    bench: Bench, manifest: Path, cache: Path, output: Path, *, advice: bool = True
) -> list[str | Path]:
    return audit(
        manifest, "--registry", bench.server.url, "--cache-dir", cache, "--output", output,
        "--os", "linux", "--accelerator", "cuda", "--frontend-version", "1.20.5",
        "--target-comfyui", TARGET_COMFYUI, advice=advice,
    )  # fmt: skip


def case_cold(bench: Bench, manifest: Path) -> Iterator[Row]:
    """300 distinct packs, empty cache, against the naive client: defaults, then --no-advice."""
    folder = bench.folder("single")
    runs = bench.repeat(
        lambda i: single_host_argv(bench, manifest, folder / f"cache-{i}", folder / f"cold-{i}"),
        REPEAT_COLD,
    )
    plain = bench.repeat(
        lambda i: single_host_argv(
            bench, manifest, folder / f"cache-plain-{i}", folder / f"cold-plain-{i}", advice=False
        ),
        REPEAT_COLD,
    )
    naive, naive_requests = bench.requests_of(
        lambda: measure([PYTHON, NAIVE, bench.server.url, manifest])
    )
    bench.naive = naive
    baseline = (
        "benchmarks/naive.py: one sequential requests.get per pack (no session, no "
        f"cache), JSON parsed, status tallied; one run. comfy-audit: median of {REPEAT_COLD} "
        "runs, each with an empty cache"
    )
    yield Row(
        case=f"{COLD_PACKS} packs, {LATENCY * 1000:.0f} ms latency, cold cache",
        seconds=runs.seconds,
        baseline_seconds=naive.seconds,
        requests=runs.requests,
        lookups=runs.lookups,
        baseline_requests=len(naive_requests),
        peak_rss_mb=runs.peak_rss_mb,
        target="≥ 15x faster, ≤ 4 lookup requests, ≤ 3 Node list requests",
        met=naive.seconds / runs.seconds >= 15 and runs.lookups <= 4 and runs.node_lists <= 3,
        baseline=baseline,
        baseline_peak_rss_mb=naive.peak_rss_mb,
        notes=[
            *agreement(json.loads(naive.stdout), run_nodes(folder / "cold-0")),
            f"Node records: {runs.node_lists} list requests (bans, newest versions)",
            f"of the {runs.requests} requests, {runs.version_lists} are the advisor's version "
            f"lists: {ADVISOR_CUT}",
        ],
        times=runs.times,
    )
    yield Row(
        case="  same, --no-advice",
        seconds=plain.seconds,
        baseline_seconds=naive.seconds,
        requests=plain.requests,
        lookups=plain.lookups,
        baseline_requests=len(naive_requests),
        peak_rss_mb=plain.peak_rss_mb,
        target="",
        met=True,
        baseline=baseline + ", with --no-advice",
        baseline_peak_rss_mb=naive.peak_rss_mb,
        notes=agreement(json.loads(naive.stdout), run_nodes(folder / "cold-plain-0")),
        times=plain.times,
    )


def agreement(naive: dict[str, int], nodes: list[dict[str, str]]) -> list[str]:
    """A note when the naive client and comfy-audit saw different registry statuses."""
    seen = Counter(row["status"] or "not found" for row in nodes if row["source"] == "registry")
    if seen == Counter(naive):
        return []
    return [f"CHECK FAILED: naive client saw {naive}, comfy-audit {dict(seen)}"]


def case_warm(bench: Bench, manifest: Path) -> Iterator[Row]:
    """The same run again, the cache filled by the first cold run: defaults, then --no-advice."""
    folder = bench.folder("single")
    runs = bench.repeat(
        lambda i: single_host_argv(bench, manifest, folder / "cache-0", folder / f"warm-{i}"),
        REPEAT_WARM,
    )
    plain = bench.repeat(
        lambda i: single_host_argv(
            bench, manifest, folder / "cache-plain-0", folder / f"warm-plain-{i}", advice=False
        ),
        REPEAT_WARM,
    )
    assert bench.naive is not None
    hits = Counter(
        f"{'found' if row['status'] else 'not found'}, cache_hit={row['cache_hit']}"
        for row in run_nodes(folder / "warm-0")
    )
    baseline = (
        "the naive client's run of case 1, again (it has no cache: a repeat costs the "
        f"same {COLD_PACKS} GETs). comfy-audit: median of {REPEAT_WARM} runs on the cache the "
        "first cold run filled"
    )
    yield Row(
        case="same, warm cache",
        seconds=runs.seconds,
        baseline_seconds=bench.naive.seconds,
        requests=runs.requests,
        lookups=runs.lookups,
        baseline_requests=COLD_PACKS,
        peak_rss_mb=runs.peak_rss_mb,
        target="0 HTTP requests, ≤ 1 s",
        met=runs.requests == 0 and runs.seconds <= 1,
        baseline=baseline,
        baseline_peak_rss_mb=bench.naive.peak_rss_mb,
        notes=[
            f"nodes rows of a warm run: {dict(sorted(hits.items()))}",
            f"Node records: {runs.node_lists} list requests",
        ],
        times=runs.times,
    )
    yield Row(
        case="  same, --no-advice",
        seconds=plain.seconds,
        baseline_seconds=bench.naive.seconds,
        requests=plain.requests,
        lookups=plain.lookups,
        baseline_requests=COLD_PACKS,
        peak_rss_mb=plain.peak_rss_mb,
        target="",
        met=True,
        baseline=baseline + ", with --no-advice",
        baseline_peak_rss_mb=bench.naive.peak_rss_mb,
        times=plain.times,
    )


# -- case 3: a fleet of 500 hosts from a mirror file ---------------------------------------------


def write_fleet(
    bench: Bench,
    name: str = "fleet",
    hosts: int = FLEET_HOSTS,
    registry: fixtures.Registry | None = None,
) -> list[Path]:
    """``hosts`` host snapshots of 80 packs, each beside its image's ``<host>.env.json``, in
    ``name/hosts``; the packs drawn from ``registry`` (the whole registry when not given)."""
    folder = bench.folder(f"{name}/hosts")
    profiles, images = {}, {}
    for image, (os_name, accelerator, comfyui, frontend, torch) in IMAGES.items():
        profile = bench.folder(name) / f"{image}.env.json"
        flags = ["--os", os_name, "--accelerator", accelerator, "--comfyui-version", comfyui]
        measure([COMFY_AUDIT, "env", *flags, "--frontend-version", frontend, "-o", profile])
        profiles[image] = profile.read_text(encoding="utf-8")
        images[image] = image_pips(bench, torch)
    versions = bench.pip_shape.versions
    for host, image in fixtures.fleet_hosts(hosts, list(IMAGES)):
        packs = fixtures.pick_packs(registry or bench.registry, bench.rng, FLEET_PACKS)
        installed = fixtures.host_pips(images[image], bench.rng, HOST_DRIFT, versions)
        write_json(folder / f"{host}.json", fixtures.snapshot(packs, installed, "v0.3.40"))
        (folder / f"{host}.env.json").write_text(profiles[image], encoding="utf-8")
    return sorted(folder.glob("*.json"))  # as a shell expands fleet/*.json


def image_pips(bench: Bench, torch: str) -> dict[str, str | None]:
    """A machine image's installed distributions: real-looking when the corpus is there."""
    if bench.pip_shape.usable:
        return pips.image_pips(bench.pip_shape, bench.rng, torch)
    return dict(fixtures.image_pips(bench.shape, bench.rng, PIPS, torch))


def write_mirror(bench: Bench) -> tuple[Path, str]:
    """The whole registry as a mirror file, by ``comfy-audit mirror --all``; and a note."""
    mirror = bench.folder("fleet") / "mirror.jsonl"
    argv: list[str | Path] = [COMFY_AUDIT, "mirror", "--all", "--output", mirror]
    argv += ["--registry", bench.server.url, "--no-cache"]
    run, requests = bench.requests_of(lambda: measure(argv))
    lines = sum(1 for line in mirror.read_text(encoding="utf-8").splitlines() if line.strip())
    note = (
        f"fleet mirror written by `comfy-audit mirror --all`: {lines:,} records, "
        f"{len(requests)} requests, {run.seconds:.2f} s at {LATENCY * 1000:.0f} ms latency"
    )
    return mirror, note


def case_fleet(bench: Bench) -> Iterator[Row]:
    """One central run over 500 snapshots, against per-host runs on a sample: defaults, then
    the same with --no-advice."""
    files = write_fleet(bench)
    mirror, mirror_note = write_mirror(bench)
    bench.mirror = mirror
    flags = ("--registry", mirror, "--target-comfyui", TARGET_COMFYUI)
    outputs = [bench.folder(FLEET_OUTPUT.format(i)) for i in range(REPEAT_FLEET + 1)]
    runs = bench.repeat(lambda i: audit(*files, *flags, "--output", outputs[i]), REPEAT_FLEET)
    bench.fleet_seconds = runs.seconds
    plain_out = [bench.folder(f"fleet/plain-{i}") for i in range(REPEAT_FLEET + 1)]
    plain = bench.repeat(
        lambda i: audit(*files, *flags, "--output", plain_out[i], advice=False), REPEAT_FLEET
    )
    hosts = [f for f in files if not f.name.endswith(".env.json")]
    sample = hosts[:: len(hosts) // BASELINE_SAMPLE][:BASELINE_SAMPLE]
    per_host = bench.folder("fleet/per-host")
    singles = [
        measure(audit(host, *flags, "--output", per_host / host.stem), ok=(0, 1)) for host in sample
    ]
    sampled = sum(single.seconds for single in singles)
    notes = [mirror_note, *fan_out_agreement(run_nodes(outputs[0]), per_host, sample)]
    notes.append(
        f"per-host runs: {sampled:.1f} s for {len(sample)} hosts, peak RSS "
        f"{max(s.peak_rss_mb for s in singles):.0f} MB; a naive client would need "
        f"{FLEET_HOSTS * FLEET_PACKS:,} GETs (~{FLEET_HOSTS * FLEET_PACKS * LATENCY:,.0f} s "
        f"of latency alone at {LATENCY * 1000:.0f} ms; arithmetic, not measured)"
    )
    baseline = (
        f"one `comfy-audit run HOST.json --registry MIRROR` process per host, in turn, "
        f"timed on {len(sample)} evenly spaced hosts and scaled to {len(hosts)}. comfy-audit: "
        f"one process for all {len(hosts)} snapshots, median of {REPEAT_FLEET} runs"
    )
    yield Row(
        case=f"{FLEET_HOSTS} hosts x {FLEET_PACKS} packs, mirror file",
        seconds=runs.seconds,
        baseline_seconds=sampled * len(hosts) / len(sample),
        requests=runs.requests,
        lookups=runs.lookups,
        baseline_requests=0,
        peak_rss_mb=runs.peak_rss_mb,
        target="≤ 5 s, peak RSS ≤ 1 GB",
        met=runs.seconds <= 5 and runs.peak_rss_mb <= 1000,
        baseline=baseline,
        baseline_peak_rss_mb=max(single.peak_rss_mb for single in singles),
        notes=notes,
        times=runs.times,
    )
    yield Row(
        case="  same, --no-advice",
        seconds=plain.seconds,
        baseline_seconds=sampled * len(hosts) / len(sample),
        requests=plain.requests,
        lookups=plain.lookups,
        baseline_requests=0,
        peak_rss_mb=plain.peak_rss_mb,
        target="",
        met=True,
        baseline=baseline + "; comfy-audit with --no-advice (the per-host runs keep the advisor)",
        baseline_peak_rss_mb=max(single.peak_rss_mb for single in singles),
        times=plain.times,
    )


# -- case 4: 5,000 hosts from a pool of 400 packs ----------------------------------------------


def case_scale(bench: Bench) -> Row:
    """5,000 hosts whose packs come from a pool of 400, against 500 hosts from the same pool."""
    pool = fixtures.pack_pool(bench.registry, bench.rng, SCALE_POOL)
    small = write_fleet(bench, "scale-500", FLEET_HOSTS, pool)
    large = write_fleet(bench, "scale", SCALE_HOSTS, pool)
    flags = ("--registry", bench.mirror, "--target-comfyui", TARGET_COMFYUI)
    few = bench.repeat(
        lambda i: audit(*small, *flags, "--output", bench.folder(f"scale-500/out-{i}")),
        REPEAT_SCALE,
    )
    many = bench.repeat(
        lambda i: audit(*large, *flags, "--output", bench.folder(f"scale/out-{i}")), REPEAT_SCALE
    )
    growth = many.seconds / few.seconds
    rows = pq.read_metadata(next(bench.tmp.glob("scale/out-0/*/nodes.parquet"))).num_rows
    return Row(
        case=f"{SCALE_HOSTS:,} hosts x {FLEET_PACKS} packs (pool of {SCALE_POOL}), mirror",
        seconds=many.seconds,
        baseline_seconds=few.seconds,
        requests=many.requests,
        lookups=many.lookups,
        baseline_requests=few.requests,
        peak_rss_mb=many.peak_rss_mb,
        target="≤ 40 s, ≤ 2 GB, ≤ 10x the 500-host run",
        met=many.seconds <= 40 and many.peak_rss_mb <= 2000 and growth <= 10,
        baseline=f"the same command on {FLEET_HOSTS} hosts drawn from the same pool "
        f"(defaults; {REPEAT_SCALE} run each)",
        baseline_peak_rss_mb=few.peak_rss_mb,
        notes=[
            f"{SCALE_HOSTS:,} hosts took {growth:.1f}x the time of {FLEET_HOSTS} "
            f"({SCALE_HOSTS // FLEET_HOSTS}x the hosts); {rows:,} nodes rows"
        ],
        times=many.times,
    )


_COMPARED = ("host", "node_id", "version", "status", "worst_severity", "finding_count")


def rows_by_host(rows: Sequence[dict[str, str]]) -> dict[str, set[tuple[str, ...]]]:
    """The `_COMPARED` columns of ``nodes`` rows, grouped by host."""
    grouped: dict[str, set[tuple[str, ...]]] = {}
    for row in rows:
        grouped.setdefault(row["host"], set()).add(tuple(row[c] for c in _COMPARED))
    return grouped


def fan_out_agreement(
    fleet: list[dict[str, str]], per_host: Path, sample: Sequence[Path]
) -> list[str]:
    """Whether the fleet run's rows for each sampled host equal that host's own run's."""
    grouped = rows_by_host(fleet)
    differ = [
        host.stem
        for host in sample
        if grouped.get(host.stem) != rows_by_host(run_nodes(per_host / host.stem)).get(host.stem)
    ]
    if differ:
        return [f"CHECK FAILED: fleet rows differ from per-host runs for {', '.join(differ)}"]
    pairs = len({(row["node_id"].lower(), row["version"]) for row in fleet})
    return [
        f"fleet run: {len(grouped)} hosts, {len(fleet):,} nodes rows, {pairs:,} distinct "
        f"node@version; the {len(sample)} sampled hosts' rows equal their own runs'"
    ]


# -- case 5: a roll-up of 10,000 runs ---------------------------------------------------------


def case_rollup(bench: Bench) -> Row:
    """``comfy-audit fleet`` over 10,000 run folders, against pandas reading them all at once."""
    output = bench.folder("rollup/output")
    start = time.perf_counter()
    written = fleet_runs.write_runs(
        bench.folder(FLEET_OUTPUT.format(0)),
        output,
        bench.rng,
        hosts=ROLLUP_HOSTS,
        runs_per_host=ROLLUP_RUNS_PER_HOST,
        now=datetime.now(UTC),
    )
    generated = time.perf_counter() - start
    argv: list[str | Path] = [COMFY_AUDIT, "fleet", output, "--target-comfyui", TARGET_COMFYUI]
    runs = bench.repeat(lambda _: [*argv, "-q"], REPEAT_ROLLUP)
    naive = measure([PYTHON, NAIVE_FLEET, output])
    notes = [
        f"runs: {written.runs:,} single-host run folders ({written.hosts:,} hosts, "
        f"{ROLLUP_RUNS_PER_HOST} daily runs each; {written.stale_hosts} hosts stopped "
        f"{fleet_runs.STALE_DAYS} days ago), {written.files:,} files, {written.bytes / 1e9:.2f} "
        f"GB, {written.nodes_rows:,} nodes and {written.findings_rows:,} findings rows; cut in "
        f"{generated:.1f} s (not timed) from the rows of the {written.source_hosts} hosts of "
        "case 3's run",
        *rollup_agreement(output, json.loads(naive.stdout), written),
        f"memory: comfy-audit {runs.peak_rss_mb:,.0f} MB, pandas {naive.peak_rss_mb:,.0f} MB "
        f"({naive.peak_rss_mb / runs.peak_rss_mb:.1f}x as much)",
    ]
    return Row(
        case=f"fleet roll-up of {written.runs:,} runs",
        seconds=runs.seconds,
        baseline_seconds=naive.seconds,
        requests=runs.requests,
        lookups=runs.lookups,
        baseline_requests=0,
        peak_rss_mb=runs.peak_rss_mb,
        target="≤ 3 s, peak RSS ≤ 1 GB",
        met=runs.seconds <= 3 and runs.peak_rss_mb <= 1000,
        baseline="benchmarks/naive_fleet.py, the notebook way: pd.concat(pd.read_parquet(p) for "
        "p in glob(OUT/*/findings.parquet)), the same for nodes, then pandas groupbys for each "
        "host's newest run and the upgrade blockers; one run. comfy-audit: `fleet OUT "
        f"--target-comfyui {TARGET_COMFYUI} -q`, median of {REPEAT_ROLLUP} runs; it also builds "
        "the hosts, packs, drift and stale tables and writes every table as Parquet and CSV",
        baseline_peak_rss_mb=naive.peak_rss_mb,
        notes=notes,
        times=runs.times,
    )


def rollup_agreement(
    output: Path, naive: dict[str, Any], written: fleet_runs.FleetRuns
) -> list[str]:
    """Whether every roll-up's blockers equal the pandas baseline's, and what it rolled up."""
    folders = sorted(path.parent for path in output.glob("fleet/*/rollup.json"))
    checks = []
    for folder in folders:
        found = pq.read_table(folder / "blockers.parquet").to_pylist()
        blockers = [[r["node_id"], r["version"], r["host_count"]] for r in found]
        if sorted(blockers, key=str) != naive["blockers"]:
            checks.append(f"CHECK FAILED: the blockers of {folder.name} differ from pandas'")
    read = naive["read"]
    if (read["nodes"], read["findings"]) != (written.nodes_rows, written.findings_rows):
        checks.append(f"CHECK FAILED: pandas read {read}, the runs hold other row counts")
    # NOTE: `Bench.repeat` runs the command once more, first, to sample its memory.
    if len(folders) != REPEAT_ROLLUP + 1:
        checks.append(f"CHECK FAILED: {len(folders)} roll-ups written, not {REPEAT_ROLLUP + 1}")
    if checks or not folders:
        return checks
    document = json.loads((folders[0] / "rollup.json").read_text(encoding="utf-8"))
    counts = ", ".join(f"{n:,} {name}" for name, n in document["counts"].items())
    runs = document["runs"]
    return [
        f"roll-up: {runs['found']:,} runs found, {runs['used']:,} used; {counts} rows; the "
        f"blockers of every roll-up equal pandas' ({len(naive['blockers'])} packs, "
        f"{naive['hosts']:,} hosts)"
    ]


# -- case 6 and 7: the workflows and the vulnerability check ---------------------------------


def case_workflows() -> Row:
    """`benchmarks.workflows`: 100 workflows over 500 hosts from a mirror file, against the same
    run without workflows; its comfy-nodes requests against the loopback registry."""
    result = workflows.run_case()
    return Row(
        case=f"{workflows.WORKFLOWS} workflows x {workflows.HOSTS} hosts, mirror file",
        seconds=result.seconds,
        baseline_seconds=result.seconds_without_workflows,
        requests=0,
        lookups=0,
        baseline_requests=0,
        peak_rss_mb=result.peak_rss_mb,
        target=f"≤ {workflows.SECONDS:.0f} s, peak RSS ≤ {workflows.RSS_MB / 1000:.1f} GB, "
        "comfy-nodes requests within budget",
        met=all(result.met.values()),
        baseline="the same `run` (defaults) without --workflow; one run each "
        "(benchmarks/workflows.py)",
        notes=[
            f"{result.workflows} workflow rows, {sum(result.findings.values()):,} findings; "
            f"comfy-nodes requests against the loopback registry (no cache): "
            f"{result.comfy_nodes_requests}, budget {result.comfy_nodes_allowed} (one per "
            "distinct installed pack version the workflows need, one per unresolved class)"
        ],
        times=[round(result.seconds, 3)],
    )


def case_vulns(bench: Bench) -> Iterator[Row]:
    """`benchmarks.vulns`: the OSV request budgets, then what the offline export adds."""
    rng = random.Random(vulns.SEED)
    records, hosts = vulns.advisories(rng), vulns.fleet(rng)
    folder = bench.folder("vulns")
    start = time.perf_counter()
    counts = vulns.requests_case(records, hosts, folder)
    seconds = time.perf_counter() - start
    allowed = counts["batches_allowed"] + counts["distinct_advisories"]
    sent = counts["batches"] + counts["advisory_gets"]
    yield Row(
        case=f"OSV lookups, {vulns.HOSTS} hosts x {vulns.IMAGE + vulns.OWN} installed, cold",
        seconds=seconds,
        baseline_seconds=0.0,
        requests=sent,
        lookups=0,
        baseline_requests=0,
        peak_rss_mb=0.0,
        target="≤ 1 batch per 1,000 pairs + 1 GET per advisory; 0 warm",
        met=sent <= allowed
        and counts["advisory_gets"] <= counts["distinct_advisories"]
        and counts["warm_requests"] == 0,
        baseline="none: a request budget (the stage in-process against tests/osv_server.py, "
        "a fresh cache, then again on the filled cache)",
        notes=[
            f"{counts['distinct_pairs']:,} distinct pairs: {counts['batches']} query batches "
            f"(budget {counts['batches_allowed']}), {counts['advisory_gets']} advisory GETs "
            f"({counts['distinct_advisories']} distinct advisories), warm run "
            f"{counts['warm_requests']} requests"
        ],
        times=[round(seconds, 3)],
    )
    without, with_db = vulns.offline_runs(records, hosts, folder)
    added = with_db[0] - without[0]
    yield Row(
        case=f"OSV offline export of {vulns.ADVISORIES:,} advisories, {vulns.HOSTS} hosts",
        seconds=with_db[0],
        baseline_seconds=without[0],
        requests=0,
        lookups=0,
        baseline_requests=0,
        peak_rss_mb=with_db[1],
        target=f"adds ≤ {vulns.MAX_SECONDS:.0f} s, ≤ {vulns.MAX_MB:.0f} MB",
        met=added <= vulns.MAX_SECONDS and with_db[1] - without[1] <= vulns.MAX_MB,
        baseline=f"the same `run` with --vuln-db none; medians of {vulns.REPEAT} runs each "
        "(benchmarks/vulns.py)",
        baseline_peak_rss_mb=without[1],
        notes=[
            f"the export adds {added:.2f} s, {with_db[1] - without[1]:.0f} MB and "
            f"{with_db[2] - without[2]:.2f} s of CPU time"
        ],
        times=[round(with_db[0], 3)],
    )


# -- case 8: start-up --------------------------------------------------------------------------


def case_help() -> Row:
    """``comfy-audit --help`` against the bare interpreter starting and stopping."""
    ours = measure_median([COMFY_AUDIT, "--help"], REPEAT_HELP)
    floor = measure_median([PYTHON, "-c", "pass"], REPEAT_HELP)
    return Row(
        case="comfy-audit --help",
        seconds=ours.seconds,
        baseline_seconds=floor.seconds,
        requests=0,
        lookups=0,
        baseline_requests=0,
        peak_rss_mb=ours.peak_rss_mb,
        target="≤ 0.25 s",
        met=ours.seconds <= 0.25,
        baseline=f"`python -c pass` (the interpreter's own start-up: the floor); medians of "
        f"{REPEAT_HELP} runs each",
        baseline_peak_rss_mb=floor.peak_rss_mb,
        times=[round(run.seconds, 3) for run in ours.runs],
    )


# -- output ------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """The machine the numbers were measured on."""
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = _meminfo()
    return {
        "cpus": str(len(os.sched_getaffinity(0))),
        "memory_gb": f"{memory.get('MemTotal', 0) / 2**20:.1f}",
        "memory_available_gb": f"{memory.get('MemAvailable', 0) / 2**20:.1f}",
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_1min": f"{os.getloadavg()[0]:.2f}",
    }


def _meminfo() -> dict[str, int]:
    """``/proc/meminfo`` in KiB, by field."""
    fields = {}
    with open("/proc/meminfo", encoding="utf-8") as meminfo:
        for line in meminfo:
            name, _, rest = line.partition(":")
            value = rest.split()
            if value and value[0].isdigit():
                fields[name] = int(value[0])
    return fields


def load_line(start: str, end: str, cpus: str) -> str:
    """The machine's load around the run: other processes make every time here longer."""
    line = f"load: 1-minute average {start} before, {end} after ({cpus} CPUs)"
    if max(float(start), float(end)) > 0.5 * int(cpus):
        line += "; other processes were running, so these times are pessimistic"
    return line


_HEADER = (
    *("case", "comfy-audit", "baseline", "speed-up", "HTTP (lookups)", "baseline HTTP"),
    *("peak RSS", "baseline RSS", "target", "met"),
)


def table(rows: Sequence[Row]) -> str:
    """The rows as a fixed-width text table, the baselines spelled out under it."""
    cells = [_HEADER] + [
        (
            row.case,
            f"{row.seconds:.2f} s",
            f"{row.baseline_seconds:.2f} s" if row.baseline_seconds > 0 else "-",
            "-"
            if row.baseline_seconds <= 0
            else f"{row.speedup:.1f}x"
            if row.speedup >= 1
            else f"{row.speedup:.2f}x",
            f"{row.requests} ({row.lookups})",
            f"{row.baseline_requests}",
            f"{row.peak_rss_mb:.0f} MB" if row.peak_rss_mb > 0 else "-",
            "-" if row.baseline_peak_rss_mb is None else f"{row.baseline_peak_rss_mb:.0f} MB",
            row.target or "(comparison)",
            "-" if not row.target else "MET" if row.met else "NOT MET",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in cells) for i in range(len(_HEADER))]
    lines = [
        "  ".join(
            c.ljust(w) if i in (0, 8, 9) else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in cells
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines += ["", "baselines:"] + [f"  {n}. {row.baseline}" for n, row in enumerate(rows, 1)]
    notes = [f"  {n}. {note}" for n, row in enumerate(rows, 1) for note in row.notes]
    return "\n".join(lines + (["notes:", *notes] if notes else []))


def report(rows: Sequence[Row], bench: Bench, before: dict[str, str]) -> str:
    """The whole printed report: what was measured, where, on what data, and the table."""
    host = machine()
    data = (
        f"data: {len(bench.registry.packs):,} generated nodes, {len(bench.registry.records):,} "
        f"NodeVersion records, seed {SEED}, shaped by {bench.shape.source}"
    )
    return "\n".join(
        [
            f"comfy-audit benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"machine: {host['cpus']} CPUs ({host['cpu_model']}), {host['memory_gb']} GB memory "
            f"({before['memory_available_gb']} GB available before), Python {host['python']}, "
            f"{host['platform']}",
            load_line(before["load_average_1min"], host["load_average_1min"], host["cpus"]),
            data,
            f"hosts' pips: {bench.pip_shape.source}",
            f"registry: tests/registry_server.py on loopback, {LATENCY * 1000:.0f} ms per answer",
            "",
            table(rows),
        ]
    )


def run_cases(bench: Bench) -> Iterator[Row]:
    """Every case, in order (the warm case reuses the cold case's cache and naive run; the
    scale case the fleet case's mirror; the roll-up case cuts its runs from the fleet case's
    reports)."""
    manifest = cold_manifest(bench)
    progress("1/8: 300 packs, cold cache, and the naive client (about 40 s)")
    yield from case_cold(bench, manifest)
    progress("2/8: warm cache")
    yield from case_warm(bench, manifest)
    progress("3/8: 500 hosts from a mirror file, and per-host runs (about 90 s)")
    yield from case_fleet(bench)
    progress("4/8: 5,000 hosts from a pool of 400 packs, and 500 from the same pool")
    yield case_scale(bench)
    progress("5/8: 10,000 runs written, rolled up, and read by pandas (about 2 minutes)")
    yield case_rollup(bench)
    progress("6/8: 100 workflows x 500 hosts, and their comfy-nodes requests")
    yield case_workflows()
    progress("7/8: OSV lookups and the offline export of 20,000 advisories")
    yield from case_vulns(bench)
    progress("8/8: --help")
    yield case_help()


def progress(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def warm_up() -> None:
    """Load the programs and libraries into the page cache once, untimed."""
    measure([COMFY_AUDIT, "--version"])
    measure([PYTHON, "-c", "import pandas, pyarrow, requests"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    options = parser.parse_args(argv)
    before = machine()
    rng = random.Random(SEED)
    shape = load_shape()
    registry = fixtures.generate_registry(shape, rng, REGISTRY_NODES)
    try:
        warm_up()
        with (
            tempfile.TemporaryDirectory(prefix="comfy-audit-bench-") as tmp,
            RegistryServer(registry.records, latency=LATENCY, nodes=registry.nodes) as server,
        ):
            bench = Bench(shape, registry, server, Path(tmp), rng, pips.load_pip_shape())
            rows = list(run_cases(bench))
            if server.errors:
                raise BenchmarkError("the loopback registry failed:\n" + server.errors[0])
    except BenchmarkError as error:
        print(f"bench: the benchmark failed: {error}", file=sys.stderr)
        return 1
    print(report(rows, bench, before))
    document = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine_before": before,
        "machine_after": machine(),
        "data": {"shape": bench.shape.source, "seed": SEED, "records": len(registry.records)},
        "rows": [asdict(row) | {"speedup": row.speedup} for row in rows],
    }
    write_json(options.json, document)
    return 0


if __name__ == "__main__":
    sys.exit(main())

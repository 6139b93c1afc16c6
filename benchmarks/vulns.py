"""The vulnerability check's budgets (issue 16), runnable on its own:
``python -m benchmarks.vulns [--json PATH]``.

- requests: a fleet of 500 hosts with 150 installed distributions each, heavily overlapping (one
  machine image of 140 distributions, plus 10 at a version of each host's own), against the
  loopback OSV server of `tests.osv_server`: at most one query batch per 1,000 distinct
  (distribution, version) pairs (plus one per page the server splits), one GET per distinct
  advisory, and nothing at all on a warm run;
- offline: the same fleet run through the command line with ``--vuln-db`` a synthetic OSV PyPI
  export of 20,000 advisories (a zip, as osv.dev publishes it) and with ``--vuln-db none``: the
  check may add at most 5 s and 500 MB.

Data are generated with a seeded random in the shape of real records (a range, a versions
list, aliases, a CVSS vector). Targets are reported, met or not; the exit code is non-zero only
when the benchmark itself could not run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from audit.model import Environment
from audit.vulnerabilities import audit_vulnerabilities, open_vulnerability_source
from benchmarks.measure import BenchmarkError, measure_median
from tests.osv_server import BATCH_PATH, OsvServer

SEED = 16
ADVISORIES = 20_000
MALICIOUS = 12_000
"""Of the advisories, malicious-package records, each about a typosquat of its own (as in the
real export, where they are the majority)."""
PACKAGES = 1_500
"""Packages the other advisories are about."""
HOSTS = 500
IMAGE = 140
OWN = 10
VERSIONS = 40
RECENT = 10
"""Installed versions are among the newest this many: most advisories are fixed below them."""
REPEAT = 3
MAX_SECONDS, MAX_MB = 5.0, 500.0
V3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H"


@dataclass(frozen=True)
class Result:
    """Represents the benchmark's numbers and whether each budget was met."""

    distinct_pairs: int
    batches: int
    batches_allowed: int
    advisory_gets: int
    distinct_advisories: int
    warm_requests: int
    offline_seconds_added: float
    offline_cpu_seconds_added: float
    """User and system CPU time added: what the check costs on an idle machine."""
    offline_mb_added: float
    load: float
    """The 1-minute load average at the end: above the CPU count, wall times are inflated."""
    cpus: int
    met: dict[str, bool]


def _version(i: int) -> str:
    return f"{i // 10}.{i % 10}.0"


def advisories(rng: random.Random) -> list[dict[str, Any]]:
    """``ADVISORIES`` records: ``MALICIOUS`` typosquats (a versions list each), the rest about
    ``PACKAGES`` packages, each a range and a versions list."""
    records = [_malicious(n) for n in range(MALICIOUS)]
    for n in range(ADVISORIES - MALICIOUS):
        package = f"pkg-{rng.randrange(PACKAGES):04d}"
        fixed = rng.randrange(1, VERSIONS)
        records.append(
            {
                "id": f"PYSEC-2099-{n}",
                "modified": "2026-01-01T00:00:00Z",
                "aliases": [f"CVE-2099-{n}", f"GHSA-bench-{n:05d}"],
                "details": f"A synthetic flaw number {n} in {package}. " + "Padding text. " * 20,
                "affected": [
                    {
                        "package": {"ecosystem": "PyPI", "name": package},
                        "ranges": [
                            {
                                "type": "ECOSYSTEM",
                                "events": [{"introduced": "0"}, {"fixed": _version(fixed)}],
                            }
                        ],
                        "versions": [_version(v) for v in range(fixed)],
                    }
                ],
                "severity": [{"type": "CVSS_V3", "score": V3}],
            }
        )
    return records


def _malicious(n: int) -> dict[str, Any]:
    return {
        "id": f"MAL-2099-{n}",
        "modified": "2026-01-01T00:00:00Z",
        "summary": f"Malicious code in typo-{n} (PyPI)",
        "details": "Exfiltrates environment variables on import. " * 10,
        "affected": [
            {"package": {"ecosystem": "PyPI", "name": f"typo-{n}"}, "versions": ["0.0.1"]}
        ],
    }


def _recent(rng: random.Random) -> str:
    return _version(rng.randrange(VERSIONS - RECENT, VERSIONS))


def fleet(rng: random.Random) -> dict[str, Environment]:
    """``HOSTS`` hosts: one image of ``IMAGE`` distributions plus ``OWN`` of their own."""
    names = [f"pkg-{i:04d}" for i in rng.sample(range(PACKAGES), IMAGE + OWN * 4)]
    image = {name: _recent(rng) for name in names[:IMAGE]}
    hosts = {}
    for h in range(HOSTS):
        own = {name: _recent(rng) for name in rng.sample(names[IMAGE:], OWN)}
        hosts[f"host-{h:03d}"] = Environment(installed={**image, **own})
    return hosts


def requests_case(
    records: list[dict[str, Any]], hosts: dict[str, Environment], tmp: Path
) -> dict[str, int]:
    pairs = {(n, v) for env in hosts.values() for n, v in (env.installed or {}).items()}
    with OsvServer(records) as server:
        source = open_vulnerability_source(server.url, cache_dir=tmp / "cache")
        audit_vulnerabilities(source, hosts, [])
        batches = len(server.paths("POST"))
        gets = server.paths("GET")
        names = {n for n, _ in pairs}
        candidates = {r["id"] for r in records if r["affected"][0]["package"]["name"] in names}
        server.clear_log()
        audit_vulnerabilities(
            open_vulnerability_source(server.url, cache_dir=tmp / "cache"), hosts, []
        )
        warm = len(server.requests)
    if any(p != BATCH_PATH for p in server.paths("POST")):
        raise BenchmarkError("unexpected POST route")
    return {
        "distinct_pairs": len(pairs),
        "batches": batches,
        "batches_allowed": math.ceil(len(pairs) / 1000),
        "advisory_gets": len(gets),
        "distinct_advisories": len(candidates),
        "warm_requests": warm,
    }


def write_export(path: Path, records: list[dict[str, Any]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for record in records:
            archive.writestr(f"{record['id']}.json", json.dumps(record, indent=2))
    return path


def write_fleet(folder: Path, hosts: dict[str, Environment]) -> list[Path]:
    folder.mkdir()
    paths = []
    for host, env in hosts.items():
        pips = {f"{n}=={v}": "" for n, v in (env.installed or {}).items()}
        snapshot = {"comfyui": "v0.3.40", "cnr_custom_nodes": {}, "pips": pips}
        path = folder / f"{host}.json"
        path.write_text(json.dumps(snapshot))
        paths.append(path)
    return paths


def offline_case(
    records: list[dict[str, Any]], hosts: dict[str, Environment], tmp: Path
) -> tuple[float, float, float]:
    """What the zip adds to the run: wall seconds, peak MB and CPU seconds."""
    without, with_db = offline_runs(records, hosts, tmp)
    seconds, mb, cpu = (b - a for a, b in zip(without, with_db, strict=True))
    return seconds, mb, cpu


def offline_runs(
    records: list[dict[str, Any]], hosts: dict[str, Environment], tmp: Path
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """The fleet run with ``--vuln-db none``, then with the zip: each run's median wall seconds,
    peak MB and CPU seconds."""
    export = write_export(tmp / "all.zip", records)
    manifests = write_fleet(tmp / "fleet", hosts)
    mirror = tmp / "registry.jsonl"
    mirror.write_text("")
    executable = shutil.which("comfy-audit", path=str(Path(sys.executable).parent))
    if executable is None:
        raise BenchmarkError("comfy-audit is not installed beside this Python")

    def run(vuln_db: str | Path, out: str) -> tuple[float, float, float]:
        # NOTE: comfy-audit's defaults; the hosts have no packs, so there is nothing to advise.
        argv: list[str | Path] = [executable, "run", *manifests, "--registry", mirror, "-q"]
        argv += ["--os", "linux", "--accelerator", "cuda", "--fail-on", "never"]
        before = _children_cpu()
        summary = measure_median([*argv, "--vuln-db", vuln_db, "-o", tmp / out], REPEAT)
        cpu = (_children_cpu() - before) / REPEAT
        return summary.seconds, summary.peak_rss_mb, cpu

    return run("none", "without"), run(export, "with")


def _children_cpu() -> float:
    """CPU seconds of every waited-for descendant so far: unlike wall time, not inflated by other
    processes on a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", type=Path, help="Also write the numbers to this file.")
    options = parser.parse_args(argv)
    rng = random.Random(SEED)
    records, hosts = advisories(rng), fleet(rng)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-vulns-") as tmp:
            counts = requests_case(records, hosts, Path(tmp))
            seconds, mb, cpu = offline_case(records, hosts, Path(tmp))
    except BenchmarkError as error:
        print(f"benchmark failed: {error}", file=sys.stderr)
        return 2
    met = {
        "batches": counts["batches"] <= counts["batches_allowed"],
        "gets": counts["advisory_gets"] == counts["distinct_advisories"],
        "warm": counts["warm_requests"] == 0,
        "offline_seconds": seconds <= MAX_SECONDS,
        "offline_mb": mb <= MAX_MB,
    }
    result = Result(
        **counts,
        offline_seconds_added=seconds,
        offline_cpu_seconds_added=cpu,
        offline_mb_added=mb,
        load=os.getloadavg()[0],
        cpus=os.cpu_count() or 1,
        met=met,
    )
    print(_table(result))
    if options.json:
        options.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


def _table(r: Result) -> str:
    ok = {True: "met", False: "NOT MET"}
    return "\n".join(
        [
            f"vulnerabilities: {HOSTS} hosts x {IMAGE + OWN} installed, {r.distinct_pairs} "
            f"distinct pairs, {ADVISORIES} advisories ({MALICIOUS} malicious)",
            f"  query batches      {r.batches:>6}  (budget {r.batches_allowed})  "
            f"{ok[r.met['batches']]}",
            f"  advisory GETs      {r.advisory_gets:>6}  (distinct {r.distinct_advisories})  "
            f"{ok[r.met['gets']]}",
            f"  warm run requests  {r.warm_requests:>6}  (budget 0)  {ok[r.met['warm']]}",
            f"  offline zip adds   {r.offline_seconds_added:6.2f} s  (budget {MAX_SECONDS} s)  "
            f"{ok[r.met['offline_seconds']]}",
            f"  offline zip adds   {r.offline_mb_added:6.1f} MB (budget {MAX_MB} MB)  "
            f"{ok[r.met['offline_mb']]}",
            f"  offline zip adds   {r.offline_cpu_seconds_added:6.2f} s of CPU time (note)",
            f"  load average {r.load:.2f} on {r.cpus} CPUs at the end"
            + (": other processes ran, wall times are pessimistic" if r.load > r.cpus else ""),
        ]
    )


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the workflow audit: 100 workflows x 500 hosts from a mirror file.

Budget (issue 15): at most 10 s and 1.5 GB peak RSS; comfy-nodes requests at most one per
distinct installed pack version the workflows need plus one per distinct unresolved class,
counted against the loopback registry (`tests.registry_server`, no cache). Every run is
comfy-audit's defaults (the advisor on).

Run: ``python -m benchmarks.workflows`` (prints one JSON line; exit 1 when over budget);
``make bench`` runs it as one of its cases.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import measure
from tests.registry_server import RegistryServer

HOSTS = 500
WORKFLOWS = 100
PACKS = 200
PACKS_PER_HOST = 40
CLASSES_PER_PACK = 20
NODES_PER_WORKFLOW = 40
PACKS_PER_WORKFLOW = 5
SECONDS, RSS_MB = 10.0, 1500.0
_CORE = ["KSampler", "CLIPTextEncode", "VAEDecode", "SaveImage", "LoadImage", "EmptyLatentImage"]


def _pack(index: int) -> tuple[str, str]:
    return f"bench-pack-{index:03d}", "1.0.0" if index % 3 else "2.1.0"


def write_mirror(path: Path) -> None:
    lines = _mirror_lines()
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


def _mirror_lines() -> list[dict[str, Any]]:
    """The mirror's lines: each pack's record and its classes; two classes no pack provides."""
    lines: list[dict[str, Any]] = []
    for index in range(PACKS):
        node_id, version = _pack(index)
        lines.append(
            {
                "node_id": node_id,
                "version": version,
                "status": "NodeVersionStatusActive",
                "supported_comfyui_version": ">=0.3.0,<0.5.0" if index % 7 else "<0.4.0",
            }
        )
        nodes = [
            {
                "comfy_node_name": f"{node_id}-class-{c}",
                "deprecated": c == 1,
                "policy": "ComfyNodePolicyActive",
            }
            for c in range(CLASSES_PER_PACK)
        ]
        lines.append(
            {"comfy_nodes_of": {"node_id": node_id, "version": version}, "comfy_nodes": nodes}
        )
    lines += [{"comfy_node_name": name, "node": None} for name in ("UnknownA", "UnknownB")]
    return lines


def write_hosts(folder: Path, rng: random.Random) -> list[Path]:
    """Hosts built from one image of packs, each missing a few and carrying a few extra, as a
    render fleet drifts."""
    folder.mkdir()
    files = []
    image = range(PACKS_PER_HOST)
    for host in range(HOSTS):
        dropped = set(rng.sample(image, 2))
        extra = rng.sample(range(PACKS_PER_HOST, PACKS), 3)
        packs = dict(_pack(i) for i in [*image, *extra] if i not in dropped)
        snapshot = {
            "comfyui": "v0.3.40",
            "git_custom_nodes": {},
            "cnr_custom_nodes": packs,
            "file_custom_nodes": [],
            "pips": {"numpy==1.26.4": ""},
        }
        path = folder / f"host-{host:03d}.json"
        path.write_text(json.dumps(snapshot), encoding="utf-8")
        files.append(path)
    return files


def write_workflows(folder: Path, rng: random.Random) -> None:
    """Workflows of 40 nodes over ComfyUI's own and five packs of the fleet's image; one class
    in 200 that no pack version has; one node in nine bypassed; one workflow in ten with a
    class no pack provides."""
    folder.mkdir()
    for number in range(WORKFLOWS):
        uses = rng.sample(range(PACKS_PER_HOST), PACKS_PER_WORKFLOW)
        nodes = []
        for node in range(NODES_PER_WORKFLOW):
            if node % 4 == 0:
                nodes.append(
                    {
                        "id": node,
                        "type": rng.choice(_CORE),
                        "mode": 0,
                        "properties": {"cnr_id": "comfy-core", "ver": "0.3.30"},
                    }
                )
                continue
            node_id, version = _pack(rng.choice(uses))
            absent = rng.randrange(200) == 0
            cls = f"{node_id}-class-{CLASSES_PER_PACK if absent else rng.randrange(2, 20)}"
            nodes.append(
                {
                    "id": node,
                    "type": cls,
                    "mode": 4 if node % 9 == 0 else 0,
                    "properties": {"cnr_id": node_id, "ver": version},
                }
            )
        if number % 10 == 0:
            nodes.append({"id": 999, "type": "UnknownA" if number % 20 else "UnknownB", "mode": 0})
        document = {"nodes": nodes, "links": [], "extra": {}, "version": 0.4}
        (folder / f"wf-{number:03d}.json").write_text(json.dumps(document), encoding="utf-8")


@dataclass(frozen=True)
class Result:
    """Represents the workflow case's numbers and whether each budget was met."""

    seconds: float
    peak_rss_mb: float
    seconds_without_workflows: float
    workflows: int
    findings: dict[str, int]
    """The run's findings by severity."""
    comfy_nodes_requests: int
    """Requests for classes (``/comfy-nodes``) against the loopback registry, pages included."""
    comfy_nodes_allowed: int
    """One per distinct installed pack version the workflows need, one per unresolved class."""
    load_average: float
    met: dict[str, bool] = field(default_factory=dict)


def run_case() -> Result:
    """Time the fleet with and without 100 workflows from a mirror file (comfy-audit's defaults),
    then count its comfy-nodes requests against the loopback registry."""
    rng = random.Random(15)
    with tempfile.TemporaryDirectory(prefix="bench-workflows-") as tmp:
        root = Path(tmp)
        mirror = root / "mirror.jsonl"
        write_mirror(mirror)
        hosts = write_hosts(root / "hosts", rng)
        workflows = root / "workflows"
        write_workflows(workflows, rng)
        argv = _argv(hosts, mirror)
        base = measure([*argv, "--output", root / "base"], ok=(0, 1))
        run = measure([*argv, "--workflow", workflows, "-o", root / "out"], ok=(0, 1))
        (folder,) = (root / "out").iterdir()
        counts = json.loads((folder / "run.json").read_text(encoding="utf-8"))["counts"]
        requests, allowed = _comfy_nodes_requests(root, hosts, workflows)
    met = {
        "seconds": run.seconds <= SECONDS,
        "peak_rss": run.peak_rss_mb <= RSS_MB,
        "comfy_nodes": requests <= allowed,
    }
    return Result(
        run.seconds, run.peak_rss_mb, base.seconds, counts["workflows"], counts["findings"],
        requests, allowed, os.getloadavg()[0], met,
    )  # fmt: skip


def _argv(hosts: list[Path], registry: Path | str) -> list[str | Path]:
    argv: list[str | Path] = [Path(sys.executable).parent / "comfy-audit", "run", *hosts]
    argv += ["--registry", registry, "--os", "linux", "--accelerator", "cuda"]
    return [*argv, "--target-comfyui", "0.4.0", "-q"]


def _comfy_nodes_requests(root: Path, hosts: list[Path], workflows: Path) -> tuple[int, int]:
    """The fleet with its workflows against the loopback registry, no cache: the comfy-nodes
    requests it sent, and the budget."""
    records = [line for line in _mirror_lines() if "version" in line and "node_id" in line]
    with RegistryServer(records) as server:
        for line in _mirror_lines():
            if "comfy_nodes_of" in line:
                of = line["comfy_nodes_of"]
                server.add_comfy_nodes(of["node_id"], of["version"], line["comfy_nodes"])
        out = root / "loopback"
        measure([*_argv(hosts, server.url), "--workflow", workflows, "--no-cache", "-o", out],
                ok=(0, 1))  # fmt: skip
        sent = sum("comfy-nodes" in path for path in server.paths("GET"))
    return sent, len(_needed_versions(hosts, workflows)) + len(_unresolved(workflows))


def _needed_versions(hosts: list[Path], workflows: Path) -> set[tuple[str, str]]:
    used = {
        node["properties"]["cnr_id"]
        for node in _workflow_nodes(workflows)
        if node.get("properties", {}).get("cnr_id", "comfy-core") != "comfy-core"
    }
    installed = set()
    for host in hosts:
        packs = json.loads(host.read_text(encoding="utf-8"))["cnr_custom_nodes"]
        installed |= {(pack, version) for pack, version in packs.items() if pack in used}
    return installed


def _unresolved(workflows: Path) -> set[str]:
    return {
        n["type"] for n in _workflow_nodes(workflows) if "cnr_id" not in n.get("properties", {})
    }


def _workflow_nodes(workflows: Path) -> list[dict[str, Any]]:
    return [
        node
        for path in sorted(workflows.glob("*.json"))
        for node in json.loads(path.read_text(encoding="utf-8"))["nodes"]
    ]


def main() -> int:
    result = run_case()
    print(json.dumps(asdict(result)))
    return 0 if all(result.met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

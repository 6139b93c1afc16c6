"""Benchmark of the workflow audit: 100 workflows x 500 hosts from a mirror file.

Budget (issue 15): at most 10 s and 1.5 GB peak RSS; comfy-nodes requests at most one per
distinct installed pack version the workflows need plus one per distinct unresolved class (a
mirror run sends none; the request bound is tested end to end in tests/workflows).

Run: ``python -m benchmarks.workflows`` (prints one JSON line; exit 1 when over budget).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.measure import measure

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
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")


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


def main() -> int:
    rng = random.Random(15)
    with tempfile.TemporaryDirectory(prefix="bench-workflows-") as tmp:
        root = Path(tmp)
        mirror = root / "mirror.jsonl"
        write_mirror(mirror)
        hosts = write_hosts(root / "hosts", rng)
        write_workflows(root / "workflows", rng)
        argv: list[str | Path] = [sys.executable, "-m", "audit", "run", *hosts, "--registry"]
        argv += [mirror, "--os", "linux", "--accelerator", "cuda", "--target-comfyui", "0.4.0"]
        argv += ["--no-advice", "-q"]
        base = measure([*argv, "--output", root / "base"], ok=(0, 1))
        run = measure([*argv, "--workflow", root / "workflows", "-o", root / "out"], ok=(0, 1))
        (folder,) = (root / "out").iterdir()
        counts = json.loads((folder / "run.json").read_text(encoding="utf-8"))["counts"]
    met = run.seconds <= SECONDS and run.peak_rss_mb <= RSS_MB
    print(
        json.dumps(
            {
                "case": f"{WORKFLOWS} workflows x {HOSTS} hosts, mirror file",
                "seconds": round(run.seconds, 2),
                "peak_rss_mb": round(run.peak_rss_mb),
                "seconds_without_workflows": round(base.seconds, 2),
                "load_average": os.getloadavg()[0],
                "target": f"<= {SECONDS:.0f} s, peak RSS <= {RSS_MB:.0f} MB",
                "met": met,
                "workflows": counts["workflows"],
                "findings": counts["findings"],
            }
        )
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

"""The baseline of the roll-up case: a fleet roll-up as a user writes it in a notebook, in pandas.

It reads every run's ``findings.parquet`` and ``nodes.parquet`` with ``pd.read_parquet`` and
concatenates them (the whole history in memory at once), keeps each host's newest run (the
largest run id: run ids start with their UTC start time) and counts, with pandas groupbys, the
hosts on which each pack blocks the ComfyUI upgrade: the same rule as comfy-audit's ``blockers``
(an ``after-upgrade`` incompatibility finding, or a pack that is compatible now but not after the
upgrade). Run as a script::

    python benchmarks/naive_fleet.py OUTPUT_DIR

It prints one JSON object: the rows it read, the hosts it kept, and the blockers as
``[node_id, version, host_count]`` rows, which the benchmark compares with comfy-audit's
``blockers`` table to show both did the same work.
"""

from __future__ import annotations

import json
import sys
from glob import glob

import pandas as pd

BLOCKING_CHECKS = ["comfyui.incompatible", "frontend.incompatible"]


def main(argv: list[str]) -> int:
    """Roll up the runs under ``argv[1]``."""
    output = argv[1]
    findings = pd.concat(pd.read_parquet(p) for p in glob(f"{output}/*/findings.parquet"))
    nodes = pd.concat(pd.read_parquet(p) for p in glob(f"{output}/*/nodes.parquet"))
    read = {"findings": len(findings), "nodes": len(nodes)}
    newest = nodes.groupby("host", as_index=False)["run_id"].max()
    findings = findings.merge(newest, on=["host", "run_id"])
    nodes = nodes.merge(newest, on=["host", "run_id"])
    after_upgrade = findings["when"] == "after-upgrade"
    upgrade = findings[findings["check"].isin(BLOCKING_CHECKS) & after_upgrade]
    broken_by_upgrade = nodes["compatible_after_upgrade"].eq(False)
    broken = nodes[broken_by_upgrade & ~nodes["compatible_now"].eq(False)]
    columns = ["node_id", "version", "host"]
    blocking = pd.concat([upgrade[columns], broken[columns]])
    counts = blocking.groupby(["node_id", "version"], dropna=False)["host"].nunique()
    blockers = [
        [row["node_id"], None if pd.isna(row["version"]) else row["version"], int(row["hosts"])]
        for row in counts.reset_index(name="hosts").to_dict("records")
    ]
    print(json.dumps({"read": read, "hosts": len(newest), "blockers": sorted(blockers, key=str)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

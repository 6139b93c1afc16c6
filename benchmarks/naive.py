"""The baseline: the registry check a user writes in a notebook, one GET per pack.

It reads the registry packs of a ComfyUI-Manager snapshot, asks the registry for each
``node@version`` in turn with ``requests.get`` (as the API docs show it), parses the JSON and
tallies the statuses, counting a 404 as "not found". No session, no concurrency, no cache:
what the tools people use today do (issue 5). Run as a script::

    python benchmarks/naive.py http://127.0.0.1:8000 snapshot.json

It prints the tally as one JSON object, which the benchmark compares with comfy-audit's
``nodes`` table to show both did the same work.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import requests

NOT_FOUND = "not found"


def check_pack(base: str, node_id: str, version: str) -> str:
    """The registry status of one pack version, or ``"not found"``."""
    response = requests.get(f"{base}/nodes/{node_id}/versions/{version}", timeout=10)
    if response.status_code == 404:
        return NOT_FOUND
    response.raise_for_status()
    return str(response.json()["status"])


def main(argv: list[str]) -> int:
    """Check every registry pack of the snapshot ``argv[2]`` against the registry ``argv[1]``."""
    base, path = argv[1], argv[2]
    with open(path, encoding="utf-8") as file:
        packs = json.load(file)["cnr_custom_nodes"]
    statuses = Counter(check_pack(base, node_id, version) for node_id, version in packs.items())
    print(json.dumps(dict(sorted(statuses.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

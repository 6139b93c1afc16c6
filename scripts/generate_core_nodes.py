"""Generate audit/workflows/data/comfyui_core_nodes.json from a ComfyUI source tree.

Usage: python scripts/generate_core_nodes.py COMFYUI_SOURCE_DIR COMMIT [OUTPUT]

COMFYUI_SOURCE_DIR is a checkout (or ``git archive`` export) of comfyanonymous/ComfyUI; COMMIT
is recorded in the file so that anyone can regenerate it from the same tree. The names are read
with ``ast`` (audit.workflows.core_scan), exactly as ``--comfyui`` reads an install.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from audit.workflows.core_scan import scan_core

_DEFAULT = Path(__file__).resolve().parent.parent / "audit/workflows/data/comfyui_core_nodes.json"


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    root, commit = Path(argv[0]), argv[1]
    output = Path(argv[2]) if len(argv) == 3 else _DEFAULT

    def read(relative: str) -> str | None:
        path = root / relative
        return path.read_text(encoding="utf-8") if path.is_file() else None

    api_files = sorted(
        p.relative_to(root).as_posix() for p in root.glob("comfy_api_nodes/nodes_*.py")
    )
    core = scan_core(read, api_files)
    document = {
        "source": "https://github.com/comfyanonymous/ComfyUI",
        "commit": commit,
        "comfyui_version": core.version,
        "generated_by": "scripts/generate_core_nodes.py",
        "nodes": sorted(core.nodes),
        "api_nodes": sorted(core.api_nodes),
    }
    output.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"{output}: {len(core.nodes)} nodes, {len(core.api_nodes)} API nodes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The ``import_failures`` key of snapshots written by ``scan -o``: ``{node_id: {reason,
timestamp}}``, the packs ComfyUI's log said failed to import. ComfyUI-Manager ignores it."""

from __future__ import annotations

from collections.abc import Mapping

from audit.manifest.interface import Context, Malformed, brief
from audit.manifest.tree import Map, Tree, as_id, as_optional_str, as_str, describe, is_null
from audit.model import ImportFailure

__all__ = ["IMPORT_FAILURES", "import_failures_json", "read_import_failures"]

IMPORT_FAILURES = "import_failures"


def read_import_failures(tree: Tree | None, ctx: Context) -> dict[str, ImportFailure] | None:
    """The failures the key holds; ``None`` when it is absent or null (unknown, not "none")."""
    if tree is None or is_null(tree):
        return None
    if not isinstance(tree, Map):
        shape = "a mapping of node id to {reason, timestamp}"
        ctx.problems.add(f"{IMPORT_FAILURES} must be {shape}, got {describe(tree)}", tree.line)
        return None
    failures: dict[str, ImportFailure] = {}
    for key, value in tree.pairs:
        try:
            node_id = as_id(key, "node id", value.line)
            failures.setdefault(node_id, _failure(node_id, value))
        except Malformed as e:
            ctx.problems.add(e.message, e.line)
    return failures


def _failure(node_id: str, value: Tree) -> ImportFailure:
    if not isinstance(value, Map):
        message = f"import failure of {brief(node_id)} must be a mapping with reason and timestamp"
        raise Malformed(f"{message}, got {describe(value)}", value.line)
    reason = as_str(value.get("reason"), f"reason of {brief(node_id)}", value.line)
    stamp = as_optional_str(value.get("timestamp"), f"timestamp of {brief(node_id)}", value.line)
    return ImportFailure(reason, stamp)


def import_failures_json(failures: Mapping[str, ImportFailure]) -> dict[str, dict[str, object]]:
    """The key's value for ``failures``, as ``read_import_failures`` reads it back."""
    return {n: {"reason": f.reason, "timestamp": f.timestamp} for n, f in failures.items()}

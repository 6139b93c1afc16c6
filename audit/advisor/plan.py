"""Turn recommendations into something to act on: the upgrade verdict, commands, a snapshot."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from audit.advisor.choose import BANNED_PACK, needs_advice
from audit.advisor.interface import Recommendation, counts, is_trigger
from audit.advisor.judge import clean
from audit.errors import InputError
from audit.manifest.render import to_snapshot
from audit.model import (
    ID_PATTERN,
    VERSION_PATTERN,
    AuditedEntry,
    Environment,
    Manifest,
    ManifestEntry,
    When,
)

__all__ = [
    "changed_by_upgrade",
    "changed_verdict",
    "plan_commands",
    "plan_paths",
    "plan_snapshot",
    "upgrade_verdict",
]

_T = TypeVar("_T")
#: Packs named in a verdict at most; the rest are counted.
MAX_NAMED = 10
#: The manifest path a plan snapshot names (it is written wherever the user asks).
PLAN = "plan"


def upgrade_verdict(
    audited: Sequence[AuditedEntry],
    recommendations: Sequence[Recommendation],
    env: Environment,
) -> str:
    """Answer the upgrade question of a run whose ``env`` has a ``--target-*`` version.

    ``upgrade is safe`` when no pack needs a change for the target; ``safe after N pack
    changes: …`` when each that does has a version to move to; ``blocked by these packs: …``
    when some has none (or was not advised on). Packs that need advice for other reasons (a
    flagged version that works after the upgrade too) do not change the answer.

    Without a target, the now-state: ``no pack needs a change``, or the changes advised and
    the packs with no fitting version. Packs are named once, however many hosts have them.
    """
    if not (env.target_comfyui or env.target_frontend):
        return _now_state(recommendations)
    return changed_verdict(changed_by_upgrade(audited, env), recommendations)


def changed_verdict(
    changed: Sequence[AuditedEntry], recommendations: Sequence[Recommendation]
) -> str:
    """`upgrade_verdict` with a target, of the entries `changed_by_upgrade` gave."""
    advice = {(r.host, r.node_id.lower(), r.version): r for r in recommendations}
    blocked: list[_Pack] = []
    changes: list[_Change] = []
    for a in changed:
        found = advice.get((a.entry.host, a.entry.node_id.lower(), a.entry.version))
        if found is None or found.recommended_version is None:
            blocked.append((a.entry.node_id, a.entry.version))
        else:
            changes.append(_moved_from(found))
    if blocked:
        return f"blocked by these packs: {_listing(blocked, _pack)}"
    if changes:
        return f"safe after {_changes(changes)}: {_listing(changes, _change)}"
    return "upgrade is safe"


def changed_by_upgrade(audited: Sequence[AuditedEntry], env: Environment) -> list[AuditedEntry]:
    """The entries that need a change for ``env``'s target (none without one): the upgrade is
    what makes them need advice, and they decide the verdict (`changed_verdict`)."""
    if not (env.target_comfyui or env.target_frontend):
        return []
    # NOTE: the cheaper test first: most packs of a fleet have nothing after the upgrade.
    return [a for a in audited if _upgrade_affects(a, env) and needs_advice(a, env)]


def plan_commands(recommendations: Sequence[Recommendation]) -> list[str]:
    """Return the plan as shell lines a user can paste: ``comfy node install <id>@<version>``.

    A pack with no fitting version gets a comment saying why, and how to disable it (to
    uninstall it, when the registry banned the pack or its publisher). With several hosts, each
    host's lines follow a ``# host <name>`` comment. A command holds only an id and a version of
    the registry's shapes (else the line is a comment), shell-quoted; registry text and host
    names in comments are kept to one line.
    """
    hosts = list(dict.fromkeys(r.host for r in recommendations))
    lines: list[str] = []
    for host in hosts:
        if len(hosts) > 1:
            lines.append(f"# host {clean(host, limit=200)}")
        mine = (r for r in recommendations if r.host == host)
        lines.extend(_command(r) for r in _unique(mine))
    return lines


def plan_snapshot(
    recommendations: Sequence[Recommendation],
    manifest_entries: Sequence[ManifestEntry],
    *,
    host: str | None = None,
) -> dict[str, object]:
    """Return a ComfyUI-Manager snapshot of one host's packs with the recommended versions.

    Every pack of ``manifest_entries`` is in it, as `audit.manifest.to_snapshot` writes it; a
    pack with a recommendation is at the recommended version, under ``cnr_custom_nodes``, which
    ComfyUI-Manager restores. Packs with no fitting version stay as they are. ``comfyui`` and
    ``pips`` are null, so that a restore changes neither ComfyUI nor pip packages. The
    manifest reader reads it back to the same ids and versions.

    :param host: whose packs; may be left out when the entries are all of one host.
    :raises ValueError: when the entries are of several hosts and ``host`` is not given.
    """
    hosts = sorted({e.host for e in manifest_entries})
    if host is None:
        if len(hosts) > 1:
            raise ValueError(f"the entries are of {len(hosts)} hosts; name the host to plan for")
        host = hosts[0] if hosts else ""
    moves = {
        (r.node_id.lower(), r.version): r.recommended_version
        for r in recommendations
        if r.host == host and r.recommended_version is not None
    }
    planned = tuple(
        _moved(e, moves.get((e.node_id.lower(), e.version)))
        for e in manifest_entries
        if e.host == host
    )
    return to_snapshot(Manifest(PLAN, host, "snapshot", planned))


def plan_paths(output: Path, hosts: Sequence[str]) -> dict[str, Path]:
    """Return where each host's plan snapshot goes: ``output`` itself for one host, else
    ``output/<host>.json`` (a folder, made if missing).

    :raises InputError: when a host name cannot be a file name, or ``output`` is a file while
        there are several hosts.
    """
    if len(hosts) <= 1:
        return dict.fromkeys(hosts, output)
    bad = [h for h in hosts if ID_PATTERN.fullmatch(h) is None]
    if bad:
        raise InputError(
            f"{output}: host {bad[0]!r} cannot be a file name (letters, digits, '.', '_', '-')"
        )
    if output.exists() and not output.is_dir():
        raise InputError(f"{output}: with {len(hosts)} hosts, -o names a folder, not a file")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"{output}: cannot make the folder: {e.strerror or e}") from e
    return {host: output / f"{host}.json" for host in hosts}


def _moved(entry: ManifestEntry, version: str | None) -> ManifestEntry:
    # NOTE: a pack's own files describe the version installed, not the one it moves to.
    if version is None:
        return entry
    return replace(entry, version=version, requirements=None, declared=None)


def _upgrade_affects(audited: AuditedEntry, env: Environment) -> bool:
    """Whether the upgrade is what makes ``audited`` need advice."""
    return any(
        f.when is When.AFTER_UPGRADE and is_trigger(f.check) and counts(f, env)
        for f in audited.findings
    )


def _now_state(recommendations: Sequence[Recommendation]) -> str:
    changes = [_moved_from(r) for r in recommendations if r.recommended_version is not None]
    stuck = [(r.node_id, r.version) for r in recommendations if r.recommended_version is None]
    parts = []
    if changes:
        parts.append(f"{_changes(changes)} advised: {_listing(changes, _change)}")
    if stuck:
        parts.append(f"no fitting version for: {_listing(stuck, _pack)}")
    return "; ".join(parts) or "no pack needs a change"


_Pack = tuple[str, str | None]
"""A pack at a version: ``(node_id, version)``."""
_Change = tuple[str, str | None, str | None]
"""A move of a pack: ``(node_id, version, recommended_version)``."""


def _moved_from(r: Recommendation) -> _Change:
    return (r.node_id, r.version, r.recommended_version)


def _pack(pack: _Pack) -> str:
    node_id, version = pack
    return clean(node_id if version is None else f"{node_id}@{version}", limit=200)


def _change(change: _Change) -> str:
    node_id, version, recommended = change
    return f"{_pack((node_id, version))} -> {clean(recommended, limit=200)}"


def _changes(changes: Sequence[_Change]) -> str:
    count = len(dict.fromkeys(changes))
    return f"{count} pack change{'' if count == 1 else 's'}"


def _listing(items: Iterable[_T], name: Callable[[_T], str]) -> str:
    """The first `MAX_NAMED` distinct ``items`` by ``name``, and how many more there are.

    NOTE: only those shown are named: a fleet's verdict can be about 100,000 packs.
    """
    unique = list(dict.fromkeys(items))
    shown = ", ".join(map(name, unique[:MAX_NAMED]))
    more = len(unique) - MAX_NAMED
    return f"{shown} and {more} more" if more > 0 else shown


def _unique(recommendations: Iterable[Recommendation]) -> list[Recommendation]:
    seen: dict[tuple[str, str | None], Recommendation] = {}
    for r in recommendations:
        seen.setdefault((r.node_id.lower(), r.recommended_version), r)
    return list(seen.values())


def _command(r: Recommendation) -> str:
    # NOTE: a command line holds only an id and a version of the registry's own shapes, so
    # nothing else a manifest or a registry says can become something a user pastes.
    if not ID_PATTERN.fullmatch(r.node_id):
        return f"# {_pack((r.node_id, r.version))}: not a registry id; no command given"
    if r.recommended_version is not None:
        if not VERSION_PATTERN.fullmatch(r.recommended_version):
            return f"# {_change(_moved_from(r))}: not a registry version; no command given"
        return f"comfy node install {shlex.quote(f'{r.node_id}@{r.recommended_version}')}"
    why = clean("; ".join(r.blocked_by), limit=300)
    # NOTE: a banned pack is malware on disk even when disabled: it is to be removed.
    verb = "uninstall" if BANNED_PACK in r.blocked_by else "disable"
    return (
        f"# {_pack((r.node_id, r.version))}: no fitting version ({why}); "
        f"to {verb} it: comfy node {verb} {shlex.quote(r.node_id)}"
    )

"""The workflow stage of a run: every workflow against every host, one class-list request per
installed pack version needed, verdicts memoised across hosts that look alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from audit.model import AuditedEntry, Environment, Finding, WorkflowRow
from audit.registry.comfy_nodes import ClassesAnswer, ComfyNodesSource
from audit.registry.interface import Pair
from audit.workflows.resolve import WorkflowNeeds
from audit.workflows.verdict import HostPacks, judge_host, needed_keys

__all__ = ["WorkflowAudit"]


class WorkflowAudit:
    """Judges what ``needs`` (resolved workflows) need on each host of a run."""

    def __init__(self, needs: Sequence[WorkflowNeeds], source: ComfyNodesSource) -> None:
        self._needs = tuple(needs)
        self._source = source

    @property
    def needs(self) -> tuple[WorkflowNeeds, ...]:
        return self._needs

    def judge(
        self, audited: Sequence[AuditedEntry], environments: Mapping[str, Environment]
    ) -> tuple[tuple[WorkflowRow, ...], tuple[Finding, ...]]:
        """The ``workflows`` rows and the ``workflow.*`` findings of every host."""
        by_host: dict[str, list[AuditedEntry]] = {host: [] for host in environments}
        for a in audited:
            by_host.setdefault(a.entry.host, []).append(a)
        packs = {host: HostPacks.of(entries) for host, entries in by_host.items()}
        keys = needed_keys(self._needs, packs)
        classes = self._source.classes_of(keys) if keys else {}
        rows: list[WorkflowRow] = []
        findings: list[Finding] = []
        memo: dict[object, tuple[list[WorkflowRow], list[Finding]]] = {}
        for host, host_packs in packs.items():
            env = environments.get(host, Environment())
            for index, wn in enumerate(self._needs):
                got = self._judge(host, index, wn, host_packs, env, classes, memo)
                rows += got[0]
                findings += got[1]
        return tuple(rows), tuple(findings)

    @staticmethod
    def _judge(
        host: str,
        index: int,
        wn: WorkflowNeeds,
        packs: HostPacks,
        env: Environment,
        classes: Mapping[Pair, ClassesAnswer],
        memo: dict[object, tuple[list[WorkflowRow], list[Finding]]],
    ) -> tuple[list[WorkflowRow], list[Finding]]:
        # NOTE: a verdict depends on the matched entries and a few facts, not on the host's
        # name; a fleet of look-alike hosts is judged once per look.
        matched = tuple(_look(packs.match(need) if need.pack else None) for need in wn.needs)
        facts = (env.comfyui_version, env.target_comfyui, env.target_frontend)
        key = (index, matched, facts)
        done = memo.get(key)
        if done is None:
            done = memo[key] = judge_host(host, wn, packs, env, classes)
        rows, findings = done
        if (rows and rows[0].host == host) or not (rows or findings):
            return rows, findings
        return (
            [replace(row, host=host) for row in rows],
            [replace(finding, host=host) for finding in findings],
        )


def _look(found: AuditedEntry | None) -> object:
    if found is None:
        return None
    entry = found.entry
    return (entry.node_id, entry.version, entry.disabled, entry.url, found.compatible_after_upgrade)

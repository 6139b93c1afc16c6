"""The workflow stage of a run: every workflow against every host, one class-list request per
installed pack version needed, verdicts memoised across hosts that look alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from audit.model import AuditedEntry, Environment, Finding, WorkflowRow
from audit.registry.comfy_nodes import ComfyNodesSource
from audit.workflows.resolve import WorkflowNeeds
from audit.workflows.verdict import HostPacks, Verdict, combine, judge_need, needed_keys

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
        memo: dict[object, Verdict] = {}
        for host, host_packs in packs.items():
            env = environments.get(host, Environment())
            facts = (env.comfyui_version, env.target_comfyui, env.target_frontend)
            for index, wn in enumerate(self._needs):
                judged = []
                for number, need in enumerate(wn.needs):
                    installed = host_packs.match(need) if need.pack and not need.core else None
                    # NOTE: a verdict depends on the matched entry and a few facts, not on
                    # the host: a fleet of look-alike hosts is judged once per look.
                    key = (index, number, _look(installed), facts)
                    verdict = memo.get(key)
                    if verdict is None:
                        verdict = memo[key] = judge_need(
                            wn.workflow.path, need, installed, env, classes
                        )
                    judged.append((need, installed, verdict))
                got = combine(host, wn, judged, env)
                rows += got[0]
                findings += got[1]
        return tuple(rows), tuple(findings)


def _look(found: AuditedEntry | None) -> object:
    if found is None:
        return None
    entry = found.entry
    return (entry.node_id, entry.version, entry.disabled, entry.url, found.compatible_after_upgrade)

"""The workflow stage of a run: every workflow against every host, one class-list request per
installed pack version needed, verdicts memoised across hosts that look alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

from audit.model import AuditedEntry, Environment, Finding, WorkflowRow
from audit.registry.comfy_nodes import ClassesAnswer, ComfyNodesSource
from audit.registry.interface import Pair
from audit.workflows.resolve import Need, WorkflowNeeds
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
        verdicts: dict[object, Verdict] = {}
        judged_before: dict[object, _Judged] = {}
        for host, host_packs in packs.items():
            env = environments.get(host, Environment())
            facts = (env.comfyui_version, env.target_comfyui, env.target_frontend)
            for index, wn in enumerate(self._needs):
                installed = [
                    host_packs.match(need) if need.pack and not need.core else None
                    for need in wn.needs
                ]
                # NOTE: a verdict depends on the matched entries and a few facts, not on the
                # host: a fleet of look-alike hosts is judged once per look, and its rows are
                # copied with the host's name.
                key = (index, tuple(map(_look, installed)), facts)
                before = judged_before.get(key)
                if before is None:
                    judged = [
                        (need, found, self._verdict(verdicts, index, n, need, found, env, classes))
                        for n, (need, found) in enumerate(zip(wn.needs, installed, strict=True))
                    ]
                    before = judged_before[key] = _Judged.of(*combine(host, wn, judged, env))
                rows += before.rows_for(host)
                findings += before.findings_for(host)
        return tuple(rows), tuple(findings)

    def _verdict(
        self,
        verdicts: dict[object, Verdict],
        index: int,
        number: int,
        need: Need,
        found: AuditedEntry | None,
        env: Environment,
        classes: Mapping[Pair, ClassesAnswer],
    ) -> Verdict:
        facts = (env.comfyui_version, env.target_comfyui, env.target_frontend)
        key = (index, number, _look(found), facts)
        verdict = verdicts.get(key)
        if verdict is None:
            path = self._needs[index].workflow.path
            verdict = verdicts[key] = judge_need(path, need, found, env, classes)
        return verdict


#: Every field of a row but its host (the first), in order.
_ROW_FIELDS = tuple(field.name for field in fields(WorkflowRow))[1:]


@dataclass(frozen=True)
class _Judged:
    """One workflow's rows and findings on one look of a host, to copy to look-alike hosts."""

    host: str
    rows: tuple[WorkflowRow, ...]
    fields: tuple[tuple[object, ...], ...]
    findings: tuple[Finding, ...]

    @classmethod
    def of(cls, rows: list[WorkflowRow], findings: list[Finding]) -> _Judged:
        host = rows[0].host if rows else ""
        values = tuple(tuple(getattr(row, name) for name in _ROW_FIELDS) for row in rows)
        return cls(host, tuple(rows), values, tuple(findings))

    def rows_for(self, host: str) -> Sequence[WorkflowRow]:
        if host == self.host:
            return self.rows
        # NOTE: positional construction: a fleet makes hundreds of thousands of rows.
        return [WorkflowRow(host, *values) for values in self.fields]  # type: ignore[arg-type]

    def findings_for(self, host: str) -> Sequence[Finding]:
        if host == self.host:
            return self.findings
        return [replace(finding, host=host) for finding in self.findings]


def _look(found: AuditedEntry | None) -> object:
    if found is None:
        return None
    entry = found.entry
    return (entry.node_id, entry.version, entry.disabled, entry.url, found.compatible_after_upgrade)

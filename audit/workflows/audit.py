"""The workflow stage of a run: every workflow against every host, one class-list request per
installed pack version needed, verdicts memoised across hosts that look alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

from audit.model import AuditedEntry, Environment, Finding, NodeAnswer, WorkflowRow
from audit.registry.comfy_nodes import ClassesAnswer, ComfyNodesSource
from audit.registry.interface import Pair
from audit.workflows.matching import HostPacks, needed_keys
from audit.workflows.resolve import Need, WorkflowNeeds, registry_packs
from audit.workflows.verdict import Verdict, combine, judge_need

__all__ = ["WorkflowAudit"]


class WorkflowAudit:
    """Judges what ``needs`` (resolved workflows) need on each host of a run."""

    def __init__(
        self,
        needs: Sequence[WorkflowNeeds],
        source: ComfyNodesSource,
        unplaced: frozenset[str] = frozenset(),
    ) -> None:
        """:param unplaced: classes whose registry lookup failed (they stay unresolved)."""
        self._needs = tuple(needs)
        self._source = source
        self._unplaced = unplaced

    @property
    def needs(self) -> tuple[WorkflowNeeds, ...]:
        return self._needs

    @property
    def packs(self) -> list[str]:
        """The registry packs the workflows name, installed or not: their Node records join
        the pack-level lookup."""
        return registry_packs(self._needs)

    def judge(
        self,
        audited: Sequence[AuditedEntry],
        environments: Mapping[str, Environment],
        nodes: Mapping[str, NodeAnswer] | None = None,
    ) -> tuple[tuple[WorkflowRow, ...], tuple[Finding, ...]]:
        """The ``workflows`` rows and the ``workflow.*`` findings of every host (and a failed
        lookup's ``registry.fetch-failed``).

        :param nodes: the Node answer of each pack, by lower-cased id (`packs` and those of
            ``audited``).
        """
        by_host: dict[str, list[AuditedEntry]] = {host: [] for host in environments}
        for a in audited:
            by_host.setdefault(a.entry.host, []).append(a)
        packs = {host: HostPacks.of(entries) for host, entries in by_host.items()}
        keys = needed_keys(self._needs, packs)
        classes = self._source.classes_of(keys) if keys else {}
        answers = _Answers(classes, nodes or {})
        rows: list[WorkflowRow] = []
        findings: list[Finding] = []
        verdicts: dict[object, Verdict] = {}
        judged_before: dict[object, _Judged] = {}
        for host, host_packs in packs.items():
            env = environments.get(host, Environment())
            look = (env.comfyui_version, env.target_comfyui, env.target_frontend)
            for index, wn in enumerate(self._needs):
                installed = [
                    host_packs.match(need) if need.pack and not need.core else None
                    for need in wn.needs
                ]
                # NOTE: a verdict depends on the matched entries and a few facts, not on the
                # host: a fleet of look-alike hosts is judged once per look, and its rows are
                # copied with the host's name.
                key = (index, tuple(map(_look, installed)), look)
                before = judged_before.get(key)
                if before is None:
                    judged = [
                        (need, found, self._verdict(verdicts, index, n, need, found, env, answers))
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
        answers: _Answers,
    ) -> Verdict:
        look = (env.comfyui_version, env.target_comfyui, env.target_frontend)
        key = (index, number, _look(found), look)
        verdict = verdicts.get(key)
        if verdict is None:
            path = self._needs[index].workflow.path
            verdict = verdicts[key] = judge_need(
                path,
                need,
                found,
                env,
                answers.classes,
                nodes=answers.nodes,
                unplaced=self._unplaced,
            )
        return verdict


@dataclass(frozen=True)
class _Answers:
    """The registry's answers a run's verdicts read: class lists and Node records."""

    classes: Mapping[Pair, ClassesAnswer]
    nodes: Mapping[str, NodeAnswer]


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

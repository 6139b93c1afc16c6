"""Per-host verdicts: for each host and workflow, each needed pack's status, the findings, and
whether the workflow can run now and after the planned upgrade."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from audit.catalogue import severities
from audit.checks.pack import bans
from audit.model import (
    AuditedEntry,
    Environment,
    Failed,
    Finding,
    FindingSource,
    ManifestEntry,
    NodeAnswer,
    RegistryNode,
    Severity,
    When,
    WorkflowRow,
)
from audit.registry.comfy_nodes import ClassesAnswer, ClassList
from audit.registry.interface import Pair
from audit.versions import parse_local_version
from audit.workflows.resolve import Need, WorkflowNeeds, is_commit

__all__ = [
    "BLOCKING",
    "WORKFLOW_CHECKS",
    "Verdict",
    "combine",
    "judge_need",
]

#: Default severities of the workflow checks (DESIGN.md "Workflows").
WORKFLOW_CHECKS: Mapping[str, Severity] = severities("workflow")
#: A failed lookup in the workflow stage is ``registry.fetch-failed``, as anywhere else.
_DEFAULTS: Mapping[str, Severity] = severities("workflow", "registry")
_FAILED = "registry.fetch-failed"
#: Statuses that stop a workflow from running (when an active node needs the pack).
BLOCKING = frozenset({"missing-pack", "disabled-pack", "missing-node", "banned-node"})
#: Worst first: a row's status is the worst thing found for its pack.
_ORDER = (
    "banned-node",
    "missing-pack",
    "disabled-pack",
    "missing-node",
    "deprecated-node",
    "older-pack",
    "unresolved",
    "unknown",
    "ok",
)


@dataclass(frozen=True)
class Verdict:
    status: str
    findings: tuple[Finding, ...]
    blocks_after_upgrade: bool
    blocks_now: bool = False
    """A finding that stops the workflow from running (not only bypassed or muted nodes)."""


Judged = tuple[Need, AuditedEntry | None, "Verdict"]


def judge_need(
    path: str,
    need: Need,
    installed: AuditedEntry | None,
    env: Environment,
    classes: Mapping[Pair, ClassesAnswer],
    *,
    nodes: Mapping[str, NodeAnswer] | None = None,
    unplaced: frozenset[str] = frozenset(),
) -> Verdict:
    """The verdict on one pack a workflow needs, given what the host has installed (its
    findings name no host: `combine` names it).

    :param nodes: the Node answer of each pack by lower-cased id: a banned pack (or publisher)
        is a banned node, installed or not.
    :param unplaced: classes whose registry lookup failed: unresolved, and the run incomplete.
    """
    found = _Findings("", path, need, installed)
    if need.pack is not None and not need.core:
        _judge_pack(found, need, installed, nodes or {})
    return _judge(found, need, installed, env, classes, unplaced)


def combine(
    host: str, wn: WorkflowNeeds, judged: Sequence[Judged], env: Environment
) -> tuple[list[WorkflowRow], list[Finding]]:
    """The rows and findings of one workflow on one host, from the verdicts on its needs."""
    blocked = any(v.blocks_now for _, _, v in judged)
    unsure = any(n.pack is None and not n.inactive for n, _, _ in judged)
    now = False if blocked else None if unsure else True
    after = _after_upgrade(now, env, [v for _, _, v in judged])
    path = wn.workflow.path
    rows = [
        WorkflowRow(
            host=host,
            workflow=path,
            node_id=installed.entry.node_id if installed is not None else need.pack,
            class_types=need.classes,
            made_with_version=need.made_with,
            installed_version=_installed_version(need, installed, env),
            bypassed=need.inactive,
            status=verdict.status,
            runnable_now=now,
            runnable_after_upgrade=after,
        )
        for need, installed, verdict in judged
    ]
    findings = [replace(f, host=host) for _, _, v in judged for f in v.findings]
    return rows, findings


def _after_upgrade(now: bool | None, env: Environment, verdicts: list[Verdict]) -> bool | None:
    if env.target_comfyui is None and env.target_frontend is None:
        return None
    if now is False or any(v.blocks_after_upgrade for v in verdicts):
        return False
    return now


def _installed_version(need: Need, installed: AuditedEntry | None, env: Environment) -> str | None:
    if need.core:
        return env.comfyui_version
    return installed.entry.version if installed is not None else None


def _judge_pack(
    found: _Findings, need: Need, installed: AuditedEntry | None, nodes: Mapping[str, NodeAnswer]
) -> None:
    """A ban of the pack or its publisher makes every class of it a banned node (DESIGN.md
    "Pack-level checks": ``node.banned``, ``publisher.banned``)."""
    answer = installed.node if installed is not None else None
    if answer is None and need.pack and not need.git:
        answer = nodes.get(need.pack.lower())
        if isinstance(answer, Failed):
            # NOTE: an installed pack with a Node answer carries its own failed lookup.
            message = f"{found.path} needs {need.pack}: registry lookup of the pack failed"
            found.add(_FAILED, f"{message}: {answer.reason}", need.pack, None, inactive=False)
    if not isinstance(answer, RegistryNode):
        return
    for check, status in bans(answer):
        found.add(
            "workflow.banned-node",
            f"{found.path} needs {answer.node_id}, which the registry bans ({check})",
            answer.node_id,
            status,
        )


def _judge(
    found: _Findings,
    need: Need,
    installed: AuditedEntry | None,
    env: Environment,
    classes: Mapping[Pair, ClassesAnswer],
    unplaced: frozenset[str],
) -> Verdict:
    path = found.path
    if need.pack is None:
        for name in need.classes:
            if name in unplaced:
                found.add(
                    _FAILED,
                    f"{path} uses {name}: registry lookup of its pack failed",
                    name,
                    None,
                    inactive=False,
                )
            found.add(
                "workflow.unresolved",
                f"{path} uses {name}, which no known pack provides",
                name,
                None,
                inactive=name not in need.active_classes,
            )
        return found.verdict("unresolved")
    if need.core:
        return _judge_core(found, need, env)
    if installed is None:
        found.add(
            "workflow.missing-pack",
            f"{path} needs {need.pack} ({_list(need.classes)}), which is not installed",
            need.pack,
            None,
        )
        return found.verdict("missing-pack")
    entry = installed.entry
    if entry.disabled:
        found.add(
            "workflow.disabled-pack",
            f"{path} needs {entry.node_id}, which is disabled",
            "enabled",
            "disabled",
        )
        return found.verdict("disabled-pack")
    answer = classes.get(entry.key.normalized) if entry.key is not None else None
    if isinstance(answer, Failed):
        label = f"{entry.node_id} {entry.version}"
        message = f"{path} needs {label}: registry lookup of its classes failed: {answer.reason}"
        found.add(_FAILED, message, need.pack, None, inactive=False)
    status = _judge_classes(found, need, entry, answer)
    _judge_version(found, need, entry)
    after = installed.compatible_after_upgrade is False and not need.inactive
    return found.verdict(status, blocks_after_upgrade=after)


def _judge_classes(
    found: _Findings, need: Need, entry: ManifestEntry, answer: ClassesAnswer | None
) -> str:
    """Check each class against the installed version's list; ``unknown`` without one."""
    if not isinstance(answer, ClassList) or not answer.known:
        return "unknown" if need.checked else "ok"
    provided = {node.name: node for node in answer.nodes}
    label = f"{entry.node_id} {entry.version}"
    for name in need.checked:
        node = provided.get(name)
        inactive = name not in need.active_classes
        if node is None:
            found.add(
                "workflow.missing-node",
                f"{found.path} uses {name}, which {label} does not provide",
                name,
                None,
                inactive=inactive,
            )
        elif node.banned:
            found.add(
                "workflow.banned-node",
                f"{found.path} uses {name}, which the registry bans in {label}",
                name,
                node.policy,
                inactive=inactive,
            )
        elif node.deprecated:
            found.add(
                "workflow.deprecated-node",
                f"{found.path} uses {name}, which {label} deprecates",
                name,
                "deprecated",
                inactive=inactive,
            )
    return "ok"


def _judge_version(found: _Findings, need: Need, entry: ManifestEntry) -> None:
    if _older(entry.version, need.made_with):
        found.add(
            "workflow.older-pack",
            f"{found.path} was made with {entry.node_id} "
            f"{need.made_with}; {entry.version} is installed",
            need.made_with,
            entry.version,
        )


def _judge_core(found: _Findings, need: Need, env: Environment) -> Verdict:
    for when, version in (
        (When.NOW, env.comfyui_version),
        (When.AFTER_UPGRADE, env.target_comfyui),
    ):
        if _older(version, need.made_with):
            found.add(
                "workflow.older-core",
                f"{found.path} was made with ComfyUI "
                f"{need.made_with}; the host has {version}"
                + (" after the upgrade" if when is When.AFTER_UPGRADE else ""),
                need.made_with,
                version,
                when=when,
            )
    return found.verdict("ok")


@functools.cache
def _older(installed: str | None, made_with: str | None) -> bool:
    """Whether ``installed`` is a lower version than ``made_with`` (never for commits)."""
    if installed is None or made_with is None or is_commit(installed) or is_commit(made_with):
        return False
    have, want = parse_local_version(installed.removeprefix("v")), parse_local_version(made_with)
    return have is not None and want is not None and have < want


def _list(names: Sequence[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


class _Findings:
    """Collects one need's findings on one host, at info when only inactive nodes are hit."""

    def __init__(self, host: str, path: str, need: Need, installed: AuditedEntry | None) -> None:
        self.host, self.path, self._need = host, path, need
        self._node_id = installed.entry.node_id if installed is not None else need.pack
        self._version = installed.entry.version if installed is not None else None
        self.items: list[Finding] = []

    def add(
        self,
        check: str,
        message: str,
        expected: str | None,
        actual: str | None,
        *,
        inactive: bool | None = None,
        when: When = When.NOW,
    ) -> None:
        quiet = self._need.inactive if inactive is None else inactive
        severity = Severity.INFO if quiet else _DEFAULTS[check]
        if quiet:
            message += " (only bypassed or muted nodes use it)"
        self.items.append(
            Finding(
                self.host,
                self._node_id,
                self._version,
                check,
                severity,
                message,
                FindingSource.WORKFLOW,
                expected,
                actual,
                when,
                workflow=self.path,
            )
        )

    def verdict(self, status: str, *, blocks_after_upgrade: bool = False) -> Verdict:
        # NOTE: the table has no status of its own for an older ComfyUI: it is an older pack.
        statuses = [status, *(_status(f) for f in self.items)]
        worst = min((s for s in statuses if s in _ORDER), key=_ORDER.index)
        blocks_now = any(
            f.check.removeprefix("workflow.") in BLOCKING and f.severity > Severity.INFO
            for f in self.items
        )
        return Verdict(worst, tuple(self.items), blocks_after_upgrade, blocks_now)


def _status(finding: Finding) -> str:
    status = finding.check.removeprefix("workflow.")
    if status == "older-core":
        return "older-pack" if finding.when is When.NOW else "ok"
    return status

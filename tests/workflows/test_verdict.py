"""Per-host verdicts, table-driven: what each situation gives as status, runnability, findings."""

from __future__ import annotations

import pytest

from audit.model import AuditedEntry, EntrySource, Environment, ManifestEntry, Severity, When
from audit.registry.comfy_nodes import ClassList, ComfyNode
from audit.workflows.matching import HostPacks, repository_path
from audit.workflows.model import Workflow, WorkflowNode
from audit.workflows.resolve import Resolver, packaged_core_nodes
from audit.workflows.verdict import combine, judge_need

KJ = ManifestEntry("h", "comfyui-kjnodes", "1.1.2", EntrySource.REGISTRY, "m")
CLASSES = {("comfyui-kjnodes", "1.1.2"): ClassList((ComfyNode("ImageResizeKJ"),))}
ENV = Environment(comfyui_version="0.3.40", target_comfyui="0.4.0")


def judge(nodes: list[WorkflowNode], entries: list[AuditedEntry], env: Environment = ENV):  # type: ignore[no-untyped-def]
    wn = Resolver(packaged_core_nodes()).needs(Workflow("w.json", "ui", tuple(nodes)), {})
    packs = HostPacks.of(entries)
    judged = []
    for need in wn.needs:
        installed = packs.match(need) if need.pack and not need.core else None
        judged.append((need, installed, judge_need("w.json", need, installed, env, CLASSES)))
    return combine("h", wn, judged, env)


def installed(entry: ManifestEntry = KJ, after: bool | None = True) -> AuditedEntry:
    return AuditedEntry(entry, None, (), True, after)


@pytest.mark.parametrize(
    ("nodes", "entries", "expected"),
    [
        # disabled: an error although the pack is disabled
        (
            [WorkflowNode("1", "ImageResizeKJ", "comfyui-kjnodes", ver="1.0.0")],
            [
                installed(
                    ManifestEntry(
                        "h", "comfyui-kjnodes", "1.1.2", EntrySource.REGISTRY, "m", disabled=True
                    )
                )
            ],
            ("disabled-pack", False, False, [("workflow.disabled-pack", Severity.ERROR)]),
        ),
        # only a bypassed node needs the missing pack: info, still runnable
        (
            [WorkflowNode("1", "Foo", "comfyui-foo", inactive=True)],
            [],
            ("missing-pack", True, True, [("workflow.missing-pack", Severity.INFO)]),
        ),
        # the pack breaks with the target ComfyUI: runnable now, not after the upgrade
        (
            [WorkflowNode("1", "ImageResizeKJ", "comfyui-kjnodes", ver="1.1.2")],
            [installed(after=False)],
            ("ok", True, False, []),
        ),
        # a git pack known by aux_id only matches the installed git pack by its URL
        (
            [WorkflowNode("1", "Bar", aux_id="Owner/Repo-Bar", ver="0123abcd0123abcd0123")],
            [
                installed(
                    ManifestEntry(
                        "h",
                        "repo-bar",
                        "0123abcd",
                        EntrySource.GIT,
                        "m",
                        url="git@github.com:owner/repo-bar.git",
                    )
                )
            ],
            ("unknown", True, True, []),
        ),
        # a workflow made with a newer pack, and with a newer ComfyUI than the target
        (
            [
                WorkflowNode("1", "ImageResizeKJ", "comfyui-kjnodes", ver="1.2.0"),
                WorkflowNode("2", "KSampler", "comfy-core", ver="0.5.0"),
            ],
            [installed()],
            (
                "older-pack",
                True,
                True,
                [
                    ("workflow.older-core", Severity.WARNING),
                    ("workflow.older-core", Severity.WARNING),
                    ("workflow.older-pack", Severity.WARNING),
                ],
            ),
        ),
    ],
)
def test_verdicts(
    nodes: list[WorkflowNode],
    entries: list[AuditedEntry],
    expected: tuple[str, bool, bool, list[tuple[str, Severity]]],
) -> None:
    rows, findings = judge(nodes, entries)
    status, now, after, checks = expected
    assert sorted({r.status for r in rows} - {"ok"} or {"ok"}) == [status]
    assert {(r.runnable_now, r.runnable_after_upgrade) for r in rows} == {(now, after)}
    assert sorted((f.check, f.severity) for f in findings) == checks
    assert all(f.host == "h" and f.workflow == "w.json" for f in findings)


def test_older_core_now_and_after_the_upgrade() -> None:
    _, findings = judge(
        [WorkflowNode("1", "KSampler", "comfy-core", ver="0.3.50")],
        [],
        Environment(comfyui_version="0.3.40", target_comfyui="0.4.0"),
    )
    assert [(f.when, f.expected, f.actual) for f in findings] == [(When.NOW, "0.3.50", "0.3.40")]


def test_repository_paths() -> None:
    assert {
        repository_path(u)
        for u in (
            "https://github.com/Owner/Repo.git",
            "git@github.com:owner/repo",
            "ssh://git@github.com/owner/repo/",
        )
    } == {"owner/repo"}

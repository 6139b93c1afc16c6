"""Choosing versions: which entries need advice, which versions qualify, and why none does."""

from __future__ import annotations

import doctest
from collections.abc import Sequence
from dataclasses import replace

import pytest

import audit.advisor.interface
import audit.advisor.judge
from audit.advisor import Recommendation, advice_targets, advise, needs_advice
from audit.model import (
    AuditedEntry,
    EntrySource,
    Environment,
    Failed,
    Finding,
    FindingSource,
    NodeVersion,
    Severity,
    When,
)
from tests.advisor.support import ENV, HOST, entry, installed, listing, node_version, record

TO_040 = replace(ENV, target_comfyui="0.4.0")


def flagged_foo(env: Environment = ENV) -> AuditedEntry:
    (foo,) = installed(
        [(entry("comfyui-foo", "1.0.0"), node_version("comfyui-foo", "1.0.0", status="flagged"))],
        {HOST: env},
    )
    return foo


def finding(check: str, severity: Severity = Severity.ERROR, **fields: object) -> Finding:
    base = Finding(HOST, "comfyui-foo", "1.0.0", check, severity, "m", FindingSource.REGISTRY)
    return replace(base, **fields)  # type: ignore[arg-type]


def with_findings(*findings: Finding, **entry_fields: object) -> AuditedEntry:
    e = replace(entry("comfyui-foo", "1.0.0"), **entry_fields)  # type: ignore[arg-type]
    return AuditedEntry(e, None, findings, None, None)


# -- needs_advice --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "check",
    [
        "status.banned",
        "status.flagged",
        "status.pending",
        "status.deprecated",
        "security.tag",
        "os.unsupported",
        "accelerator.unsupported",
        "comfyui.incompatible",
        "frontend.incompatible",
        "dependency.conflict",
    ],
)
def test_findings_that_call_for_another_version(check: str) -> None:
    assert needs_advice(with_findings(finding(check, Severity.WARNING)))


@pytest.mark.parametrize(
    "check",
    [
        "registry.not-found",
        "registry.fetch-failed",
        "registry.invalid-response",
        "comfyui.spec-invalid",
        "os.spec-invalid",
        "dependency.missing",
        "dependency.variant-clash",
        "env.unknown",
        "policy.waiver-expired",
    ],
)
def test_findings_that_do_not(check: str) -> None:
    assert not needs_advice(with_findings(finding(check, Severity.CRITICAL)))


@pytest.mark.parametrize(
    ("audited", "why"),
    [
        (with_findings(finding("status.banned", Severity.INFO)), "info"),
        (with_findings(finding("status.banned", waived=True)), "waived"),
        (with_findings(finding("status.banned"), disabled=True), "disabled"),
        (with_findings(finding("status.banned"), version=None), "no version"),
        (with_findings(finding("status.banned"), source=EntrySource.GIT), "git"),
        (with_findings(finding("status.banned"), node_id="a/b"), "invalid id"),
        (with_findings(finding("status.banned"), problem="broken"), "broken pack"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_entries_that_are_not_advised(audited: AuditedEntry, why: str) -> None:
    assert not needs_advice(audited)


def test_with_a_target_today_s_comfyui_findings_do_not_count() -> None:
    now = finding("comfyui.incompatible")
    after = finding("comfyui.incompatible", when=When.AFTER_UPGRADE)
    frontend_now = finding("frontend.incompatible")
    assert needs_advice(with_findings(now))
    assert not needs_advice(with_findings(now), TO_040)
    assert needs_advice(with_findings(after), TO_040)
    # NOTE: without a frontend target, the frontend is judged on today's version.
    assert needs_advice(with_findings(frontend_now), TO_040)


def test_advice_targets_are_each_node_once() -> None:
    foo = flagged_foo()
    other_host = replace(foo, entry=replace(foo.entry, host="gpu-02", node_id="ComfyUI-Foo"))
    clean = installed([(entry("clean", "1.0.0"), node_version("clean", "1.0.0"))])
    envs = {HOST: ENV, "gpu-02": ENV}
    assert advice_targets([foo, other_host, *clean], envs) == ["comfyui-foo"]


# -- choosing ------------------------------------------------------------------------------------

#: As the registry lists them: by text. Newest first: a pre-release, a flagged version, one
#: that needs a newer ComfyUI, a deprecated one, one that fits, and the installed (flagged) one.
FOO_VERSIONS = listing(
    [
        record("comfyui-foo", "1.9.0", supported_comfyui_version=">=0.5.0"),
        record("comfyui-foo", "1.8.0", deprecated=True),
        record("comfyui-foo", "1.2.0", supported_comfyui_version=">=0.3.0"),
        record("comfyui-foo", "1.11.0-beta.1"),
        record("comfyui-foo", "1.10.0", status="NodeVersionStatusFlagged"),
        record("comfyui-foo", "1.0.0", status="NodeVersionStatusFlagged"),
    ]
)


def advise_foo(
    versions: Sequence[NodeVersion] | Failed = FOO_VERSIONS,
    env: Environment = ENV,
    *,
    allow_prerelease: bool = False,
) -> tuple[Recommendation, ...]:
    listed = versions if isinstance(versions, Failed) else tuple(versions)
    return advise(
        [flagged_foo(env)], {"comfyui-foo": listed}, {HOST: env}, allow_prerelease=allow_prerelease
    )


def move(version: str | None, clears: tuple[str, ...] = ("status.flagged",)) -> Recommendation:
    return Recommendation(HOST, "comfyui-foo", "1.0.0", version, clears, ())


def test_the_newest_version_that_passes_every_check() -> None:
    assert advise_foo() == (move("1.2.0"),)


def test_pre_releases_only_when_allowed() -> None:
    assert advise_foo(allow_prerelease=True) == (move("1.11.0-beta.1"),)


def test_with_a_target_the_target_decides() -> None:
    # NOTE: 1.9.0 needs ComfyUI >=0.5.0: no good today, but what an upgrade to 0.5.0 wants.
    assert advise_foo(env=replace(ENV, target_comfyui="0.5.0")) == (move("1.9.0"),)


def test_a_version_incompatible_with_the_target_is_excluded() -> None:
    versions = listing(
        [
            record("comfyui-foo", "2.0.0", supported_comfyui_version="<0.4.0"),
            record("comfyui-foo", "1.5.0", supported_comfyui_version=">=0.3,<0.5"),
            record("comfyui-foo", "1.0.0", status="NodeVersionStatusFlagged"),
        ]
    )
    assert advise_foo(versions, env=TO_040) == (move("1.5.0"),)


def test_a_downgrade_is_allowed() -> None:
    (foo,) = installed(
        [(entry("comfyui-foo", "3.0.0"), node_version("comfyui-foo", "3.0.0", status="banned"))]
    )
    recommendations = advise([foo], {"comfyui-foo": FOO_VERSIONS}, {HOST: ENV})
    assert recommendations == (
        Recommendation(HOST, "comfyui-foo", "3.0.0", "1.2.0", ("status.banned",), ()),
    )


def test_clears_names_every_code_the_move_clears() -> None:
    installed_version = node_version(
        "comfyui-foo",
        "1.0.0",
        status="flagged",
        deprecated=True,
        tags_admin=["any-code-execute"],
        supported_os=["Windows"],
        supported_comfyui_version="~0.2",
    )
    (foo,) = installed([(entry("comfyui-foo", "1.0.0"), installed_version)])
    (recommendation,) = advise([foo], {"comfyui-foo": FOO_VERSIONS}, {HOST: ENV})
    assert recommendation.clears == (
        "comfyui.incompatible",
        "os.unsupported",
        "security.tag",
        "status.deprecated",
        "status.flagged",
    )


def test_ids_of_any_case_find_their_list() -> None:
    recommendations = advise([flagged_foo()], {"COMFYUI-FOO": FOO_VERSIONS}, {HOST: ENV})
    assert recommendations == (move("1.2.0"),)


def test_the_installed_version_when_it_fits_now_needs_no_move() -> None:
    # The registry's record changed since the lookup: 1.0.0 is Active now.
    versions = listing([record("comfyui-foo", "1.0.0"), record("comfyui-foo", "0.9.0")])
    assert advise_foo(versions) == ()


def test_every_entry_of_a_fleet_gets_its_own_answer() -> None:
    foo = flagged_foo()
    other = replace(foo, entry=replace(foo.entry, host="gpu-02"))
    envs = {HOST: ENV, "gpu-02": replace(ENV, comfyui_version="0.5.1")}
    recommendations = advise([foo, other], {"comfyui-foo": FOO_VERSIONS}, envs)
    assert [(r.host, r.recommended_version) for r in recommendations] == [
        (HOST, "1.2.0"),
        ("gpu-02", "1.9.0"),
    ]


# -- no fitting version --------------------------------------------------------------------------


def blocked(versions: Sequence[NodeVersion] | Failed, env: Environment = ENV) -> tuple[str, ...]:
    (recommendation,) = advise_foo(versions, env)
    assert recommendation.recommended_version is None
    assert recommendation.clears == ()
    return recommendation.blocked_by


def test_a_failed_list() -> None:
    assert blocked(Failed("HTTP 500 after 3 attempts")) == (
        "versions list unavailable: HTTP 500 after 3 attempts",
    )


def test_a_node_left_out_of_the_lists_counts_as_failed() -> None:
    (recommendation,) = advise([flagged_foo()], {}, {HOST: ENV})
    assert recommendation.blocked_by == (
        "versions list unavailable: the node's versions were not listed",
    )


@pytest.mark.parametrize(
    ("records", "reason"),
    [
        ([], "no version listed"),
        ([record("comfyui-foo", "1.0.0", status="flagged")], "no Active version"),
        ([record("comfyui-foo", "1.1.0", deprecated=True)], "every Active version is deprecated"),
        ([record("comfyui-foo", "1.1.0-rc.1")], "every Active version is a pre-release"),
        (
            [record("comfyui-foo", "1.1.0-rc.1"), record("comfyui-foo", "1.2.0", deprecated=True)],
            "every Active version not deprecated is a pre-release",
        ),
        ([record("comfyui-foo", "nightly")], "no Active version has a version number"),
    ],
    ids=["empty", "none-active", "deprecated", "pre-release", "both", "no-number"],
)
def test_nothing_to_judge(records: list[dict[str, object]], reason: str) -> None:
    assert blocked(listing(records)) == (reason,)


def test_every_version_tagged() -> None:
    versions = listing(
        [
            record("comfyui-foo", "2.1.0", tags_admin=["any-code-execute"]),
            record("comfyui-foo", "1.0.0", status="NodeVersionStatusFlagged"),
            record("comfyui-foo", "0.9.0", tags_admin=["credential-access", "any-code-execute"]),
        ]
    )
    assert blocked(versions) == (
        "every Active version carries tags_admin any-code-execute",
        "0.9.0: carries tags_admin credential-access",
    )


def test_every_version_needs_an_older_comfyui() -> None:
    versions = listing(
        [
            record("comfyui-foo", "1.2.0", supported_comfyui_version="<0.4.0"),
            record("comfyui-foo", "1.1.0", supported_comfyui_version="<0.4.0"),
            record("comfyui-foo", "1.3.0-beta.1"),
            record("comfyui-foo", "1.0.0", status="NodeVersionStatusFlagged"),
        ]
    )
    assert blocked(versions, TO_040) == ("every Active stable version requires ComfyUI <0.4.0",)


def test_constraints_of_some_versions_name_them_newest_first() -> None:
    versions = listing(
        [record("comfyui-foo", f"1.{i}.0", supported_comfyui_version=">=0.9.0") for i in range(5)]
        + [
            record(
                "comfyui-foo",
                "2.0.0",
                supported_os=["Windows"],
                supported_comfyui_version=">=0.9.0",
            ),
            record("comfyui-foo", "0.1.0", supported_accelerators=["GPU :: AMD ROCm"]),
            record("comfyui-foo", "0.0.1", supported_comfyui_version="latest"),
        ]
    )
    assert blocked(versions) == (
        "2.0.0, 1.4.0, 1.3.0 and 3 more: requires ComfyUI >=0.9.0",
        "2.0.0: requires OS Windows",
        "0.1.0: requires accelerator GPU :: AMD ROCm",
        "0.0.1: declares a ComfyUI range that cannot be parsed (latest)",
    )


def test_many_constraints_are_cut_short() -> None:
    versions = listing(
        [
            record("comfyui-foo", f"1.{i}.0", supported_comfyui_version=f">=0.{9 + i}.0")
            for i in range(8)
        ]
    )
    lines = blocked(versions)
    assert len(lines) == 6
    assert lines[0] == "1.7.0: requires ComfyUI >=0.16.0"
    assert lines[-1] == "and 3 more constraints"


def test_registry_text_in_blocked_by_stays_on_one_line() -> None:
    versions = listing([record("comfyui-foo", "2.0.0", tags_admin=["evil\n\x1b[31mtag"])])
    assert blocked(versions) == ("every Active version carries tags_admin evil [31mtag",)


def test_a_malformed_candidate_does_not_qualify() -> None:
    versions = listing([record("comfyui-foo", "2.0.0", supported_os="linux")])
    assert blocked(versions) == ("every Active version has a malformed registry record",)


# -- dependency conflicts ------------------------------------------------------------------------


def conflicted(versions: Sequence[NodeVersion]) -> tuple[Recommendation, ...]:
    audited = installed(
        [
            (
                entry("pack-a", "1.0.0"),
                node_version("pack-a", "1.0.0", dependencies=["numpy<1.24"]),
            ),
            (entry("pack-b", "1.0.0"), node_version("pack-b", "1.0.0", dependencies=["numpy>=2"])),
        ]
    )
    assert all(needs_advice(a) for a in audited)
    # NOTE: every entry of the host goes in: the other packs are what a candidate must fit.
    recommendations = advise(audited, {"pack-a": tuple(versions)}, {HOST: ENV})
    return tuple(r for r in recommendations if r.node_id == "pack-a")


def test_a_conflict_is_cleared_by_a_version_shown_to_be_free_of_it() -> None:
    versions = listing(
        [
            record("pack-a", "1.3.0", dependencies=["numpy<2"]),
            record("pack-a", "1.2.0", dependencies=[]),
            record("pack-a", "1.1.0", dependencies=["numpy>=1.26"]),
        ]
    )
    # NOTE: the installed numpy does not meet 1.1.0's range: the move would upgrade it.
    assert conflicted(versions) == (
        Recommendation(
            HOST, "pack-a", "1.0.0", "1.1.0", ("dependency.conflict",), (), ("numpy>=1.26",)
        ),
    )


def test_a_conflict_no_version_is_shown_to_clear() -> None:
    versions = listing(
        [record("pack-a", "1.3.0", dependencies=["numpy<2"]), record("pack-a", "1.2.0")]
    )
    (recommendation,) = conflicted(versions)
    assert recommendation.blocked_by == (
        "1.3.0: conflicts with other packs over numpy",
        "1.2.0: lists no dependencies, so the dependency conflict cannot be shown to clear",
    )


def test_a_candidate_that_would_start_a_conflict_does_not_qualify() -> None:
    audited = installed(
        [
            (entry("comfyui-foo", "1.0.0"), node_version("comfyui-foo", "1.0.0", status="banned")),
            (entry("pack-b", "1.0.0"), node_version("pack-b", "1.0.0", dependencies=["numpy>=2"])),
        ]
    )
    versions = listing(
        [
            record("comfyui-foo", "2.0.0", dependencies=["numpy<2"]),
            record("comfyui-foo", "1.5.0", dependencies=["numpy"]),
        ]
    )
    (recommendation,) = advise(audited, {"comfyui-foo": versions}, {HOST: ENV})
    assert recommendation.recommended_version == "1.5.0"


def test_a_candidate_another_folder_holds_already_is_judged_among_all_the_packs() -> None:
    twin = (
        entry("pack-a", "1.3.0", line=3),
        node_version("pack-a", "1.3.0", dependencies=["numpy<2"]),
    )
    versions = listing([record("pack-a", "1.3.0", dependencies=["numpy<2"])])
    audited = installed(
        [
            (entry("pack-a", "1.0.0"), node_version("pack-a", "1.0.0", dependencies=["numpy<1"])),
            (entry("pack-b", "1.0.0"), node_version("pack-b", "1.0.0", dependencies=["numpy>=2"])),
            twin,
        ]
    )
    (recommendation, *_) = advise(audited, {"pack-a": versions}, {HOST: ENV})
    assert recommendation.version == "1.0.0"
    assert recommendation.blocked_by == (
        "every Active version conflicts with other packs over numpy",
    )


def test_a_candidate_requiring_another_member_of_a_family_the_host_requires_clashes() -> None:
    audited = installed(
        [
            (entry("comfyui-foo", "1.0.0"), node_version("comfyui-foo", "1.0.0", status="banned")),
            (
                entry("pack-b", "1.0.0"),
                node_version("pack-b", "1.0.0", dependencies=["onnxruntime"]),
            ),
        ]
    )
    versions = listing([record("comfyui-foo", "2.0.0", dependencies=["onnxruntime-gpu"])])
    (recommendation,) = advise(audited, {"comfyui-foo": versions}, {HOST: ENV})
    assert recommendation.blocked_by == ("every Active version has dependency.variant-clash",)


def test_doctests() -> None:
    for module in (audit.advisor.interface, audit.advisor.judge):
        assert doctest.testmod(module).failed == 0

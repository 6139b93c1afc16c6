"""The policy file: loading and its exact errors, overrides, waivers with expiry, and fail-on."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import InputError
from audit.model import Finding, FindingSource, Severity
from audit.pipeline import exit_code
from audit.policy import (
    KNOWN_CHECKS,
    POLICY_CHECKS,
    UNSET,
    Policy,
    Unset,
    Waiver,
    find_policy,
    load_policy,
    resolve_fail_on,
)
from tests.report.conftest import audited, entry, finding, make_run

TODAY = date(2025, 6, 15)
FLAGGED = finding("status.flagged", Severity.ERROR, "flagged by the scanner", actual="flagged")
TAG = finding("security.tag", Severity.WARNING, "any-code-execute", actual="any-code-execute")
FULL = """\
fail-on = "warning"

[severity]
"security.tag" = "info"
"policy.waiver-expired" = "error"

[[waiver]]
check = "status.flagged"
node = "ComfyUI-Foo*"
version = "1.2.0"
reason = "  reviewed the scanner hit, false positive  "
expires = 2027-03-31

[[waiver]]
check = "dependency.missing"
node = "*"
reason = "installed by the image"
expires = "2025-01-31"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "comfy-audit.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_a_full_policy(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, FULL))
    assert policy == Policy(
        fail_on=Severity.WARNING,
        severities={"security.tag": Severity.INFO, "policy.waiver-expired": Severity.ERROR},
        waivers=(
            Waiver(
                1,
                "status.flagged",
                "ComfyUI-Foo*",
                "reviewed the scanner hit, false positive",
                "1.2.0",
                date(2027, 3, 31),
            ),
            Waiver(2, "dependency.missing", "*", "installed by the image", None, date(2025, 1, 31)),
        ),
    )


@pytest.mark.parametrize(
    ("text", "fail_on"),
    [
        ("", UNSET),
        ('fail-on = "never"', None),
        ('fail-on = "info"', Severity.INFO),
        ('fail-on = "critical"', Severity.CRITICAL),
    ],
    ids=["absent", "never", "info", "critical"],
)
def test_fail_on_values(tmp_path: Path, text: str, fail_on: object) -> None:
    assert load_policy(_write(tmp_path, text)).fail_on == fail_on


W = '[[waiver]]\ncheck = "status.flagged"\nnode = "x"\nreason = "ok"\n'
ERRORS = [
    ("fail_on = 'error'", "unknown key 'fail_on' (did you mean 'fail-on'?)"),
    ("[waivers]", "unknown key 'waivers' (did you mean 'waiver'?)"),
    ("colour = 1", "unknown key 'colour'"),
    (
        'fail-on = "fatal"',
        "'fail-on' must be one of info, warning, error, critical or never, not 'fatal'",
    ),
    (
        'fail-on = "Error"',
        "'fail-on' must be one of info, warning, error, critical or never, not 'Error'",
    ),
    ("fail-on = 2", "'fail-on' must be one of info, warning, error, critical or never, not 2"),
    ('severity = "info"', "'severity' must be a table of check code = severity, not 'info'"),
    (
        '[severity]\n"security.tags" = "info"',
        "severity: unknown check code 'security.tags' (did you mean 'security.tag'?)",
    ),
    ('[severity]\nbogus = "info"', "severity: unknown check code 'bogus'"),
    (
        '[severity]\n"security.tag" = "low"',
        "severity: \"security.tag\" must be one of info, warning, error or critical, not 'low'",
    ),
    (
        '[severity]\n"security.tag" = "never"',
        "severity: \"security.tag\" must be one of info, warning, error or critical, not 'never'",
    ),
    (
        '[severity]\n"security.tag" = ["info"]',
        'severity: "security.tag" must be one of info, warning, error or critical, not an array',
    ),
    ("[waiver]\ncheck = 'x'", "'waiver' must be an array of tables ([[waiver]]), not a table"),
    ("waiver = [1]", "waiver 1 must be a table, not 1"),
    (W + '[[waiver]]\ncheck = "status.flagged"\nnode = "x"', "waiver 2: missing 'reason'"),
    ('[[waiver]]\nnode = "x"\nreason = "ok"', "waiver 1: missing 'check'"),
    ('[[waiver]]\ncheck = "status.flagged"\nreason = "ok"', "waiver 1: missing 'node'"),
    (W + "expiry = 2027-01-01", "waiver 1: unknown key 'expiry' (did you mean 'expires'?)"),
    (W + "host = 'gpu-01'", "waiver 1: unknown key 'host'"),
    (
        '[[waiver]]\ncheck = "status.flagged"\nnode = "x"\nreason = "  "',
        "waiver 1: 'reason' must be a non-empty string, not '  '",
    ),
    (
        '[[waiver]]\ncheck = "status.flagged"\nnode = ""\nreason = "ok"',
        "waiver 1: 'node' must be a non-empty string, not ''",
    ),
    (
        '[[waiver]]\ncheck = "status.flaged"\nnode = "x"\nreason = "ok"',
        "waiver 1: unknown check code 'status.flaged' (did you mean 'status.flagged'?)",
    ),
    (
        '[[waiver]]\ncheck = "status.*"\nnode = "x"\nreason = "ok"',
        "waiver 1: 'check' must be one exact check code, not the glob 'status.*'",
    ),
    (
        '[[waiver]]\ncheck = "policy.waiver-expired"\nnode = "x"\nreason = "ok"',
        "waiver 1: 'policy.waiver-expired' cannot be waived; renew or remove the expired waiver",
    ),
    (
        W + "version = 1.2",
        "waiver 1: 'version' must be a non-empty string, not 1.2 (write \"1.2\")",
    ),
    (
        W + 'expires = "31/03/2027"',
        "waiver 1: 'expires' must be a date such as 2027-03-31, not '31/03/2027'",
    ),
    (
        W + 'expires = "2027-02-30"',
        "waiver 1: 'expires' must be a date such as 2027-03-31, not '2027-02-30'",
    ),
    (
        W + 'expires = "20270331"',
        "waiver 1: 'expires' must be a date such as 2027-03-31, not '20270331'",
    ),
    (
        W + "expires = 2027-03-31T12:00:00",
        "waiver 1: 'expires' must be a date such as 2027-03-31, not 2027-03-31T12:00:00",
    ),
    (W + "expires = true", "waiver 1: 'expires' must be a date such as 2027-03-31, not true"),
    (
        "fail-on = ",
        "not valid TOML: Invalid value (at end of document)",
    ),
    (
        W + "expires = 2027-02-30",
        "not valid TOML: Invalid date or datetime (at line 5, column 11)",
    ),
    (
        "[[waiver]]\nreason = 'a'\nreason = 'b'",
        "not valid TOML: Cannot overwrite a value (at end of document)",
    ),
]


@pytest.mark.parametrize(("text", "message"), ERRORS, ids=[m for _, m in ERRORS])
def test_policy_errors_name_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_policy(path)
    assert str(caught.value) == f"{path}: {message}"


def test_a_relative_path_is_named_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, "[[waiver]]\ncheck = 'status.flagged'\nnode = 'x'\n")
    monkeypatch.chdir(tmp_path)
    found = find_policy(Path())
    assert found == Path("comfy-audit.toml")
    with pytest.raises(InputError, match=r"^comfy-audit.toml: waiver 1: missing 'reason'$"):
        load_policy(found)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_policy(tmp_path / "absent.toml")
    assert str(caught.value) == (
        f"{tmp_path / 'absent.toml'}: cannot read the policy file: no such file or directory"
    )
    (tmp_path / "comfy-audit.toml").mkdir()
    with pytest.raises(InputError, match="cannot read the policy file"):
        load_policy(tmp_path / "comfy-audit.toml")
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'fail-on = "\xff"')
    with pytest.raises(InputError, match=r"bad.toml: not valid UTF-8$"):
        load_policy(bad)
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputError, match=r"deep.toml: not valid TOML"):
        load_policy(deep)


def test_a_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_bytes(b'\xef\xbb\xbffail-on = "never"\n')
    assert load_policy(path).fail_on is None


def test_find_policy(tmp_path: Path) -> None:
    assert find_policy(tmp_path) is None
    (tmp_path / "comfy-audit.toml").symlink_to(tmp_path / "gone")
    assert find_policy(tmp_path) == tmp_path / "comfy-audit.toml"
    os.unlink(tmp_path / "comfy-audit.toml")
    _write(tmp_path, "")
    assert find_policy(tmp_path) == tmp_path / "comfy-audit.toml"


def test_every_known_check_code_is_accepted(tmp_path: Path) -> None:
    lines = ["[severity]", *(f'"{code}" = "info"' for code in sorted(KNOWN_CHECKS))]
    policy = load_policy(_write(tmp_path, "\n".join(lines)))
    assert set(policy.severities) == KNOWN_CHECKS
    assert POLICY_CHECKS == {"policy.waiver-expired": Severity.WARNING}


@pytest.mark.parametrize(
    ("command_line", "in_file", "expected"),
    [
        (UNSET, UNSET, Severity.ERROR),
        (UNSET, Severity.WARNING, Severity.WARNING),
        (UNSET, None, None),
        (Severity.CRITICAL, Severity.WARNING, Severity.CRITICAL),
        (None, Severity.WARNING, None),
        (Severity.INFO, UNSET, Severity.INFO),
    ],
    ids=["default", "file", "file-never", "flag-beats-file", "flag-never", "flag"],
)
def test_fail_on_precedence(
    command_line: Severity | Unset | None,
    in_file: Severity | Unset | None,
    expected: Severity | None,
) -> None:
    assert resolve_fail_on(command_line, Policy(fail_on=in_file)) == expected
    if in_file is UNSET:
        assert resolve_fail_on(command_line, None) == expected


def _waiver(
    node: str = "comfyui-foo*",
    *,
    check: str = "status.flagged",
    version: str | None = None,
    expires: date | None = None,
    reason: str = "accepted",
    number: int = 1,
) -> Waiver:
    return Waiver(number, check, node, reason, version, expires)


@pytest.mark.parametrize(
    ("expires", "waived"),
    [(None, True), (date(2025, 6, 16), True), (TODAY, True), (date(2025, 6, 14), False)],
    ids=["never", "future", "today", "past"],
)
def test_waivers_apply_through_their_expiry_date(expires: date | None, waived: bool) -> None:
    policy = Policy(waivers=(_waiver(expires=expires),))
    applied = policy.apply([FLAGGED, TAG], TODAY)
    assert applied[1] == TAG
    if waived:
        assert applied == (replace(FLAGGED, waived=True, waiver_reason="accepted"), TAG)
    else:
        assert applied[:2] == (FLAGGED, TAG)
        assert applied[2:] == (
            Finding(
                host="gpu-01",
                node_id="comfyui-foo",
                version="1.2.0",
                check="policy.waiver-expired",
                severity=Severity.WARNING,
                message='waiver 1 for status.flagged on "comfyui-foo*" expired on 2025-06-14 '
                "(reason: accepted); the finding counts again",
                source=FindingSource.POLICY,
                actual="2025-06-14",
            ),
        )


@pytest.mark.parametrize(
    ("waiver", "matches"),
    [
        (_waiver("comfyui-foo"), True),
        (_waiver("COMFYUI-*"), True),
        (_waiver("comfyui-?oo"), True),
        (_waiver("comfyui-bar*"), False),
        (_waiver("foo"), False),
        (_waiver(version="1.2.0"), True),
        (_waiver(version="1.2"), False),
        (_waiver(version="v1.2.0"), False),
        (_waiver(check="status.banned"), False),
    ],
    ids=[
        "exact",
        "glob-any-case",
        "question-mark",
        "other-glob",
        "glob-is-anchored",
        "version",
        "other-version",
        "version-is-exact",
        "other-check",
    ],
)
def test_waiver_matching(waiver: Waiver, matches: bool) -> None:
    assert waiver.matches(FLAGGED) is matches
    assert Policy(waivers=(waiver,)).apply([FLAGGED], TODAY)[0].waived is matches


def test_only_a_star_matches_host_level_findings() -> None:
    compromised = finding("dependency.compromised", Severity.CRITICAL, node_id=None, version=None)
    assert _waiver("*", check="dependency.compromised").matches(compromised)
    assert not _waiver("?*", check="dependency.compromised").matches(compromised)
    assert not _waiver("*", check="dependency.compromised", version="1").matches(compromised)


def test_the_first_applying_waiver_gives_the_reason() -> None:
    policy = Policy(
        waivers=(
            _waiver(reason="old", expires=date(2020, 1, 1), number=1),
            _waiver(reason="first", number=2),
            _waiver("comfyui-*", reason="second", number=3),
        )
    )
    applied = policy.apply([FLAGGED], TODAY)
    assert applied[0] == replace(FLAGGED, waived=True, waiver_reason="first")
    # NOTE: the stale waiver is still reported, so that it gets removed from the file.
    assert [f.check for f in applied[1:]] == ["policy.waiver-expired"]


def test_one_expiry_warning_per_expired_waiver_and_pack() -> None:
    other_host = replace(FLAGGED, host="gpu-02")
    other_pack = replace(FLAGGED, node_id="comfyui-foobar", message="again")
    twice = replace(FLAGGED, message="the same pack twice")
    policy = Policy(
        waivers=(
            _waiver(expires=date(2025, 1, 1), number=1),
            _waiver("nothing-matches", expires=date(2025, 1, 1), number=2),
            _waiver("comfyui-foobar", expires=date(2025, 2, 1), number=3),
        )
    )
    applied = policy.apply([FLAGGED, other_host, twice, other_pack], TODAY)
    assert applied[:4] == (FLAGGED, other_host, twice, other_pack)
    assert [(f.host, f.node_id, f.message[:9], f.actual) for f in applied[4:]] == [
        ("gpu-01", "comfyui-foo", "waiver 1 ", "2025-01-01"),
        ("gpu-02", "comfyui-foo", "waiver 1 ", "2025-01-01"),
        ("gpu-01", "comfyui-foobar", "waiver 1 ", "2025-01-01"),
        ("gpu-01", "comfyui-foobar", "waiver 3 ", "2025-02-01"),
    ]


def test_severity_overrides_come_before_waivers() -> None:
    policy = Policy(
        severities={"security.tag": Severity.CRITICAL, "policy.waiver-expired": Severity.ERROR},
        waivers=(_waiver(check="security.tag", expires=date(2025, 1, 1)),),
    )
    applied = policy.apply([TAG, FLAGGED], TODAY)
    assert applied[:2] == (replace(TAG, severity=Severity.CRITICAL), FLAGGED)
    assert applied[2].severity is Severity.ERROR
    assert "version" not in applied[2].message
    live = replace(policy, waivers=(_waiver(check="security.tag", version="1.2.0"),))
    assert live.apply([TAG], TODAY) == (
        replace(TAG, severity=Severity.CRITICAL, waived=True, waiver_reason="accepted"),
    )


def test_disabled_packs_stay_info() -> None:
    quiet = replace(TAG, severity=Severity.INFO)
    policy = Policy(
        severities={"security.tag": Severity.ERROR},
        waivers=(_waiver(check="security.tag", version="1.2.0", expires=date(2025, 1, 1)),),
    )
    disabled = {("gpu-01", "comfyui-foo", "1.2.0")}
    applied = policy.apply([quiet], TODAY, disabled=disabled)
    assert applied[0] == quiet
    assert applied[1].severity is Severity.INFO
    assert applied[1].message == (
        'waiver 1 for security.tag on "comfyui-foo*" version "1.2.0" expired on 2025-01-01 '
        "(reason: accepted); the finding counts again"
    )


def test_apply_to_run_puts_expiry_warnings_beside_their_finding() -> None:
    compromised = finding("dependency.compromised", Severity.CRITICAL, node_id=None, version=None)
    bar = finding("status.flagged", Severity.ERROR, node_id="bar", version="2.0")
    disabled_tag = finding("security.tag", Severity.INFO, node_id="off", version="1")
    run = make_run(
        [
            audited(entry(), findings=[FLAGGED]),
            audited(entry("bar", "2.0"), findings=[bar]),
            audited(entry("off", "1", disabled=True), findings=[disabled_tag]),
        ],
        [compromised],
        exit_code=1,
    )
    past = date(2025, 1, 1)
    policy = Policy(
        severities={"security.tag": Severity.ERROR},
        waivers=(
            _waiver("*", expires=past),
            _waiver("*", check="dependency.compromised", expires=past, number=2),
            _waiver("bar", number=3),
        ),
    )
    applied = policy.apply_to_run(run, TODAY)
    assert applied.exit_code == 1
    assert [f.check for f in applied.host_findings] == [
        "dependency.compromised",
        "policy.waiver-expired",
    ]
    assert applied.host_findings[1].node_id is None
    foo, bar_entry, off = applied.entries
    assert [f.check for f in foo.findings] == ["status.flagged", "policy.waiver-expired"]
    assert [(f.check, f.waived) for f in bar_entry.findings] == [
        ("status.flagged", True),
        ("policy.waiver-expired", False),
    ]
    assert off.findings == (disabled_tag,)
    flat = policy.apply(run.findings, TODAY, disabled={("gpu-01", "off", "1")})
    assert sorted(applied.findings, key=repr) == sorted(flat, key=repr)


def test_an_empty_policy_changes_nothing() -> None:
    assert Policy().apply([FLAGGED, TAG], TODAY) == (FLAGGED, TAG)


CHECK_CODES = ["status.flagged", "security.tag", "dependency.missing", "os.unsupported"]
NODES = ["comfyui-foo", "ComfyUI-Bar", "baz", None]
findings_strategy = st.builds(
    Finding,
    host=st.sampled_from(["gpu-01", "gpu-02"]),
    node_id=st.sampled_from(NODES),
    version=st.sampled_from(["1.0", "2.0", None]),
    check=st.sampled_from(CHECK_CODES),
    severity=st.sampled_from(Severity),
    message=st.just("m"),
    source=st.sampled_from(FindingSource),
)
waivers_strategy = st.builds(
    Waiver,
    number=st.integers(1, 5),
    check=st.sampled_from(CHECK_CODES),
    node=st.sampled_from(["*", "comfyui-*", "BAZ", "c*", "x"]),
    reason=st.just("r"),
    version=st.sampled_from(["1.0", None]),
    expires=st.none() | st.dates(date(2025, 6, 1), date(2025, 7, 1)),
)
policies = st.builds(
    Policy,
    severities=st.dictionaries(st.sampled_from(CHECK_CODES), st.sampled_from(Severity)),
    waivers=st.lists(waivers_strategy, max_size=4).map(tuple),
)


@settings(deadline=None)
@given(policies, st.lists(findings_strategy, max_size=10))
def test_apply_keeps_every_finding_in_place(policy: Policy, findings: list[Finding]) -> None:
    applied = policy.apply(findings, TODAY)
    assert len(applied) >= len(findings)
    for before, after in zip(findings, applied[: len(findings)], strict=True):
        assert replace(after, severity=before.severity, waived=False, waiver_reason=None) == before
    assert all(f.check == "policy.waiver-expired" for f in applied[len(findings) :])


@settings(deadline=None)
@given(st.lists(waivers_strategy, max_size=4), st.lists(findings_strategy, max_size=10))
def test_live_waivers_never_raise_the_exit_code(
    waivers: list[Waiver], findings: list[Finding]
) -> None:
    live = tuple(replace(w, expires=None) for w in waivers)
    applied = Policy(waivers=live).apply(findings, TODAY)
    assert len(applied) == len(findings)
    counted = [f for f in applied if not f.waived]
    for fail_on in (*Severity, None):
        assert exit_code(counted, fail_on) in (0, exit_code(findings, fail_on), 3)
        assert (exit_code(counted, fail_on) == 1) <= (exit_code(findings, fail_on) == 1)

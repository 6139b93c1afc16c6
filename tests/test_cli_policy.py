"""End-to-end tests of policy files, baselines and the monitoring and CI outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result
from prometheus_client.parser import text_string_to_metric_families

from audit.cli import cli
from tests.registry_server import node_version_record

RECORDS = [
    node_version_record("comfyui-foo", "1.2.0", status="NodeVersionStatusFlagged"),
    node_version_record("comfyui-bar", "2.0.0", tags_admin=["any-network-requests"]),
]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    monkeypatch.chdir(tmp_path)
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    manifest = tmp_path / "render-01.json"
    snapshot = {"cnr_custom_nodes": {"comfyui-foo": "1.2.0", "comfyui-bar": "2.0.0"}, "pips": {}}
    manifest.write_text(json.dumps(snapshot))
    return ["run", manifest, "--registry", mirror, "-q"]


def findings(out: Path) -> pd.DataFrame:
    (run_dir,) = sorted(out.iterdir())[-1:]
    return pd.read_parquet(run_dir / "findings.parquet")


WAIVER = """
[[waiver]]
check = "status.flagged"
node = "comfyui-f*"
reason = "reviewed the scanner hit, false positive"
expires = {expires}
"""


@pytest.mark.parametrize(
    ("expires", "code", "checks"),
    [
        ("2999-12-31", 0, ["security.tag", "status.flagged"]),
        ("2020-01-31", 1, ["policy.waiver-expired", "security.tag", "status.flagged"]),
    ],
    ids=["live-waiver", "expired-waiver"],
)
def test_waivers_in_the_working_directory_policy(
    tmp_path: Path, setup: list[object], expires: str, code: int, checks: list[str]
) -> None:
    (tmp_path / "comfy-audit.toml").write_text(WAIVER.format(expires=expires))
    result = invoke(*setup, "-o", tmp_path / "out")
    assert result.exit_code == code
    frame = findings(tmp_path / "out")
    assert sorted(frame.check) == checks
    flagged = frame[frame.check == "status.flagged"].iloc[0]
    assert bool(flagged.waived) is (code == 0)


def test_policy_severity_override_and_fail_on(tmp_path: Path, setup: list[object]) -> None:
    policy = tmp_path / "strict.toml"
    policy.write_text('fail-on = "warning"\n[severity]\n"status.flagged" = "info"\n')
    result = invoke(*setup, "--policy", policy, "-o", tmp_path / "out")
    assert result.exit_code == 1  # the security tag is a warning, and the policy fails on it
    severities = dict(
        zip(*(findings(tmp_path / "out")[c] for c in ("check", "severity")), strict=True)
    )
    assert {k: str(v) for k, v in severities.items()} == {
        "security.tag": "warning",
        "status.flagged": "info",
    }
    assert (
        invoke(*setup, "--policy", policy, "--fail-on", "error", "-o", tmp_path / "o2").exit_code
        == 0
    )


def test_a_bad_policy_is_an_input_error(tmp_path: Path, setup: list[object]) -> None:
    (tmp_path / "comfy-audit.toml").write_text('fail_on = "error"\n')
    result = invoke(*setup, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr == (
        "comfy-audit: error: comfy-audit.toml: unknown key 'fail_on' (did you mean 'fail-on'?)\n"
    )


def test_baseline_marks_new_and_known(tmp_path: Path, setup: list[object]) -> None:
    first = tmp_path / "first"
    invoke(*setup, "-o", first)
    (baseline,) = first.iterdir()
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text(
        mirror.read_text()
        + json.dumps(node_version_record("comfyui-baz", "0.1.0", status="NodeVersionStatusBanned"))
        + "\n"
    )
    manifest = tmp_path / "render-01.json"
    snapshot = json.loads(manifest.read_text())
    snapshot["cnr_custom_nodes"]["comfyui-baz"] = "0.1.0"
    manifest.write_text(json.dumps(snapshot))
    result = invoke(*setup, "--baseline", baseline, "--fail-on-new", "-o", tmp_path / "second")
    assert result.exit_code == 1
    frame = findings(tmp_path / "second")
    assert sorted(zip(frame.node_id, frame.baseline, strict=True)) == [
        ("comfyui-bar", "known"),
        ("comfyui-baz", "new"),
        ("comfyui-foo", "known"),
    ]
    snapshot["cnr_custom_nodes"].pop("comfyui-baz")
    manifest.write_text(json.dumps(snapshot))
    only_known = invoke(*setup, "--baseline", baseline, "--fail-on-new", "-o", tmp_path / "third")
    assert only_known.exit_code == 0


def test_fail_on_new_needs_a_baseline(tmp_path: Path, setup: list[object]) -> None:
    result = invoke(*setup, "--fail-on-new", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "--fail-on-new needs --baseline PATH" in result.stderr


def test_prometheus_markdown_and_json_outputs(tmp_path: Path, setup: list[object]) -> None:
    prom, md = tmp_path / "audit.prom", tmp_path / "summary.md"
    run = [a for a in setup if a != "-q"]
    result = invoke(*run, "--prometheus", prom, "--markdown", md, "--json", "-o", tmp_path / "o")
    assert result.exit_code == 1
    printed = json.loads(result.stdout)
    assert sorted(f["check"] for f in printed) == ["security.tag", "status.flagged"]
    assert result.stderr.splitlines()[-1].startswith("reports: ")
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    samples = {
        (s.labels["check"], s.labels["severity"]): s.value
        for s in families["comfy_audit_findings"].samples
    }
    assert samples == {("security.tag", "warning"): 1.0, ("status.flagged", "error"): 1.0}
    assert families["comfy_audit_run_success"].samples[0].value == 1.0
    assert md.read_text().startswith("## comfy-audit: failed (exit code 1)\n")
    assert "status.flagged" in md.read_text()

"""End-to-end tests of the upgrade plan: `run`'s recommendations and `comfy-audit advise`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from click.testing import CliRunner, Result

from audit.cli import cli
from audit.manifest import read_manifest
from tests.registry_server import node_version_record

FLAGGED = "NodeVersionStatusFlagged"
RECORDS = [
    # installed: needs ComfyUI <0.4.0
    node_version_record("comfyui-foo", "1.0.0", supported_comfyui_version="<0.4.0"),
    node_version_record("comfyui-foo", "1.2.0", status=FLAGGED),  # newest: flagged
    node_version_record("comfyui-foo", "1.1.0", supported_comfyui_version=">=0.5.0"),  # too new
    node_version_record("comfyui-foo", "1.0.5", supported_comfyui_version=">=0.3.0"),  # fits
    node_version_record("comfyui-foo", "1.3.0-beta.1"),  # pre-release
    node_version_record("comfyui-bar", "2.0.0", supported_os=["Microsoft :: Windows"]),
]
MACHINE = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40"]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def setup(tmp_path: Path) -> tuple[Path, Path]:
    mirror = tmp_path / "mirror.jsonl"
    mirror.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    manifest = tmp_path / "render-01.json"
    snapshot = {"cnr_custom_nodes": {"comfyui-foo": "1.0.0", "comfyui-bar": "2.0.0"}, "pips": {}}
    manifest.write_text(json.dumps(snapshot))
    return mirror, manifest


def test_advise_prints_the_plan_and_writes_a_snapshot(tmp_path: Path) -> None:
    mirror, manifest = setup(tmp_path)
    plan = tmp_path / "plan.json"
    result = invoke(
        "advise", manifest, "--registry", mirror, *MACHINE, "--target-comfyui", "0.4.0", "-o", plan
    )
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "comfy node install comfyui-foo@1.0.5",
        "# comfyui-bar@2.0.0: no fitting version (every Active version requires OS Microsoft ::"
        " Windows); to disable it: comfy node disable comfyui-bar",
        "# render-01: safe after 1 pack change: comfyui-foo@1.0.0 -> 1.0.5",
    ]
    restored = read_manifest(plan, host="render-01")
    assert sorted((e.node_id, e.version) for e in restored.entries) == [
        ("comfyui-bar", "2.0.0"),
        ("comfyui-foo", "1.0.5"),
    ]


def test_prereleases_only_when_asked(tmp_path: Path) -> None:
    mirror, manifest = setup(tmp_path)
    args = ["advise", manifest, "--registry", mirror, *MACHINE, "--target-comfyui", "0.4.0"]
    result = invoke(*args, "--allow-prerelease")
    assert result.stdout.splitlines()[0] == "comfy node install comfyui-foo@1.3.0-beta.1"


def test_run_writes_the_recommendations_table(tmp_path: Path) -> None:
    mirror, manifest = setup(tmp_path)
    out = tmp_path / "out"
    invoke(
        "run",
        manifest,
        "--registry",
        mirror,
        *MACHINE,
        "--target-comfyui",
        "0.4.0",
        "-q",
        "-o",
        out,
    )
    (run_dir,) = out.iterdir()
    table = pq.read_table(run_dir / "recommendations.parquet").to_pylist()
    rows = {r["node_id"]: (r["recommended_version"], r["clears"], r["blocked_by"]) for r in table}
    assert rows == {
        "comfyui-foo": ("1.0.5", ["comfyui.incompatible"], []),
        "comfyui-bar": (None, [], ["every Active version requires OS Microsoft :: Windows"]),
    }
    assert (
        invoke(
            "run",
            manifest,
            "--registry",
            mirror,
            *MACHINE,
            "--no-advice",
            "-q",
            "-o",
            tmp_path / "n",
        ).exit_code
        == 1
    )
    (quiet_dir,) = (tmp_path / "n").iterdir()
    assert pd.read_parquet(quiet_dir / "recommendations.parquet").empty


def test_plans_leave_out_what_the_install_reported(tmp_path: Path) -> None:
    mirror, manifest = setup(tmp_path)
    snapshot = json.loads(manifest.read_text())
    failure = {"reason": "No module named 'cv2'", "timestamp": "2026-12-01 10:00:00.123"}
    manifest.write_text(json.dumps({**snapshot, "import_failures": {"comfyui-bar": failure}}))
    plan = tmp_path / "plan.json"
    result = invoke(
        "advise", manifest, "--registry", mirror, *MACHINE, "--target-comfyui", "0.4.0", "-o", plan
    )
    assert result.exit_code == 1
    # NOTE: a plan restores versions; the last start's import failures are no part of it.
    written = json.loads(plan.read_text())
    assert "import_failures" not in written
    assert written["cnr_custom_nodes"] == {"comfyui-foo": "1.0.5", "comfyui-bar": "2.0.0"}

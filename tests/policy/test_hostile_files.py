"""A hostile ``comfy-audit.toml`` in the working directory: refused in one line, never a hang."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import cli
from audit.policy import load_policy
from tests.registry_server import node_version_record

WAIVER = '[[waiver]]\ncheck = "status.flagged"\nreason = "ok"\nnode = "{node}"\n'


def _run_in(folder: Path) -> tuple[int, str]:
    """Run an audit in ``folder``, which picks up its ``comfy-audit.toml``; exit code and stderr."""
    mirror = folder / "mirror.jsonl"
    mirror.write_text(json.dumps(node_version_record("comfyui-foo", "1.2.0")) + "\n")
    manifest = folder / "host.json"
    manifest.write_text(json.dumps({"cnr_custom_nodes": {"comfyui-foo": "1.2.0"}, "pips": {}}))
    args = ["run", str(manifest), "--registry", str(mirror), "-q", "-o", str(folder / "out")]
    result = CliRunner().invoke(cli, args)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.stderr


@pytest.fixture
def policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return Path("comfy-audit.toml")


def test_a_fifo_is_refused_without_blocking(policy: Path) -> None:
    os.mkfifo(policy)
    assert _run_in(Path.cwd()) == (
        2,
        "comfy-audit: error: comfy-audit.toml: cannot read the policy file: "
        "a FIFO, not a regular file\n",
    )


def test_a_link_to_dev_zero_is_refused_unread(policy: Path) -> None:
    policy.symlink_to("/dev/zero")
    assert _run_in(Path.cwd()) == (
        2,
        "comfy-audit: error: comfy-audit.toml: cannot read the policy file: "
        "a device, not a regular file\n",
    )


def test_a_huge_file_is_refused_by_size(policy: Path) -> None:
    policy.write_text(WAIVER.format(node="x" * 5_000_000))
    assert _run_in(Path.cwd()) == (
        2,
        "comfy-audit: error: comfy-audit.toml: cannot read the policy file: larger than 1 MiB\n",
    )


@pytest.mark.parametrize("glob", ["x" * 500_000, "*a" * 129], ids=["long", "many-stars"])
def test_a_huge_glob_is_refused_before_any_matching(policy: Path, glob: str) -> None:
    policy.write_text(WAIVER.format(node=glob))
    assert _run_in(Path.cwd()) == (
        2,
        f"comfy-audit: error: comfy-audit.toml: waiver 1: 'node' must be at most 256 "
        f"characters, not {len(glob):,}\n",
    )


def test_the_longest_glob_is_accepted(policy: Path) -> None:
    policy.write_text(WAIVER.format(node="comfyui-foo" + "*" * 245))
    (waiver,) = load_policy(policy).waivers
    assert len(waiver.node) == 256
    assert _run_in(Path.cwd()) == (0, "")

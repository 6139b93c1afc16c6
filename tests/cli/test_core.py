"""The command line's core: the one mapping of errors to exit codes, and its output files."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import cli, main
from audit.cli.core import write_atomically
from audit.errors import ReportError


def test_main_exits_with_the_commands_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == "comfy-audit, version 0.1.0\n"


def test_an_interrupt_is_one_line_and_exit_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("audit.inputs.read_hosts", interrupted)
    (tmp_path / "render-01.txt").write_text("comfyui-kjnodes@1.1.2\n")
    args = ["advise", str(tmp_path / "render-01.txt"), "--os", "linux", "--accelerator", "cuda"]
    result = CliRunner().invoke(cli, args)
    assert (result.exit_code, result.stdout, result.stderr) == (
        130,
        "",
        "comfy-audit: interrupted\n",
    )


def test_a_file_that_cannot_be_written_is_a_report_error(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "plan.json"
    with pytest.raises(ReportError, match=r"^.*/missing/plan\.json: cannot write: "):
        write_atomically(target, "{}\n")
    assert not target.parent.exists()

"""The command line's core: the one mapping of errors to exit codes, and its output files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from audit.cli import cli
from audit.cli.core import write_atomically
from audit.errors import ReportError


@pytest.mark.parametrize(
    ("argv", "code", "out"),
    [(["--version"], 0, "comfy-audit, version 0.1.0\n"), (["no-such-command"], 2, "")],
)
def test_main_exits_with_the_commands_code(argv: list[str], code: int, out: str) -> None:
    # NOTE: in a process of its own: `main` ends the process it runs in.
    program = f"from audit.cli import main; main({argv!r})"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (code, out)


def test_main_exits_quietly_when_its_reader_has_gone() -> None:
    program = "from audit.cli import main; main(['--help'])"
    command = [sys.executable, "-c", program]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as done:
        assert done.stdout is not None and done.stderr is not None
        done.stdout.close()
        # NOTE: 1, as click exits when its output is gone; and no traceback.
        assert (done.stderr.read(), done.wait()) == (b"", 1)


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

"""The README's worked example is the real output of the command it shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from click.testing import CliRunner

from audit.cli import cli

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


def _worked_example() -> tuple[list[str], str]:
    """Return the arguments of the README's example `comfy-audit run` and the output it shows."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```console\n$ comfy-audit run ", 1)[1].split("\n$ echo $?", 1)[0]
    lines = block.splitlines()
    command = []
    while lines[0].endswith("\\"):
        command.append(lines.pop(0).removesuffix("\\"))
    command.append(lines.pop(0))
    return shlex.split(" ".join(command)), "\n".join(lines) + "\n"


def test_worked_example_matches_the_real_output(tmp_path: Path) -> None:
    args, shown = _worked_example()
    result = CliRunner().invoke(cli, ["run", *args, "-o", str(tmp_path)], catch_exceptions=False)
    real = RUN_ID.sub("RUN", result.stdout).replace(str(tmp_path), "outputs")
    assert (result.exit_code, real) == (1, RUN_ID.sub("RUN", shown))


def test_readme_shows_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "$ make demo" in readme and "$ make test" in readme


def _make_demo() -> list[str]:
    """Return the arguments of `make demo`'s `comfy-audit run` (the Makefile's recipe)."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ndemo: ", 1)[1].split("; \\\n", 1)[0]
    command = recipe.split("comfy-audit run ", 1)[1].replace("\\\n", " ")
    return shlex.split(command)


def test_make_demo_gives_the_worked_example(tmp_path: Path) -> None:
    args = _make_demo()
    shown_args, shown = _worked_example()
    # NOTE: the same audit as the README shows, written where `make demo` writes it.
    assert args == [*shown_args, "--output", "outputs"]
    result = CliRunner().invoke(
        cli, ["run", *args[:-2], "--output", str(tmp_path)], catch_exceptions=False
    )
    real = RUN_ID.sub("RUN", result.stdout).replace(str(tmp_path), "outputs")
    assert (result.exit_code, real) == (1, RUN_ID.sub("RUN", shown))

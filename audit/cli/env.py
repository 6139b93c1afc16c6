"""``comfy-audit env``: print (or write) the environment profile."""

from __future__ import annotations

import json
from pathlib import Path

import click

from audit.cli.core import check_outputs, cli, write_atomically
from audit.cli.options import environment_options, output_file_option
from audit.environment import profile_to_dict
from audit.inputs import build_environment


@cli.command()
@environment_options
@output_file_option("Write the profile to this file instead of printing it.")
def env(
    comfyui_path: str | None,
    python: str | None,
    env_profile: str | None,
    os_name: str | None,
    accelerators: tuple[str, ...],
    output: str | None,
    **versions: str | None,
) -> None:
    """Print the environment profile as JSON: this machine's, or with --comfyui that install's
    (versions and their sources, Python, installed packages). Flags override what is found."""
    check_outputs(output)
    environment = build_environment(
        env_profile, comfyui_path, python, os_name, accelerators, **versions
    )
    text = json.dumps(profile_to_dict(environment), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(Path(output), text)

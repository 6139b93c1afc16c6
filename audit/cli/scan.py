"""``comfy-audit scan``: print (or write) the manifest of an install."""

from __future__ import annotations

import json
from pathlib import Path

import click

from audit import terminal
from audit.cli.core import check_outputs, cli, write_atomically
from audit.cli.options import json_option, output_file_option
from audit.inputs import host_name


@cli.command()
@click.argument("comfyui_path", metavar="COMFYUI_PATH", type=click.Path(file_okay=False))
@json_option("Print the entries as a JSON array.")
@output_file_option(
    "Write a ComfyUI-Manager snapshot (JSON; YAML for .yaml/.yml) that `run` reads back."
)
@click.option(
    "--python",
    type=click.Path(),
    metavar="PATH",
    help="The install's Python, for the snapshot's pips. Default: the environment inside it.",
)
@click.option("--host", help="Host name recorded in the entries. Default: this machine's name.")
def scan(
    comfyui_path: str, as_json: bool, output: str | None, python: str | None, host: str | None
) -> None:
    """Print the manifest of the ComfyUI install at COMFYUI_PATH (no pack code is run)."""
    from audit.environment import describe_install
    from audit.manifest import render_json, render_text, scan_install, to_snapshot

    check_outputs(output)
    manifest = scan_install(comfyui_path, host=host_name(host))
    if output is None:
        if as_json:
            click.echo(render_json(manifest), nl=False)
        else:
            terminal.echo(render_text(manifest), nl=False)
        return
    installed = describe_install(comfyui_path, python=python).installed
    snapshot = to_snapshot(manifest, installed)
    path = Path(output)
    write_atomically(path, _snapshot_text(path, snapshot))
    terminal.echo(f"wrote {len(manifest.entries)} packs to {path}", err=True)


def _snapshot_text(path: Path, snapshot: object) -> str:
    """``snapshot`` as YAML for a ``.yaml``/``.yml`` path, else as JSON."""
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        return yaml.safe_dump({"custom_nodes": snapshot}, sort_keys=False, allow_unicode=True)
    return json.dumps(snapshot, indent=4, ensure_ascii=False) + "\n"

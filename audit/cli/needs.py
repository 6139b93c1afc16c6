"""``comfy-audit needs``: print what workflows need, as a manifest or a snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from audit.cli.core import cli, write_atomically
from audit.cli.options import (
    json_option,
    node_map_option,
    output_file_option,
)
from audit.cli.registry_options import pop_registry, registry_options
from audit.errors import ExitCode


@cli.command(short_help="Print what workflows need, as a manifest or snapshot.")
@click.argument("workflow_paths", nargs=-1, required=True, metavar="WORKFLOW...")
@json_option("Print the packs as a JSON array.")
@output_file_option("Write a ComfyUI-Manager snapshot that restores what the workflows need.")
@node_map_option
@click.option(
    "--comfyui",
    "comfyui_path",
    type=click.Path(file_okay=False),
    metavar="PATH",
    help="Read that ComfyUI's own node list (statically) instead of the one shipped.",
)
@registry_options
def needs(
    workflow_paths: tuple[str, ...],
    as_json: bool,
    output: str | None,
    node_map: str | None,
    comfyui_path: str | None,
    **options: Any,
) -> int:
    """Print the packs WORKFLOW... (files or folders) need as node@version lines (the highest
    version any node names; git packs by repository, URL in a comment), so that installing them
    is one restore. Exit 3 when registry lookups failed."""
    from audit.manifest import render_json, render_text, to_snapshot
    from audit.workflows.prepare import needs_manifest, resolve_workflows

    settings = pop_registry(options)
    source = settings.open()
    resolved = resolve_workflows(
        workflow_paths, settings.comfy_nodes(source), comfyui=comfyui_path, node_map=node_map
    )
    manifest, comments = needs_manifest(resolved)
    if output:
        write_atomically(Path(output), json.dumps(to_snapshot(manifest), indent=4) + "\n")
        click.echo(f"wrote {len(manifest.entries)} packs to {output}", err=True)
    elif as_json:
        click.echo(render_json(manifest), nl=False)
    else:
        click.echo(render_text(manifest), nl=False)
    for line in comments:
        click.echo(line, err=bool(output or as_json))
    return ExitCode.INCOMPLETE if resolved.failed else ExitCode.CLEAN

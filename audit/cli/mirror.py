"""``comfy-audit mirror``: write an offline copy of the registry data needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from audit import terminal
from audit.cli.core import Incomplete, check_outputs, cli
from audit.cli.options import (
    manifest_format_option,
    output_file_option,
    workflow_option,
)
from audit.cli.registry_options import pop_registry, registry_options
from audit.errors import ExitCode
from audit.inputs import RegistrySettings
from audit.model import Manifest


@cli.command(short_help="Write an offline copy of the registry data needed.")
@click.argument("manifests", nargs=-1, metavar="[MANIFEST]...")
@output_file_option("The mirror file to write (JSON lines of NodeVersion records).", required=True)
@click.option("--all", "everything", is_flag=True, help="Mirror the whole registry instead.")
@click.option(
    "--versions",
    "with_versions",
    is_flag=True,
    help="Also every version of each listed pack (one request a pack), for offline advice.",
)
@click.option(
    "--vulns",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Also write the OSV advisories the manifests' installed packages need, as a folder "
    "for --vuln-db DIR (from --vuln-db, default the OSV API).",
)
@manifest_format_option()
@workflow_option(
    "Also what these workflows (files or folders) need: class lists and class lookups."
)
@click.option(
    "--comfy-nodes",
    is_flag=True,
    help="With --all: every version's class list too (one request per version).",
)
@registry_options
def mirror(
    manifests: tuple[str, ...],
    output: str,
    everything: bool,
    with_versions: bool,
    vulns: str | None,
    manifest_format: str,
    workflows: tuple[str, ...],
    comfy_nodes: bool,
    **options: Any,
) -> int:
    """Write an offline copy of the registry data that MANIFEST... need (or --all of it), for
    `run --registry FILE` on machines without network access."""
    from audit.manifest import ManifestFormat, read_manifests
    from audit.mirroring import mirror_manifests

    check_outputs(output)
    settings = pop_registry(options)
    if everything == bool(manifests):
        raise click.UsageError("give MANIFEST files or --all, not both and not neither")
    if everything and vulns:
        raise click.UsageError("--vulns needs MANIFEST files: it writes what their packages need")
    if comfy_nodes and not everything:
        raise click.UsageError("--comfy-nodes goes with --all (use --workflow with manifests)")
    if everything:
        return _mirror_all(settings, Path(output), comfy_nodes)
    read = read_manifests(manifests, format=ManifestFormat(manifest_format))
    written = mirror_manifests(
        settings, read, output, with_versions=with_versions, workflows=workflows
    )
    terminal.echo(written.describe(output), err=True)
    incomplete = vulns is not None and not _mirror_vulnerabilities(settings, read, vulns)
    return ExitCode.INCOMPLETE if written.failed or incomplete else ExitCode.CLEAN


def _mirror_all(settings: RegistrySettings, output: Path, comfy_nodes: bool) -> int:
    from audit.mirroring import mirror_everything
    from audit.registry import RegistryError

    try:
        count = mirror_everything(settings, output, comfy_nodes)
    except RegistryError as e:
        raise Incomplete(str(e)) from e
    terminal.echo(f"wrote {count} records to {output}", err=True)
    return ExitCode.CLEAN


def _mirror_vulnerabilities(
    settings: RegistrySettings, manifests: list[Manifest], folder: str
) -> bool:
    """Write the advisories the installed packages of ``manifests`` need into ``folder``;
    whether every lookup succeeded."""
    from audit.mirroring import mirror_vulnerabilities

    written = mirror_vulnerabilities(settings, manifests, folder)
    failed = f"; {len(written.failed)} lookups failed" if written.failed else ""
    click.echo(
        f"wrote {written.records} advisories to {folder} "
        f"(for {written.pairs} installed package versions{failed})",
        err=True,
    )
    return not written.failed

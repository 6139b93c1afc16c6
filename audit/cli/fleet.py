"""``comfy-audit fleet``: roll up the newest run of every host."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from audit import terminal
from audit.cli.core import cli
from audit.cli.options import version_option
from audit.lazy import without


@cli.command()
@click.argument("output_dir", metavar="OUTPUT_DIR")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Use every complete run since this UTC date or time, not only each host's newest.",
)
@version_option(
    "--target-comfyui", "The planned ComfyUI version: which packs block it, on how many hosts."
)
@click.option(
    "--stale-after",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    metavar="DAYS",
    help="A host whose newest run is older than this is reported stale.",
)
@click.option("--quiet", "-q", is_flag=True, help="Write the roll-up; print nothing.")
def fleet(
    output_dir: str,
    since: datetime | None,
    target_comfyui: str | None,
    stale_after: float,
    quiet: bool,
) -> None:
    """Roll up the newest run of every host under OUTPUT_DIR (a folder or s3://bucket/prefix):
    severity by host, affected packs, upgrade blockers, version drift and stale hosts; written
    to OUTPUT_DIR/fleet/<rollup_id>/."""
    # NOTE: the roll-up hands pyarrow no pandas objects, so it need not load pandas (0.2 s),
    # which pyarrow's first conversion of Python values would.
    with without("pandas"):
        # NOTE: pyarrow is loaded only by the command that needs it.
        from audit.fleet.output import render_rollup, write_rollup
        from audit.fleet.rollup import rollup

        result = rollup(
            output_dir,
            since=since.replace(tzinfo=UTC) if since else None,
            target_comfyui=target_comfyui,
            stale_after=timedelta(days=stale_after),
            now=datetime.now(UTC),
        )
        where = write_rollup(result, output_dir)
    if not quiet:
        terminal.echo(render_rollup(result, where))

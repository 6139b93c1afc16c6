"""``comfy-audit advise``: print the upgrade plan alone."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from audit import terminal
from audit.cli.audit_options import input_options, policy_options, pop_inputs, threshold
from audit.cli.core import check_outputs, cli, warn, write_atomically
from audit.cli.process import keep_until_exit
from audit.cli.registry_options import pop_registry, registry_options
from audit.inputs import Inputs, policy_rules
from audit.model import AuditRun
from audit.policy import resolve_fail_on


@cli.command()
@input_options
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    help="Also write the plan as a ComfyUI-Manager snapshot that restores the recommended "
    "versions; with several hosts, a folder that gets one <host>.json per host.",
)
@click.option(
    "--allow-prerelease", is_flag=True, help="Let the advisor recommend pre-release versions."
)
@policy_options
@registry_options
def advise(
    output: str | None,
    allow_prerelease: bool,
    fail_on: str | None,
    policy: str | None,
    **options: Any,
) -> int:
    """Print the upgrade plan alone: for each pack that blocks the (target) ComfyUI or is
    unsafe, the version to move to, as commands to paste; with --target-comfyui, whether the
    upgrade is safe, safe after those changes, or blocked. Exits like `run`."""
    from audit.advisor import plan_paths
    from audit.pipeline import AuditOptions, Auditor

    check_outputs(output)
    settings = pop_registry(options)
    inputs = pop_inputs(options)
    # NOTE: where the plans go is checked before the audit, so a bad -o prints nothing.
    targets = plan_paths(Path(output), inputs.hosts) if output else {}
    _, rules = policy_rules(policy)
    source = settings.open()
    audit_options = AuditOptions(
        fail_on=resolve_fail_on(threshold(fail_on), rules),
        installed_is_explicit=inputs.installed_is_explicit,
        policy=rules,
        allow_prerelease=allow_prerelease,
    )
    vulnerabilities = settings.open_vulnerabilities()
    auditor = Auditor(
        source, audit_options, lister=source, nodes=source, vulnerabilities=vulnerabilities
    )
    audit_run = inputs.audit(auditor, inputs.recorded)
    keep_until_exit(inputs, source, audit_run)
    warn(settings.stale_warning(source))
    _print_plan(audit_run)
    _write_plans(audit_run, inputs, targets)
    return audit_run.exit_code


def _write_plans(audit_run: AuditRun, inputs: Inputs, targets: Mapping[str, Path]) -> None:
    """Write each host's plan as a snapshot to its path in ``targets``."""
    from audit.advisor import plan_snapshot

    listed = [e for m in inputs.manifests for e in m.entries]
    for host, path in targets.items():
        plan = plan_snapshot(audit_run.recommendations, listed, host=host)
        write_atomically(path, json.dumps(plan, indent=4) + "\n")


def _print_plan(audit_run: AuditRun) -> None:
    """Print the commands of the plan, then each upgrading host's verdict."""
    from audit.advisor import plan_commands, upgrade_verdict

    recommendations = audit_run.recommendations
    for line in plan_commands(recommendations) or ["# no pack needs a change"]:
        terminal.echo(terminal.visible_line(line))
    for host, env in audit_run.host_environments.items():
        if env.target_comfyui or env.target_frontend:
            entries = [a for a in audit_run.entries if a.entry.host == host]
            mine = [r for r in recommendations if r.host == host]
            verdict = upgrade_verdict(entries, mine, env)
            terminal.echo(terminal.visible_line(f"# {host}: {verdict}"))

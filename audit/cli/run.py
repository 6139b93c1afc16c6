"""``comfy-audit run``: audit manifests or an install and write the reports."""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Any

import click

from audit.cli.audit_options import (
    advice_options,
    input_options,
    policy_options,
    pop_inputs,
    threshold,
)
from audit.cli.core import check_outputs, cli, warn
from audit.cli.options import json_option, node_map_option, workflow_option
from audit.cli.process import keep_until_exit
from audit.cli.progress import progress_for
from audit.cli.registry_options import pop_registry, registry_options
from audit.cli.run_reports import write_reports
from audit.inputs import RegistrySettings, policy_rules
from audit.lazy import preload, without
from audit.policy import resolve_fail_on

if TYPE_CHECKING:
    from audit.baseline import Baseline
    from audit.pipeline import AuditOptions, Auditor, Progress
    from audit.registry import AnyRegistry
    from audit.workflows.audit import WorkflowAudit


@cli.command(short_help="Audit manifests or an install; write the reports.")
@input_options
@click.option(
    "--output",
    "-o",
    default="outputs",
    show_default=True,
    metavar="DIR|URI",
    help="Folder (or s3://bucket/prefix) under which the run folder <run_id>/ is written.",
)
@policy_options
@click.option(
    "--baseline",
    type=click.Path(),
    metavar="PATH",
    help="A previous run folder (or its findings file): marks each finding new or known.",
)
@click.option("--fail-on-new", is_flag=True, help="Only new findings fail (needs --baseline).")
@click.option(
    "--prometheus",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write a node_exporter textfile of the findings and the run.",
)
@click.option(
    "--markdown",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Also write a Markdown summary (for CI job pages).",
)
@json_option("Print the findings as JSON on stdout (the summary goes to stderr).")
@advice_options
@registry_options
@click.option(
    "--quiet", "-q", is_flag=True, help="No summary and no progress; warnings and errors only."
)
@workflow_option(
    "A workflow (UI or API JSON, PNG, WebP) or a folder of them: which hosts can run it."
)
@node_map_option
def run(
    output: str,
    fail_on: str | None,
    policy: str | None,
    baseline: str | None,
    fail_on_new: bool,
    prometheus: str | None,
    markdown: str | None,
    as_json: bool,
    no_advice: bool,
    allow_prerelease: bool,
    quiet: bool,
    workflows: tuple[str, ...],
    node_map: str | None,
    **options: Any,
) -> int:
    """Audit the packs listed in MANIFEST... (snapshots, node@version lists, CSV or JSON), or
    the install at --comfyui PATH when no manifest is given."""
    check_outputs(prometheus, markdown)
    settings = pop_registry(options)
    # NOTE: the registry (a mirror file is read whole) is opened while a child reads manifests,
    # and a fleet's stages and report writers (pyarrow) load then too: the fork that audits
    # its hosts next waits for every import under way (a single host's writers load during its
    # lookup).
    opened = functools.cache(settings.open)
    fleet = len(options["manifests"]) > 1

    def meanwhile() -> None:
        if fleet:
            preload("audit.pipeline")
            preload("audit.report")
        opened()

    inputs = pop_inputs(options, meanwhile=meanwhile)
    source = opened()
    from audit.pipeline import AuditOptions

    if fail_on_new and not baseline:
        raise click.UsageError("--fail-on-new needs --baseline PATH")
    policy_path, rules = policy_rules(policy)
    fail_threshold = resolve_fail_on(threshold(fail_on), rules)
    audit_options = AuditOptions(
        fail_on=fail_threshold,
        installed_is_explicit=inputs.installed_is_explicit,
        policy=rules,
        baseline=_baseline(baseline),
        new_only=fail_on_new,
        advice=not no_advice,
        allow_prerelease=allow_prerelease,
    )
    recorded = {
        **inputs.recorded,
        **settings.recorded(),
        "output": output,
        "fail_on": fail_threshold.label if fail_threshold else "never",
        "policy": str(policy_path) if policy_path else None,
        "baseline": baseline,
        "fail_on_new": fail_on_new,
        "advice": not no_advice,
        "allow_prerelease": allow_prerelease,
        "workflows": list(workflows),
        "node_map": node_map,
    }
    judge = (
        settings.workflow_audit(source, workflows, node_map, inputs.comfyui) if workflows else None
    )
    auditor = _auditor(settings, source, audit_options, judge, quiet=quiet)
    audit_run = inputs.audit(auditor, recorded)
    keep_until_exit(inputs, source, audit_run)
    warn(settings.stale_warning(source))
    # NOTE: the writers hand pyarrow no pandas objects, so it need not load pandas (0.2 s).
    with without("pandas"):
        return write_reports(audit_run, output, prometheus, markdown, as_json=as_json, quiet=quiet)


def _baseline(path: str | None) -> Baseline | None:
    """The baseline at ``path``, if one is given (only then is its reader, pyarrow, loaded)."""
    if not path:
        return None
    from audit.baseline import load_baseline

    return load_baseline(path)


def _auditor(
    settings: RegistrySettings,
    source: AnyRegistry,
    options: AuditOptions,
    judge: WorkflowAudit | None,
    *,
    quiet: bool,
) -> Auditor:
    """The auditor of ``run``: every stage on, progress on stderr unless ``quiet``."""
    from audit.pipeline import Auditor

    return Auditor(
        source,
        options,
        progress=_preloading_reports(progress_for(sys.stderr, quiet=quiet)),
        lister=source,
        nodes=source,
        vulnerabilities=settings.open_vulnerabilities(),
        workflows=judge,
    )


def _preloading_reports(progress: Progress) -> Progress:
    """``progress``, which also starts loading the report writers (pyarrow, 0.1 s) in a thread
    when the registry lookup starts: they load while the audit waits on the registry."""
    started: list[object] = []

    def report(stage: str, done: int, total: int) -> None:
        if stage == "lookup" and not started:
            started.append(preload("audit.report"))
        progress(stage, done, total)

    return report

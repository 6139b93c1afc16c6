"""The command line: parses options, builds the stages, prints, and maps errors to exit codes.

This is the only module that prints or exits. pandas and pyarrow are imported only by the commands
that write reports, so that ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import platform
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click
import yaml

from audit import atomic, terminal
from audit.checks.pack import pack_ids
from audit.environment import (
    ACCELERATORS,
    OPERATING_SYSTEMS,
    describe_install,
    describe_interpreter,
    detect,
    load_profile,
    normalize_accelerator,
    normalize_os,
    override,
    profile_to_dict,
)
from audit.errors import AuditError, ExitCode, InputError, ReportError
from audit.hosts import read_hosts, sibling_profiles
from audit.manifest import (
    ManifestFormat,
    read_manifests,
    render_json,
    render_text,
    scan_install,
    to_snapshot,
)
from audit.model import AuditRun, Environment, Failed, Invalid, Manifest, Severity
from audit.pipeline import AuditOptions, Auditor, Progress, host_environment
from audit.policy import UNSET, Policy, Unset, find_policy, load_policy, resolve_fail_on
from audit.registry import (
    TOKEN_ENV,
    AnyRegistry,
    CachingRegistry,
    HttpRegistry,
    OfflineRegistry,
    RegistryError,
    default_cache_dir,
    load_token,
    merge_records,
    mirror_records,
    node_records,
    open_registry,
    stale_data_warning,
    version_list_records,
    write_mirror,
)
from audit.registry.http_registry import DEFAULT_BASE_URL
from audit.registry.padded import with_padded
from audit.versions import parse_local_version
from audit.vulnerabilities import (
    VulnerabilitySource,
    default_vuln_db,
    open_vulnerability_source,
    write_advisories,
)

if TYPE_CHECKING:
    from audit.registry.comfy_nodes import ComfyNodesSource
    from audit.workflows.audit import WorkflowAudit

if TYPE_CHECKING:  # NOTE: the registry clients load requests; commands import them when they run.
    from audit.registry import AnyRegistry

__all__ = ["cli", "main"]

EXIT_INPUT = ExitCode.INPUT
EXIT_INCOMPLETE = ExitCode.INCOMPLETE
EXIT_INTERRUPTED = ExitCode.INTERRUPTED
EXIT_INTERNAL = ExitCode.INTERNAL
DEFAULT_REGISTRY = DEFAULT_BASE_URL

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """An input or usage error shown as plain ``comfy-audit: error:`` lines, exit 2."""

    exit_code = EXIT_INPUT

    def show(self, file: Any = None) -> None:
        for line in self.message.splitlines() or [""]:
            click.echo(f"comfy-audit: error: {_printable(line)}", err=True)


def _printable(text: str) -> str:
    # A manifest can hold control characters; never let them reach the terminal raw.
    return terminal.visible_line(text)


class AuditGroup(click.Group):
    """The command group; the one place where exceptions become exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AuditError as e:
            raise UserError(str(e)) from e
        except KeyboardInterrupt:
            click.echo("comfy-audit: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as e:  # NOTE: a traceback reaching a user is a bug; say so in one line.
            if os.environ.get("COMFY_AUDIT_DEBUG"):
                raise
            click.echo(
                f"comfy-audit: internal error: {type(e).__name__}: {_printable(str(e))}"
                " (set COMFY_AUDIT_DEBUG=1 for a traceback, and please report it)",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # NOTE: the version is looked up only here, so that --help never reads package metadata.
    if value and not ctx.resilient_parsing:
        from audit import __version__

        click.echo(f"comfy-audit, version {__version__}")
        ctx.exit()


@click.group(cls=AuditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """Audit installed ComfyUI custom-node packs against the Comfy Registry.

    Exit codes: 0 clean, 1 findings at or above --fail-on, 2 bad input,
    3 incomplete (some registry lookups failed), 130 interrupted.
    """
    logger = logging.getLogger("audit")
    if not any(isinstance(h, _WarningsToStderr) for h in logger.handlers):
        logger.addHandler(_WarningsToStderr(logging.WARNING))
        logger.propagate = False


class _WarningsToStderr(logging.Handler):
    """Shows the stages' warnings (an unusable cache…) as ``comfy-audit: warning:`` lines.

    It looks ``sys.stderr`` up at each message, not once, so that it follows redirection.
    """

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelname.lower()
        click.echo(f"comfy-audit: {level}: {_printable(record.getMessage())}", err=True)


def option_group(*options: Callable[[Any], Any]) -> Callable[[F], F]:
    """Return one decorator that applies ``options`` in order (the first shows first in --help)."""

    def apply(command: F) -> F:
        return functools.reduce(lambda f, option: option(f), reversed(options), command)

    return apply


def _check_version(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None and parse_local_version(value) is None:
        raise click.BadParameter(f"{value!r} is not a version (expected e.g. 0.3.40)")
    return value


def _check_os(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        return normalize_os(value) if value is not None else None
    except InputError as e:
        raise click.BadParameter(str(e)) from e


def _check_accelerators(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    try:
        return tuple(normalize_accelerator(a) for a in value)
    except InputError as e:
        raise click.BadParameter(str(e)) from e


def _version_flag(name: str, help: str) -> Callable[[F], F]:
    return click.option(name, metavar="V", callback=_check_version, help=help)


#: Options that describe the machine, shared by ``run`` and ``env``.
environment_options = option_group(
    click.option(
        "--comfyui",
        "comfyui_path",
        type=click.Path(file_okay=False),
        metavar="PATH",
        help="A ComfyUI install: its versions, interpreter and torch build describe the host.",
    ),
    click.option(
        "--python",
        type=click.Path(),
        metavar="PATH",
        help="The install's Python (or its venv): its site-packages are read as files, else it "
        "is run if you or root own it. Default: .venv, venv or python_embeded in --comfyui.",
    ),
    click.option(
        "--env-profile",
        type=click.Path(dir_okay=False),
        help="Profile (the JSON `comfy-audit env` prints) used instead of detection.",
    ),
    click.option(
        "--os",
        "os_name",
        metavar="NAME",
        callback=_check_os,
        help=f"Operating system: {', '.join(OPERATING_SYSTEMS)}. Default: detected.",
    ),
    click.option(
        "--accelerator",
        "accelerators",
        multiple=True,
        metavar="NAME",
        callback=_check_accelerators,
        help=f"Accelerator of the host, repeatable: {', '.join(ACCELERATORS)} "
        "(also xpu, npu, mps). cpu is always included. Default: detected.",
    ),
    _version_flag("--comfyui-version", "Installed ComfyUI version."),
    _version_flag("--frontend-version", "Installed ComfyUI frontend version."),
    _version_flag(
        "--target-comfyui",
        "Planned ComfyUI version: version checks also run against it (after-upgrade).",
    ),
    _version_flag(
        "--target-frontend",
        "Planned frontend version: version checks also run against it (after-upgrade).",
    ),
)


def build_environment(
    env_profile: str | None,
    comfyui_path: str | None,
    python: str | None,
    os_name: str | None,
    accelerators: Sequence[str],
    **versions: str | None,
) -> Environment:
    """Return the environment: a profile, an install or this machine, then the flags."""
    if env_profile:
        base = load_profile(env_profile)
    elif comfyui_path:
        base = describe_install(comfyui_path, python=python)
    else:
        base = detect()
    if python and not comfyui_path:
        base = describe_interpreter(base, python)
    return override(base, "flag", os=os_name, accelerators=accelerators or None, **versions)


class StderrProgress:
    """Shows how far the audit is on stderr: a redrawn bar on a terminal, one line a stage
    otherwise (logs of scheduled runs); never on stdout, which belongs to the summary."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._interactive = stream.isatty()
        self._shown: tuple[str, int] | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self._interactive:
            self._draw(stage, done, total)
        elif done == total:
            self._stream.write(f"comfy-audit: {stage}: {done}/{total}\n")

    def _draw(self, stage: str, done: int, total: int) -> None:
        filled = self._width * done // total if total else self._width
        if self._shown == (stage, filled) and done != total:
            return
        self._shown = (stage, filled)
        bar = "#" * filled + "-" * (self._width - filled)
        end = "\n" if done == total else ""
        self._stream.write(f"\r{stage:<12} [{bar}] {done}/{total}{end}")
        self._stream.flush()


def _no_progress(stage: str, done: int, total: int) -> None:
    """Report nothing (``--quiet``)."""


def _host(host: str | None) -> str:
    return host or platform.node() or "localhost"


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _check_duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    match = _DURATION.fullmatch(value.strip().lower())
    if match is None:
        raise click.BadParameter(f"{value!r} is not a duration (expected e.g. 90s, 30m, 1h, 2d)")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


#: Options that say where registry answers come from, shared by ``run`` and ``mirror``.
registry_options = option_group(
    click.option(
        "--registry",
        default=DEFAULT_REGISTRY,
        show_default=True,
        metavar="URL|FILE",
        help="Registry API base URL, or a mirror file (JSON lines) for a fully offline run.",
    ),
    click.option(
        "--cache-dir",
        type=click.Path(file_okay=False),
        metavar="PATH",
        help="Folder of the registry answer cache. Default: the user cache folder.",
    ),
    click.option("--no-cache", is_flag=True, help="Neither read nor write the cache."),
    click.option(
        "--max-age",
        default="1h",
        show_default=True,
        metavar="DURATION",
        callback=_check_duration,
        help="Cached answers older than this are fetched again (90s, 30m, 1h, 2d); a "
        "mirror or offline data older than this is warned about.",
    ),
    click.option("--refresh", is_flag=True, help="Fetch every answer again; write the cache."),
    click.option(
        "--offline",
        is_flag=True,
        help="Use only the cache (any age), no network; say how old the data is.",
    ),
    click.option(
        "--timeout", default=10.0, show_default=True, help="Seconds before a request fails."
    ),
    click.option(
        "--retries", default=4, show_default=True, help="Retries of a failed registry request."
    ),
    click.option(
        "--concurrency",
        default=8,
        show_default=True,
        type=click.IntRange(1, 64),
        help="Registry requests in flight at once.",
    ),
    click.option(
        "--chunk-size",
        default=100,
        show_default=True,
        type=click.IntRange(1, 1000),
        help="node@version pairs per bulk request.",
    ),
    click.option(
        "--ca-bundle",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="CA bundle to verify a private registry's TLS certificate (never turned off).",
    ),
    click.option(
        "--token-file",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help=f"File holding a registry token (else ${TOKEN_ENV}); sent to that host only.",
    ),
    click.option(
        "--allow-insecure-http",
        is_flag=True,
        help="Allow a plain http:// registry that is not on loopback.",
    ),
    click.option(
        "--vuln-db",
        metavar="URL|ZIP|DIR|none",
        help="Where known vulnerabilities of installed Python packages come from: the OSV API, "
        "OSV's PyPI export zip, a folder of OSV records, or none. Default: the OSV API with the "
        "default registry, else none.",
    ),
)


#: Options of the upgrade advisor, shared by ``run`` and ``advise``.
advice_options = option_group(
    click.option(
        "--no-advice",
        is_flag=True,
        help="Do not look for a version to move to (one request per affected pack).",
    ),
    click.option(
        "--allow-prerelease",
        is_flag=True,
        help="Let the advisor recommend pre-release versions.",
    ),
)


#: What to audit and on which machine, shared by ``run`` and ``advise``.
input_options = option_group(
    click.argument("manifests", nargs=-1, metavar="[MANIFEST]..."),
    click.option(
        "--manifest-format",
        type=click.Choice([f.value for f in ManifestFormat]),
        default=ManifestFormat.AUTO.value,
        show_default=True,
        help="Format of the manifests; auto detects it from the content.",
    ),
    click.option(
        "--host",
        help="Host name for a single manifest or --comfyui. "
        "Default: the manifest's file stem, or this machine's name.",
    ),
    environment_options,
)


_ENVIRONMENT_FLAGS = ("comfyui_path", "python", "env_profile", "os_name", "accelerators")
_VERSION_FLAGS = ("comfyui_version", "frontend_version", "target_comfyui", "target_frontend")


@dataclass(frozen=True)
class Inputs:
    """Represents what a command audits: the manifests (or the scanned install), the
    environment, and each host's own profile."""

    manifests: list[Manifest]
    environment: Environment
    profiles: dict[str, Environment]
    installed_is_explicit: bool
    """A profile or --python gave the installed packages: they beat a snapshot's pips."""
    recorded: dict[str, object]

    @classmethod
    def pop(cls, options: dict[str, Any]) -> Inputs:
        """Take the input options out of ``options`` and read what they name."""
        paths: tuple[str, ...] = options.pop("manifests")
        manifest_format, host = options.pop("manifest_format"), options.pop("host")
        comfyui_path, python, env_profile, os_name, accelerators = (
            options.pop(name) for name in _ENVIRONMENT_FLAGS
        )
        versions = {name: options.pop(name) for name in _VERSION_FLAGS}
        if not paths and not comfyui_path:
            raise click.UsageError("give one or more MANIFEST files, or --comfyui PATH")
        environment = build_environment(
            env_profile, comfyui_path, python, os_name, accelerators, **versions
        )
        # NOTE: `fleet/*.json` also matches the hosts' `<stem>.env.json` profiles: not manifests.
        paths = tuple(m for m in paths if not m.endswith(".env.json")) or paths
        targets = {k: v for k, v in versions.items() if k.startswith("target_")}
        read, profiles = (
            read_hosts(paths, host=host, format=ManifestFormat(manifest_format), targets=targets)
            if paths
            else ([scan_install(comfyui_path, host=_host(host))], {})
        )
        return cls(
            manifests=read,
            environment=environment,
            profiles=profiles,
            installed_is_explicit=bool(python)
            or (env_profile is not None and environment.installed is not None),
            recorded={
                "manifests": list(paths),
                "comfyui": comfyui_path,
                "python": python,
                "manifest_format": manifest_format,
                "host": host,
            },
        )

    def audit(self, auditor: Auditor, recorded: Mapping[str, object]) -> AuditRun:
        return auditor.run(self.manifests, self.environment, recorded, self.profiles)


@dataclass(frozen=True)
class RegistrySettings:
    """Represents the registry options of a command."""

    registry: str
    cache_dir: str | None
    no_cache: bool
    max_age: timedelta
    refresh: bool
    offline: bool
    timeout: float
    retries: int
    concurrency: int
    chunk_size: int
    ca_bundle: str | None
    token_file: str | None
    allow_insecure_http: bool
    vuln_db: str | None

    @classmethod
    def pop(cls, options: dict[str, Any]) -> RegistrySettings:
        """Take this command's registry options out of ``options``."""
        return cls(**{f.name: options.pop(f.name) for f in fields(cls)})

    def open(self) -> AnyRegistry:
        from audit.registry import default_cache_dir

        cache_dir = None if self.no_cache else (self.cache_dir or default_cache_dir())
        return open_registry(
            self.registry,
            allow_insecure_http=self.allow_insecure_http,
            cache_dir=cache_dir,
            max_age=self.max_age,
            refresh=self.refresh,
            offline=self.offline,
            token=load_token(os.environ, self.token_file),
            ca_bundle=self.ca_bundle,
            timeout=self.timeout,
            retries=self.retries,
            concurrency=self.concurrency,
            chunk_size=self.chunk_size,
        )

    @property
    def vulnerability_db(self) -> str:
        """``--vuln-db``, or what it is by default for these registry options."""
        return self.vuln_db or default_vuln_db(
            self.registry, DEFAULT_REGISTRY, offline=self.offline
        )

    def open_vulnerabilities(self, spec: str | None = None) -> VulnerabilitySource | None:
        """The vulnerability source of ``spec`` (default: `vulnerability_db`); ``None``: none."""
        return open_vulnerability_source(
            spec or self.vulnerability_db,
            cache_dir=None if self.no_cache else (self.cache_dir or default_cache_dir()),
            max_age=self.max_age,
            refresh=self.refresh,
            offline=self.offline,
            allow_insecure_http=self.allow_insecure_http,
            timeout=self.timeout,
            retries=self.retries,
            concurrency=self.concurrency,
            ca_bundle=self.ca_bundle,
        )

    def comfy_nodes(self, source: AnyRegistry) -> ComfyNodesSource:
        """The comfy-nodes answers that go with ``source`` (HTTP and cache, or the mirror)."""
        from audit.registry.comfy_nodes_cache import open_comfy_nodes

        return open_comfy_nodes(self.registry, source, max_age=self.max_age, refresh=self.refresh)

    def warn_if_stale(self, source: AnyRegistry) -> None:

        warning = stale_data_warning(source, self.max_age)
        if warning:
            click.echo(f"comfy-audit: warning: {_printable(warning)}", err=True)


_FAIL_ON = ["info", "warning", "error", "critical", "never"]

#: How findings are judged, shared by ``run`` and ``advise``.
policy_options = option_group(
    click.option(
        "--fail-on",
        type=click.Choice(_FAIL_ON),
        help="Exit 1 when a finding is at or above this severity. "
        "Default: the policy file's fail-on, else error.",
    ),
    click.option(
        "--policy",
        type=click.Path(dir_okay=False),
        metavar="FILE",
        help="Policy file: severity overrides, waivers, fail-on. "
        "Default: ./comfy-audit.toml if any.",
    ),
)


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
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the findings as JSON on stdout (the summary goes to stderr).",
)
@advice_options
@registry_options
@click.option(
    "--quiet", "-q", is_flag=True, help="No summary and no progress; warnings and errors only."
)
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    type=click.Path(),
    metavar="PATH",
    help="A workflow (UI or API JSON, PNG, WebP) or a folder of them: which hosts can run it.",
)
@click.option(
    "--node-map",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="ComfyUI-Manager's extension-node-map.json, for classes the registry cannot place.",
)
@click.pass_context
def run(
    ctx: click.Context,
    /,
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
) -> None:
    """Audit the packs listed in MANIFEST... (snapshots, node@version lists, CSV or JSON), or
    the install at --comfyui PATH when no manifest is given."""
    # NOTE: imported here so that --help and scan never load pandas or pyarrow.
    from audit import report
    from audit.baseline import load_baseline

    _check_outputs(prometheus, markdown)
    settings = RegistrySettings.pop(options)
    inputs = Inputs.pop(options)
    source = settings.open()
    if fail_on_new and not baseline:
        raise click.UsageError("--fail-on-new needs --baseline PATH")
    policy_path, rules = _policy(policy)
    threshold = resolve_fail_on(_threshold(fail_on), rules)
    known = load_baseline(baseline) if baseline else None
    recorded = {
        **inputs.recorded,
        "registry": settings.registry,
        "vuln_db": settings.vulnerability_db,
        "offline": settings.offline,
        "max_age_seconds": settings.max_age.total_seconds(),
        "output": output,
        "fail_on": threshold.label if threshold else "never",
        "policy": str(policy_path) if policy_path else None,
        "baseline": baseline,
        "fail_on_new": fail_on_new,
        "advice": not no_advice,
        "allow_prerelease": allow_prerelease,
        "workflows": list(workflows),
        "node_map": node_map,
    }
    audit_options = AuditOptions(
        fail_on=threshold,
        installed_is_explicit=inputs.installed_is_explicit,
        policy=rules,
        baseline=known,
        new_only=fail_on_new,
        advice=not no_advice,
        allow_prerelease=allow_prerelease,
    )
    progress: Progress = _no_progress if quiet else StderrProgress(sys.stderr)
    judge = _workflow_audit(workflows, node_map, settings, source, inputs) if workflows else None
    vulnerabilities = settings.open_vulnerabilities()
    auditor = Auditor(
        source,
        audit_options,
        progress=progress,
        lister=source,
        nodes=source,
        vulnerabilities=vulnerabilities,
        workflows=judge,
    )
    audit_run = inputs.audit(auditor, recorded)
    settings.warn_if_stale(source)
    extras = ((prometheus, report.prometheus_text), (markdown, report.markdown_summary))
    # NOTE: written before run.json, so that its exit_code is the one this process exits with.
    audit_run = _write_extras(audit_run, [(path, render) for path, render in extras if path])
    run_dir = report.write_run(audit_run, output)
    if as_json:
        click.echo(report.findings_json(audit_run), nl=False)
    if not quiet:
        terminal.echo(report.render_summary(audit_run, run_dir), err=as_json)
    ctx.exit(audit_run.exit_code)


def _write_extras(
    audit_run: AuditRun, extras: Sequence[tuple[str, Callable[[AuditRun], str]]]
) -> AuditRun:
    """Write the extra outputs; one that fails is named and counts like a failed lookup."""
    failed = False
    for path, render in extras:
        try:
            _write_atomically(Path(path), render(audit_run))
        except ReportError as e:
            click.echo(f"comfy-audit: error: {_printable(str(e))}", err=True)
            failed = True
    if failed and audit_run.exit_code == 0:
        return replace(audit_run, exit_code=EXIT_INCOMPLETE)
    return audit_run


def _workflow_audit(
    paths: Sequence[str],
    node_map: str | None,
    settings: RegistrySettings,
    source: AnyRegistry,
    inputs: Inputs | None = None,
) -> WorkflowAudit:
    from audit.workflows.prepare import resolve_workflows

    comfy_nodes = settings.comfy_nodes(source)
    comfyui = inputs.recorded.get("comfyui") if inputs else None
    resolved = resolve_workflows(
        paths, comfy_nodes, comfyui=comfyui if isinstance(comfyui, str) else None, node_map=node_map
    )
    return resolved.audit(comfy_nodes)


def _policy(path: str | None) -> tuple[Path | None, Policy | None]:
    """The policy file given, else ``./comfy-audit.toml`` when there is one, and its rules."""
    found = Path(path) if path else find_policy(Path())
    return found, load_policy(found) if found else None


def _threshold(fail_on: str | None) -> Severity | Unset | None:
    if fail_on is None:
        return UNSET
    return None if fail_on == "never" else Severity.parse(fail_on)


@cli.command()
@environment_options
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the profile to this file instead of printing it.",
)
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
    _check_outputs(output)
    environment = build_environment(
        env_profile, comfyui_path, python, os_name, accelerators, **versions
    )
    text = json.dumps(profile_to_dict(environment), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_atomically(Path(output), text)


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
) -> None:
    """Print the upgrade plan alone: for each pack that blocks the (target) ComfyUI or is
    unsafe, the version to move to, as commands to paste; with --target-comfyui, whether the
    upgrade is safe, safe after those changes, or blocked. Exits like `run`."""
    from audit.advisor import plan_commands, plan_paths, plan_snapshot, upgrade_verdict

    _check_outputs(output)
    settings = RegistrySettings.pop(options)
    inputs = Inputs.pop(options)
    hosts = list(dict.fromkeys(h for m in inputs.manifests if not m.unreadable for h in m.hosts))
    # NOTE: where the plans go is checked before the audit, so a bad -o prints nothing.
    targets = plan_paths(Path(output), hosts) if output else {}
    _, rules = _policy(policy)
    source = settings.open()
    audit_options = AuditOptions(
        fail_on=resolve_fail_on(_threshold(fail_on), rules),
        installed_is_explicit=inputs.installed_is_explicit,
        policy=rules,
        allow_prerelease=allow_prerelease,
    )
    vulnerabilities = settings.open_vulnerabilities()
    auditor = Auditor(
        source, audit_options, lister=source, nodes=source, vulnerabilities=vulnerabilities
    )
    audit_run = inputs.audit(auditor, inputs.recorded)
    settings.warn_if_stale(source)
    recommendations = audit_run.recommendations
    for line in plan_commands(recommendations) or ["# no pack needs a change"]:
        terminal.echo(terminal.visible_line(line))
    for host, env in audit_run.host_environments.items():
        if env.target_comfyui or env.target_frontend:
            entries = [a for a in audit_run.entries if a.entry.host == host]
            mine = [r for r in recommendations if r.host == host]
            verdict = upgrade_verdict(entries, mine, env)
            terminal.echo(terminal.visible_line(f"# {host}: {verdict}"))
    listed = [e for m in inputs.manifests for e in m.entries]
    for host, path in targets.items():
        plan = plan_snapshot(recommendations, listed, host=host)
        _write_atomically(path, json.dumps(plan, indent=4) + "\n")
    sys.exit(audit_run.exit_code)


@cli.command(short_help="Print what workflows need, as a manifest or snapshot.")
@click.argument("workflow_paths", nargs=-1, required=True, metavar="WORKFLOW...")
@click.option("--json", "as_json", is_flag=True, help="Print the packs as a JSON array.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write a ComfyUI-Manager snapshot that restores what the workflows need.",
)
@click.option(
    "--node-map",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="ComfyUI-Manager's extension-node-map.json, for classes the registry cannot place.",
)
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
) -> None:
    """Print the packs WORKFLOW... (files or folders) need as node@version lines (the highest
    version any node names; git packs by repository, URL in a comment), so that installing them
    is one restore. Exit 3 when registry lookups failed."""
    from audit.workflows.prepare import needs_manifest, resolve_workflows

    settings = RegistrySettings.pop(options)
    source = settings.open()
    resolved = resolve_workflows(
        workflow_paths, settings.comfy_nodes(source), comfyui=comfyui_path, node_map=node_map
    )
    manifest, comments = needs_manifest(resolved)
    if output:
        _write_atomically(Path(output), json.dumps(to_snapshot(manifest), indent=4) + "\n")
        click.echo(f"wrote {len(manifest.entries)} packs to {output}", err=True)
    elif as_json:
        click.echo(render_json(manifest), nl=False)
    else:
        click.echo(render_text(manifest), nl=False)
    for line in comments:
        click.echo(line, err=bool(output or as_json))
    sys.exit(EXIT_INCOMPLETE if resolved.failed else 0)


@cli.command(short_help="Write an offline copy of the registry data needed.")
@click.argument("manifests", nargs=-1, metavar="[MANIFEST]...")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False),
    help="The mirror file to write (JSON lines of NodeVersion records).",
)
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
@click.option(
    "--manifest-format",
    type=click.Choice([f.value for f in ManifestFormat]),
    default=ManifestFormat.AUTO.value,
    help="Format of the manifests; auto detects it from the content.",
)
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    type=click.Path(),
    metavar="PATH",
    help="Also what these workflows (files or folders) need: class lists and class lookups.",
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
) -> None:
    """Write an offline copy of the registry data that MANIFEST... need (or --all of it), for
    `run --registry FILE` on machines without network access."""
    _check_outputs(output)
    settings = RegistrySettings.pop(options)
    if everything == bool(manifests):
        raise click.UsageError("give MANIFEST files or --all, not both and not neither")
    if everything and vulns:
        raise click.UsageError("--vulns needs MANIFEST files: it writes what their packages need")
    if comfy_nodes and not everything:
        raise click.UsageError("--comfy-nodes goes with --all (use --workflow with manifests)")
    if everything:
        count = _mirror_all(settings, Path(output), comfy_nodes)
        terminal.echo(f"wrote {count} records to {output}", err=True)
        return
    read = read_manifests(manifests, format=ManifestFormat(manifest_format))
    keys = with_padded([e.key for m in read for e in m.entries if e.key is not None])
    source = settings.open()
    if not isinstance(source, CachingRegistry | OfflineRegistry | HttpRegistry):
        raise click.UsageError("mirror needs a registry URL, not a mirror file")
    answers = source.fetch(keys)
    node_ids = list(dict.fromkeys(key.node_id for key in keys))
    lists = source.fetch_versions_of(node_ids) if with_versions else {}
    extra, failed_extra, named = (
        _workflow_mirror(workflows, settings, source, read) if workflows else ([], 0, [])
    )
    packs = source.fetch_nodes(pack_ids((e for m in read for e in m.entries), named))
    records = merge_records(version_list_records(lists), mirror_records(answers))
    count = write_mirror([*records, *node_records(packs), *extra], output)
    found = sum(a.mirror_record() is not None for a in answers.values())
    failed = sum(isinstance(a.result, Failed | Invalid) for a in answers.values()) + failed_extra
    failed += sum(isinstance(p.result, Failed | Invalid) for p in packs.values())
    terminal.echo(
        f"wrote {count} records to {output} ({found} of {len(keys)} node versions found"
        + (f", every version of {len(lists)} packs" if with_versions else "")
        + f", {len(node_records(packs))} Node records"
        + (f"; {failed} lookups failed)" if failed else ")"),
        err=True,
    )
    incomplete = vulns is not None and not _mirror_vulnerabilities(settings, read, vulns)
    if failed or incomplete:
        sys.exit(EXIT_INCOMPLETE)


def _mirror_vulnerabilities(
    settings: RegistrySettings, manifests: Sequence[Manifest], folder: str
) -> bool:
    """Write the advisories that the installed packages of ``manifests`` (their snapshots'
    ``pips`` or their ``<stem>.env.json`` profiles) need into ``folder``; whether every lookup
    succeeded."""
    from audit.vulnerabilities import DEFAULT_OSV_URL

    source = settings.open_vulnerabilities(settings.vuln_db or DEFAULT_OSV_URL)
    if source is None:
        raise click.UsageError("--vulns needs a vulnerability source, not --vuln-db none")
    profiles = sibling_profiles(manifests)
    environments = {
        m.host: host_environment(
            m, profiles.get(m.path, Environment()), installed_is_explicit=False
        )
        for m in manifests
    }
    written = write_advisories(source, environments, folder)
    failed = f"; {len(written.failed)} lookups failed" if written.failed else ""
    click.echo(
        f"wrote {written.records} advisories to {folder} "
        f"(for {written.pairs} installed package versions{failed})",
        err=True,
    )
    return not written.failed


def _workflow_mirror(
    paths: Sequence[str], settings: RegistrySettings, source: AnyRegistry, read: list[Manifest]
) -> tuple[list[dict[str, Any]], int, list[str]]:
    from audit.workflows.mirroring import mirror_workflows

    return mirror_workflows(
        paths, [e for m in read for e in m.entries], settings.comfy_nodes(source)
    )


def _mirror_all(settings: RegistrySettings, output: Path, comfy_nodes: bool = False) -> int:
    from audit.registry.comfy_nodes import HttpComfyNodes
    from audit.workflows.mirroring import with_class_lists

    if "://" not in settings.registry or settings.offline:
        raise click.UsageError("mirror --all needs a registry URL and the network")
    # NOTE: opened like every other command's registry, so the URL checks are the same.
    source = replace(settings, no_cache=True).open()
    assert isinstance(source, HttpRegistry)
    try:
        records: Iterable[Mapping[str, Any]] = source.list_versions()
        if comfy_nodes:
            records = with_class_lists(records, HttpComfyNodes(source))
        return write_mirror(itertools.chain(records, source.list_nodes()), output)
    except RegistryError as e:
        click.echo(f"comfy-audit: error: {_printable(str(e))}", err=True)
        sys.exit(EXIT_INCOMPLETE)


@cli.command()
@click.argument("output_dir", metavar="OUTPUT_DIR")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Use every complete run since this UTC date or time, not only each host's newest.",
)
@click.option(
    "--target-comfyui",
    metavar="V",
    callback=_check_version,
    help="The planned ComfyUI version: which packs block it, on how many hosts.",
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
    # NOTE: pyarrow's dataset engine is loaded only by the command that needs it.
    from audit.report.fleet import rollup
    from audit.report.fleet_output import render_rollup, write_rollup

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


@cli.command()
@click.argument("comfyui_path", metavar="COMFYUI_PATH", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the entries as a JSON array.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write a ComfyUI-Manager snapshot (JSON; YAML for .yaml/.yml) that `run` reads back.",
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
    _check_outputs(output)
    manifest = scan_install(comfyui_path, host=_host(host))
    if output is None:
        if as_json:
            click.echo(render_json(manifest), nl=False)
        else:
            terminal.echo(render_text(manifest), nl=False)
        return
    installed = describe_install(comfyui_path, python=python).installed
    snapshot = to_snapshot(manifest, installed)
    path = Path(output)
    if path.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump({"custom_nodes": snapshot}, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(snapshot, indent=4, ensure_ascii=False) + "\n"
    _write_atomically(path, text)
    terminal.echo(f"wrote {len(manifest.entries)} packs to {path}", err=True)


def _write_atomically(path: Path, text: str) -> None:
    try:
        atomic.write_file(path, text.encode("utf-8"))
    except atomic.Refused as e:
        raise ReportError(f"{path}: cannot write: {e}") from e


def _check_outputs(*targets: str | None) -> None:
    """Refuse, before anything is audited, an output file that would not be written."""
    for target in targets:
        if target is None:
            continue
        try:
            atomic.check_target(target)
        except atomic.Refused as e:
            raise InputError(f"{target}: not an output file: {e}") from e


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line and exit with its code."""
    cli.main(args=argv, prog_name="comfy-audit")
    sys.exit(0)

"""The command line: parses options, builds the stages, prints, and maps errors to exit codes.

This is the only module that prints or exits. pandas and pyarrow are imported only by the commands
that write reports, so that ``--help`` stays fast.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import platform
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO, TypeVar

import click
import yaml

from audit.environment import (
    ACCELERATORS,
    OPERATING_SYSTEMS,
    detect,
    load_profile,
    normalize_accelerator,
    normalize_os,
    override,
    profile_to_dict,
)
from audit.errors import AuditError, InputError, ReportError
from audit.installation import describe_install, describe_interpreter
from audit.manifest import (
    ManifestFormat,
    read_manifests,
    render_json,
    render_text,
    scan_install,
    to_snapshot,
)
from audit.model import AuditRun, Environment, Failed, Invalid, Manifest, Severity
from audit.pipeline import AuditOptions, Auditor, Progress
from audit.policy import UNSET, Policy, Unset, find_policy, load_policy, resolve_fail_on
from audit.registry.credentials import TOKEN_ENV
from audit.versions import parse_local_version

if TYPE_CHECKING:  # NOTE: the registry clients load requests; commands import them when they run.
    from audit.registry import AnyRegistry

__all__ = ["cli", "main"]

EXIT_INPUT = 2
EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70
DEFAULT_REGISTRY = "https://api.comfy.org"

F = TypeVar("F", bound=Callable[..., Any])


class UserError(click.ClickException):
    """An input or usage error shown as plain ``comfy-audit: error:`` lines, exit 2."""

    exit_code = EXIT_INPUT

    def show(self, file: Any = None) -> None:
        for line in self.message.splitlines() or [""]:
            click.echo(f"comfy-audit: error: {_printable(line)}", err=True)


def _printable(text: str) -> str:
    # A manifest can hold control characters; never let them reach the terminal raw.
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


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
        help="The install's Python (or its venv): its installed packages are read in a "
        "subprocess. Default: the venv in or beside --comfyui, or python_embeded.",
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


def _sibling_profiles(
    manifests: Sequence[Manifest], versions: Mapping[str, str | None]
) -> dict[str, Environment]:
    """Each manifest's ``<stem>.env.json`` (its host's profile), with the planned upgrade applied.

    Flags that describe a machine apply only to hosts without a profile; the targets are the
    plan, so they apply to every host.
    """
    targets = {k: v for k, v in versions.items() if k.startswith("target_")}
    profiles = {}
    for manifest in manifests:
        sibling = Path(manifest.path).with_name(Path(manifest.path).stem + ".env.json")
        if manifest.format != "install" and sibling.is_file():
            profiles[manifest.path] = override(load_profile(sibling), "flag", **targets)
    return profiles


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
        if paths:
            read = read_manifests(paths, host=host, format=ManifestFormat(manifest_format))
        else:
            read = [scan_install(comfyui_path, host=_host(host))]
        return cls(
            manifests=read,
            environment=environment,
            profiles={} if env_profile else _sibling_profiles(read, versions),
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

    @classmethod
    def pop(cls, options: dict[str, Any]) -> RegistrySettings:
        """Take this command's registry options out of ``options``."""
        return cls(**{f.name: options.pop(f.name) for f in fields(cls)})

    def open(self) -> AnyRegistry:
        from audit.registry import default_cache_dir, load_token, open_registry

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

    def warn_if_stale(self, source: AnyRegistry) -> None:
        from audit.registry import stale_data_warning

        warning = stale_data_warning(source, self.max_age)
        if warning:
            click.echo(f"comfy-audit: warning: {warning}", err=True)


_FAIL_ON = ["info", "warning", "error", "critical", "never"]


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
@click.option(
    "--fail-on",
    type=click.Choice(_FAIL_ON),
    help="Exit 1 when a finding is at or above this severity. "
    "Default: the policy file's fail-on, else error.",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Policy file: severity overrides, waivers, fail-on. Default: ./comfy-audit.toml if any.",
)
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
    **options: Any,
) -> None:
    """Audit the packs listed in MANIFEST... (snapshots, node@version lists, CSV or JSON), or
    the install at --comfyui PATH when no manifest is given."""
    # NOTE: imported here so that --help and scan never load pandas or pyarrow.
    from audit import report
    from audit.baseline import load_baseline

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
        "offline": settings.offline,
        "max_age_seconds": settings.max_age.total_seconds(),
        "output": output,
        "fail_on": threshold.label if threshold else "never",
        "policy": str(policy_path) if policy_path else None,
        "baseline": baseline,
        "fail_on_new": fail_on_new,
        "advice": not no_advice,
        "allow_prerelease": allow_prerelease,
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
    auditor = Auditor(source, audit_options, progress=progress, lister=source)
    audit_run = inputs.audit(auditor, recorded)
    settings.warn_if_stale(source)
    run_dir = report.write_run(audit_run, output)
    for path, render in ((prometheus, report.prometheus_text), (markdown, report.markdown_summary)):
        if path:
            _write_atomically(Path(path), render(audit_run))
    if as_json:
        click.echo(report.findings_json(audit_run), nl=False)
    if not quiet:
        click.echo(report.render_summary(audit_run, run_dir), err=as_json)
    ctx.exit(audit_run.exit_code)


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
    type=click.Path(dir_okay=False),
    help="Also write the plan as a ComfyUI-Manager snapshot that restores the recommended "
    "versions (needs one host: --host with several manifests).",
)
@click.option(
    "--allow-prerelease", is_flag=True, help="Let the advisor recommend pre-release versions."
)
@registry_options
def advise(output: str | None, allow_prerelease: bool, **options: Any) -> None:
    """Print the upgrade plan alone: for each pack that blocks the (target) ComfyUI or is
    unsafe, the version to move to, as commands to paste; with --target-comfyui, whether the
    upgrade is safe, safe after those changes, or blocked. Exits like `run`."""
    from audit.advisor import plan_commands, plan_snapshot, upgrade_verdict

    settings = RegistrySettings.pop(options)
    inputs = Inputs.pop(options)
    _, rules = _policy(None)
    source = settings.open()
    audit_options = AuditOptions(
        fail_on=resolve_fail_on(UNSET, rules),
        installed_is_explicit=inputs.installed_is_explicit,
        policy=rules,
        allow_prerelease=allow_prerelease,
    )
    audit_run = inputs.audit(Auditor(source, audit_options, lister=source), inputs.recorded)
    settings.warn_if_stale(source)
    recommendations = audit_run.recommendations
    for line in plan_commands(recommendations) or ["# no pack needs a change"]:
        click.echo(line)
    for host, env in audit_run.host_environments.items():
        if env.target_comfyui or env.target_frontend:
            entries = [a for a in audit_run.entries if a.entry.host == host]
            mine = [r for r in recommendations if r.host == host]
            click.echo(f"# {host}: {upgrade_verdict(entries, mine, env)}")
    if output:
        hosts = {m.host for m in inputs.manifests}
        if len(hosts) > 1:
            raise click.UsageError("the plan snapshot is for one host: give one manifest")
        listed = [e for m in inputs.manifests for e in m.entries]
        plan = plan_snapshot(recommendations, listed)
        _write_atomically(Path(output), json.dumps(plan, indent=4) + "\n")
    sys.exit(audit_run.exit_code)


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
    "--manifest-format",
    type=click.Choice([f.value for f in ManifestFormat]),
    default=ManifestFormat.AUTO.value,
    help="Format of the manifests; auto detects it from the content.",
)
@registry_options
def mirror(
    manifests: tuple[str, ...],
    output: str,
    everything: bool,
    with_versions: bool,
    manifest_format: str,
    **options: Any,
) -> None:
    """Write an offline copy of the registry data that MANIFEST... need (or --all of it), for
    `run --registry FILE` on machines without network access."""
    from audit.registry import (
        CachingRegistry,
        HttpRegistry,
        OfflineRegistry,
        merge_records,
        mirror_records,
        version_list_records,
        write_mirror,
    )

    settings = RegistrySettings.pop(options)
    if everything == bool(manifests):
        raise click.UsageError("give MANIFEST files or --all, not both and not neither")
    if everything:
        count = _mirror_all(settings, Path(output))
        click.echo(f"wrote {count} records to {output}", err=True)
        return
    read = read_manifests(manifests, format=ManifestFormat(manifest_format))
    keys = list(dict.fromkeys(e.key for m in read for e in m.entries if e.key is not None))
    source = settings.open()
    if not isinstance(source, CachingRegistry | OfflineRegistry | HttpRegistry):
        raise click.UsageError("mirror needs a registry URL, not a mirror file")
    answers = source.fetch(keys)
    node_ids = list(dict.fromkeys(key.node_id for key in keys))
    lists = source.fetch_versions_of(node_ids) if with_versions else {}
    records = merge_records(version_list_records(lists), mirror_records(answers))
    count = write_mirror(records, output)
    found = sum(a.mirror_record() is not None for a in answers.values())
    failed = sum(isinstance(a.result, Failed | Invalid) for a in answers.values())
    click.echo(
        f"wrote {count} records to {output} ({found} of {len(keys)} node versions found"
        + (f", every version of {len(lists)} packs" if with_versions else "")
        + (f"; {failed} lookups failed)" if failed else ")"),
        err=True,
    )
    if failed:
        sys.exit(EXIT_INCOMPLETE)


def _mirror_all(settings: RegistrySettings, output: Path) -> int:
    from audit.registry import RegistryError, list_all_versions, load_token, write_mirror

    if "://" not in settings.registry:
        raise click.UsageError("mirror --all needs a registry URL, not a mirror file")
    records = list_all_versions(
        settings.registry,
        token=load_token(os.environ, settings.token_file),
        ca_bundle=settings.ca_bundle,
        timeout=settings.timeout,
        retries=settings.retries,
        concurrency=settings.concurrency,
    )
    try:
        return write_mirror(records, output)
    except RegistryError as e:
        click.echo(f"comfy-audit: error: {e}", err=True)
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
        click.echo(render_rollup(result, where))


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
    help="The install's Python, for the snapshot's pips. Default: the venv in or beside it.",
)
@click.option("--host", help="Host name recorded in the entries. Default: this machine's name.")
def scan(
    comfyui_path: str, as_json: bool, output: str | None, python: str | None, host: str | None
) -> None:
    """Print the manifest of the ComfyUI install at COMFYUI_PATH (no pack code is run)."""
    manifest = scan_install(comfyui_path, host=_host(host))
    if output is None:
        click.echo(render_json(manifest) if as_json else render_text(manifest), nl=False)
        return
    installed = describe_install(comfyui_path, python=python).installed
    snapshot = to_snapshot(manifest, installed)
    path = Path(output)
    if path.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump({"custom_nodes": snapshot}, sort_keys=False, allow_unicode=True)
    else:
        text = json.dumps(snapshot, indent=4, ensure_ascii=False) + "\n"
    _write_atomically(path, text)
    click.echo(f"wrote {len(manifest.entries)} packs to {path}", err=True)


def _write_atomically(path: Path, text: str) -> None:
    tmp_name = None
    try:
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8"
        ) as tmp:
            tmp_name = tmp.name
            tmp.write(text)
        os.replace(tmp_name, path)
    except OSError as e:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
        raise ReportError(f"{path}: cannot write: {e.strerror or e}") from e


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the command line and exit with its code."""
    cli.main(args=argv, prog_name="comfy-audit")
    sys.exit(0)

"""End-to-end tests through the command line: real files, a mirror file or a loopback registry."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from audit.cli import StderrProgress, cli
from audit.report import (
    FINDINGS_SCHEMA,
    NODES_SCHEMA,
    RECOMMENDATIONS_SCHEMA,
    REQUIREMENTS_SCHEMA,
    WORKFLOWS_SCHEMA,
)
from tests.fresh import cli_lines, python_lines
from tests.registry_nodes import node_record
from tests.registry_server import BULK_PATH, RegistryServer, node_version_record
from tests.report.test_write import FILES as RUN_FILES

RECORDS = [
    node_version_record(
        "comfyui-kjnodes",
        "1.1.2",
        supported_os=["OS Independent"],
        supported_accelerators=["GPU :: NVIDIA CUDA"],
        supported_comfyui_version=">=0.3.0",
    ),
    node_version_record("comfyui-impact-pack", "8.8.1", supported_comfyui_version=">=0.3.0,<0.4.0"),
    node_version_record("comfyui-mxtoolkit", "0.9.92", status="NodeVersionStatusBanned"),
    node_version_record("comfyui-easy-use", "1.3.0", deprecated=True),
]
MACHINE = ["--os", "linux", "--accelerator", "cuda", "--comfyui-version", "0.3.40"]
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    path = tmp_path / "mirror.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def summary(result: Result, out: Path) -> str:
    return RUN_ID.sub("RUN", result.stdout).replace(str(out), "OUT")


def only_run(out: Path) -> Path:
    (run_dir,) = out.iterdir()
    return run_dir


def test_clean_run_exits_0(tmp_path: Path, mirror: Path, write: Callable[..., Path]) -> None:
    manifest = write("render-01.txt", "comfyui-kjnodes@1.1.2\n")
    out = tmp_path / "out"
    result = invoke("run", manifest, "--registry", mirror, "-o", out, *MACHINE)
    assert (result.exit_code, result.stderr) == (
        0,
        "comfy-audit: lookup: 1/1\ncomfy-audit: checks: 1/1\ncomfy-audit: dependencies: 1/1\n",
    )
    assert summary(result, out) == (
        "run RUN: 1 host, 1 entry; registry lookups: 1 answered, 0 failed, 0 not looked up\n"
        "environment: os linux; accelerators cpu, cuda; ComfyUI 0.3.40; frontend unknown\n"
        "findings: 0 critical, 0 error, 0 warning, 1 info\n"
        "\n"
        "no findings at warning or above\n"
        "\n"
        "pack-level checks: 1 pack without a Node record: the mirror file mirror.jsonl holds none "
        "(written before pack-level checks)\n"
        "reports: OUT/RUN\n"
    )


SNAPSHOT = {
    "comfyui": "v0.3.40",
    "cnr_custom_nodes": {
        "comfyui-kjnodes": "1.1.2",
        "comfyui-impact-pack": "8.8.1",
        "comfyui-mxtoolkit": "0.9.92",
        "comfyui-easy-use": "1.3.0",
        "comfyui-unknown": "0.1.0",
    },
    "git_custom_nodes": {
        "https://user:secret@github.com/rgthree/rgthree-comfy.git": {
            "hash": "70756c044d805ffc260568ca3fe9eafaed5e6363",
            "disabled": False,
        }
    },
    "file_custom_nodes": [{"filename": "websocket_image_save.py", "disabled": False}],
    "pips": {"numpy==1.26.4": ""},
}


def test_snapshot_upgrade_run(tmp_path: Path, mirror: Path, write: Callable[..., Path]) -> None:
    manifest = write("render-01.json", json.dumps(SNAPSHOT))
    out = tmp_path / "out"
    args = ["--os", "linux", "--accelerator", "cuda", "--target-comfyui", "0.4.0"]
    result = invoke("run", manifest, "--registry", mirror, "-o", out, *args)
    assert result.exit_code == 1
    assert summary(result, out) == (
        "run RUN: 1 host, 7 entries; registry lookups: 5 answered, 0 failed, 2 not looked up\n"
        "environment: os linux; accelerators cpu, cuda; ComfyUI v0.3.40; frontend unknown; "
        "target ComfyUI 0.4.0\n"
        "findings: 1 critical, 1 error, 2 warning, 2 info\n"
        "\n"
        "comfyui-mxtoolkit@0.9.92\n"
        "  critical  status.banned  version 0.9.92 is banned by the registry\n"
        "comfyui-impact-pack@8.8.1\n"
        "  error     comfyui.incompatible  requires ComfyUI >=0.3.0,<0.4.0; target is 0.4.0"
        " (after upgrade)\n"
        "comfyui-easy-use@1.3.0\n"
        "  warning   status.deprecated  version 1.3.0 is deprecated by its publisher\n"
        "comfyui-unknown@0.1.0\n"
        "  warning   registry.not-found  not in the mirror file mirror.jsonl\n"
        "\n"
        "advice: 0 pack changes, 3 packs with no fitting version\n"
        "  comfyui-impact-pack@8.8.1  no fitting version: every Active version requires ComfyUI"
        " >=0.3.0,<0.4.0\n"
        "  comfyui-mxtoolkit@0.9.92  no fitting version: no Active version\n"
        "  comfyui-easy-use@1.3.0  no fitting version: every Active version is deprecated\n"
        "upgrade verdict: blocked by these packs: comfyui-impact-pack@8.8.1\n"
        "\n"
        "after upgrade: 1 pack incompatible (now: 0)\n"
        "pack-level checks: 5 packs without a Node record: the mirror file mirror.jsonl holds none "
        "(written before pack-level checks)\n"
        "reports: OUT/RUN\n"
    )
    run_dir = only_run(out)
    frame = pd.read_parquet(run_dir / "nodes.parquet")
    nodes = {row["node_id"]: row for row in frame.to_dict("records")}
    assert [nodes["rgthree-comfy"][k] for k in ("source", "url", "hash")] == [
        "git",
        "https://github.com/rgthree/rgthree-comfy.git",
        "70756c044d805ffc260568ca3fe9eafaed5e6363",
    ]
    compatible = ("compatible_now", "compatible_after_upgrade")
    assert [nodes["comfyui-impact-pack"][k] for k in compatible] == [True, False]
    assert [nodes["comfyui-kjnodes"][k] for k in compatible] == [True, True]
    findings = pd.read_parquet(run_dir / "findings.parquet")
    assert sorted(zip(findings.node_id, findings.check, findings["when"], strict=True)) == [
        ("comfyui-easy-use", "status.deprecated", "now"),
        ("comfyui-impact-pack", "comfyui.incompatible", "after-upgrade"),
        ("comfyui-mxtoolkit", "status.banned", "now"),
        ("comfyui-unknown", "registry.not-found", "now"),
        ("rgthree-comfy", "registry.not-registry", "now"),
        ("websocket_image_save", "registry.not-registry", "now"),
    ]
    document = json.loads((run_dir / "run.json").read_text())
    assert document["exit_code"] == 1
    assert document["hosts"]["render-01"]["sources"]["comfyui_version"].startswith("snapshot ")
    assert "secret" not in (run_dir / "nodes.csv").read_text()


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [("critical", 1), ("never", 0), ("info", 1)],
)
def test_fail_on(
    tmp_path: Path, mirror: Path, write: Callable[..., Path], fail_on: str, code: int
) -> None:
    manifest = write("h.txt", "comfyui-easy-use@1.3.0\ncomfyui-mxtoolkit@0.9.92\n")
    result = invoke(
        "run", manifest, "--registry", mirror, "-o", tmp_path / "o", "--fail-on", fail_on, "-q"
    )
    assert (result.exit_code, result.stdout) == (code, "")


def test_warning_threshold(tmp_path: Path, mirror: Path, write: Callable[..., Path]) -> None:
    manifest = write("h.txt", "comfyui-easy-use@1.3.0\n")
    base = ["run", manifest, "--registry", mirror, "-o", tmp_path / "o", "-q"]
    assert invoke(*base).exit_code == 0
    assert invoke(*base, "--fail-on", "warning").exit_code == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "comfyui-kjnodes@1.1.2\ncomfyui-kjnodes@1.1.3\n",
            "comfy-audit: error: {path}:2: comfyui-kjnodes listed twice with different versions:"
            " '1.1.2' (line 1) and '1.1.3'\n",
        ),
        ("# nothing here\n", "comfy-audit: error: {path}: no entries\n"),
        ('{"cnr_custom_nodes": [1, 2]', None),
    ],
    ids=["conflicting-duplicate", "no-entries", "broken-json"],
)
def test_bad_manifest_exits_2(
    tmp_path: Path, mirror: Path, write: Callable[..., Path], text: str, message: str | None
) -> None:
    manifest = write("bad.txt", text)
    out = tmp_path / "out"
    result = invoke("run", manifest, "--registry", mirror, "-o", out)
    assert result.exit_code == 2
    assert result.stdout == ""
    if message is not None:
        assert result.stderr == message.format(path=manifest)
    else:
        assert result.stderr.startswith(f"comfy-audit: error: {manifest}:1: ")
        assert result.stderr.count("\n") == 1
    assert not out.exists()


def test_every_bad_file_is_reported_at_once(tmp_path: Path, mirror: Path) -> None:
    result = invoke(
        "run", tmp_path / "a.txt", tmp_path / "b.txt", "--registry", mirror, "-o", tmp_path
    )
    assert result.exit_code == 2
    assert result.stderr == (
        f"comfy-audit: error: {tmp_path / 'a.txt'}: cannot read: no such file or directory\n"
        f"comfy-audit: error: {tmp_path / 'b.txt'}: cannot read: no such file or directory\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--os", "beos"], "Invalid value for '--os': unknown OS 'beos'"),
        (["--accelerator", "directml"], "Invalid value for '--accelerator': unknown accelerator"),
        (["--comfyui-version", "abc"], "Invalid value for '--comfyui-version': 'abc' is not a"),
        (["--fail-on", "fatal"], "Invalid value for '--fail-on': 'fatal' is not one of"),
        (["--registry", "ftp://example.com"], "registry URL 'ftp://example.com': use https://"),
        (["--registry", "http://registry.example.com"], "--allow-insecure-http"),
    ],
    ids=["os", "accelerator", "version", "fail-on", "scheme", "plain-http"],
)
def test_bad_flags_exit_2(write: Callable[..., Path], args: list[str], message: str) -> None:
    manifest = write("h.txt", "comfyui-kjnodes@1.1.2\n")
    result = invoke("run", manifest, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_registry_down_exits_3_and_still_reports(
    tmp_path: Path, write: Callable[..., Path], make_registry_server: Callable[..., RegistryServer]
) -> None:
    server = make_registry_server(RECORDS)
    url = server.url
    server.stop()
    manifest = write("h.txt", "comfyui-kjnodes@1.1.2\ncomfyui-impact-pack@8.8.1\n")
    out = tmp_path / "out"
    result = invoke("run", manifest, "--registry", url, "-o", out, "--retries", "1", "-q")
    assert result.exit_code == 3
    findings = pd.read_parquet(only_run(out) / "findings.parquet")
    # The version lookup and the pack's Node lookup both fail, for each pack.
    assert findings.check.tolist() == ["env.unknown"] + ["registry.fetch-failed"] * 4
    failures = set(findings.message.iloc[1:])
    assert failures == {
        "registry lookup failed: connection refused after 2 attempts",
        "registry lookup of the pack failed: connection refused after 2 attempts",
    }


def test_a_finding_beats_an_incomplete_audit(
    tmp_path: Path, write: Callable[..., Path], make_registry_server: Callable[..., RegistryServer]
) -> None:
    server = make_registry_server(RECORDS)
    server.fail(BULK_PATH, "status", status=500, times=10)
    server.fail("/nodes/comfyui-kjnodes/versions/1.1.2", "status", status=500, times=10)
    manifest = write("h.txt", "comfyui-kjnodes@1.1.2\ncomfyui-mxtoolkit@0.9.92\n")
    args = ["--retries", "1", "-o", tmp_path / "out", "-q"]
    result = invoke("run", manifest, "--registry", server.url, *args)
    assert result.exit_code == 1


def _findings_of(out: Path) -> list[tuple[Any, ...]]:
    frame = pd.read_parquet(only_run(out) / "findings.parquet")
    columns = ["host", "node_id", "version", "check", "severity", "message", "when"]
    return sorted(tuple(str(v) for v in row) for row in frame[columns].itertuples(index=False))


def test_http_run_matches_the_mirror_run_in_one_request(
    tmp_path: Path,
    mirror: Path,
    write: Callable[..., Path],
    make_registry_server: Callable[..., RegistryServer],
) -> None:
    manifest = write("render-01.json", json.dumps(SNAPSHOT))
    server = make_registry_server(RECORDS)
    over_http = invoke(
        "run", manifest, "--registry", server.url, "-o", tmp_path / "a", "-q", "--no-advice",
        *MACHINE,
    )  # fmt: skip
    offline = invoke("run", manifest, "--registry", mirror, "-o", tmp_path / "b", "-q", *MACHINE)
    assert over_http.exit_code == offline.exit_code == 1
    assert sorted(server.paths()) == [BULK_PATH, "/nodes"]  # NOTE: sent at the same time
    not_found = ("render-01", "comfyui-unknown", "0.1.0", "registry.not-found")
    http_findings = [f for f in _findings_of(tmp_path / "a") if f[:4] != not_found]
    mirror_findings = [f for f in _findings_of(tmp_path / "b") if f[:4] != not_found]
    assert http_findings == mirror_findings


def test_transient_faults_do_not_change_the_result(
    tmp_path: Path, write: Callable[..., Path], make_registry_server: Callable[..., RegistryServer]
) -> None:
    lines = "".join(f"{r['node_id']}@{r['version']}\n" for r in RECORDS)
    manifest = write("h.txt", lines)
    clean = make_registry_server(RECORDS)
    faulty = make_registry_server(RECORDS)
    faulty.fail(BULK_PATH, "status", status=503, times=2)
    faulty.fail(BULK_PATH, "reset", times=1)
    args = ["-q", "--retries", "4", *MACHINE]
    assert (
        invoke("run", manifest, "--registry", clean.url, "-o", tmp_path / "a", *args).exit_code == 1
    )
    assert (
        invoke("run", manifest, "--registry", faulty.url, "-o", tmp_path / "b", *args).exit_code
        == 1
    )
    assert _findings_of(tmp_path / "a") == _findings_of(tmp_path / "b")


def test_distinct_pairs_are_fetched_once_across_hosts(
    tmp_path: Path, write: Callable[..., Path], make_registry_server: Callable[..., RegistryServer]
) -> None:
    records = [node_version_record(f"pack-{i:03d}", "1.0.0") for i in range(250)]
    server = make_registry_server(records, nodes=[node_record(f"pack-{i:03d}") for i in range(250)])
    lines = "".join(f"pack-{i:03d}@1.0.0\n" for i in range(250))
    hosts = [write(f"host-{n}.txt", lines) for n in range(3)]
    result = invoke("run", *hosts, "--registry", server.url, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 0
    # 250 distinct packs: 3 bulk requests for their versions, 3 list requests for their Nodes.
    assert sorted(server.paths()) == [BULK_PATH] * 3 + ["/nodes"] * 3
    nodes = pd.read_parquet(only_run(tmp_path / "out") / "nodes.parquet")
    assert len(nodes) == 750
    assert sorted(set(nodes.host)) == ["host-0", "host-1", "host-2"]


def test_reports_agree_and_keep_their_schema(
    tmp_path: Path, mirror: Path, write: Callable[..., Path]
) -> None:
    manifest = write("render-01.json", json.dumps(SNAPSHOT))
    invoke("run", manifest, "--registry", mirror, "-o", tmp_path / "out", "-q", *MACHINE)
    run_dir = only_run(tmp_path / "out")
    assert sorted(p.name for p in run_dir.iterdir()) == RUN_FILES
    tables = [
        ("nodes", NODES_SCHEMA),
        ("findings", FINDINGS_SCHEMA),
        ("requirements", REQUIREMENTS_SCHEMA),
        ("recommendations", RECOMMENDATIONS_SCHEMA),
        ("workflows", WORKFLOWS_SCHEMA),
    ]
    for name, schema in tables:
        table = pq.read_table(run_dir / f"{name}.parquet")
        assert table.schema.equals(schema)
        from_csv = pd.read_csv(run_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        assert list(from_csv.columns) == schema.names
        assert len(from_csv) == table.num_rows


def test_empty_snapshot_gives_empty_tables_with_full_schema(
    tmp_path: Path, mirror: Path, write: Callable[..., Path]
) -> None:
    snapshot: dict[str, object] = {"comfyui": None, "cnr_custom_nodes": {}, "pips": {}}
    manifest = write("empty.json", json.dumps(snapshot))
    result = invoke("run", manifest, "--registry", mirror, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 0
    run_dir = only_run(tmp_path / "out")
    assert pq.read_table(run_dir / "nodes.parquet").schema.equals(NODES_SCHEMA)
    assert pq.read_table(run_dir / "findings.parquet").num_rows == 0


def test_runs_never_share_or_overwrite_a_folder(
    tmp_path: Path, mirror: Path, write: Callable[..., Path]
) -> None:
    manifest = write("h.txt", "comfyui-kjnodes@1.1.2\n")
    out = tmp_path / "out"
    invoke("run", manifest, "--registry", mirror, "-o", out, "-q")
    (first,) = out.iterdir()
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    invoke("run", manifest, "--registry", mirror, "-o", out, "-q")
    assert len(list(out.iterdir())) == 2
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before


def test_env_prints_the_profile_and_run_reads_it(tmp_path: Path, mirror: Path) -> None:
    profile = tmp_path / "render-01.env.json"
    result = invoke(
        "env",
        "--os",
        "windows",
        "--accelerator",
        "mps",
        "--comfyui-version",
        "0.3.40",
        "-o",
        profile,
    )
    assert (result.exit_code, result.stdout) == (0, "")
    data = json.loads(profile.read_text())
    assert {k: data[k] for k in ("os", "accelerators", "comfyui_version")} == {
        "os": "windows",
        "accelerators": ["cpu", "metal"],
        "comfyui_version": "0.3.40",
    }
    manifest = tmp_path / "render-01.txt"
    manifest.write_text("comfyui-kjnodes@1.1.2\n")
    run = invoke("run", manifest, "--registry", mirror, "--env-profile", profile, "-o", tmp_path)
    assert run.exit_code == 1
    assert "accelerator.unsupported" in run.stdout


def test_default_registry_is_never_reached_from_tests(
    tmp_path: Path, write: Callable[..., Path]
) -> None:
    manifest = write("h.txt", "comfyui-kjnodes@1.1.2\n")
    result = invoke("run", manifest, "-o", tmp_path / "out", "--retries", "0", "-q")
    assert result.exit_code == 3


def _commands() -> list[click.Command]:
    return [cli, *cli.commands.values()]


@pytest.mark.parametrize("command", _commands(), ids=lambda c: c.name or "cli")
def test_every_command_and_option_has_help(command: click.Command) -> None:
    assert command.help
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{command.name} {param.opts} has no help"


_HEAVY = {"pandas", "pyarrow", "requests", "urllib3"}
"""What start-up must not load: the report writers' and the HTTP stack's libraries."""


@pytest.mark.parametrize(
    "command",
    [["--help"], ["scan", "{install}"], *([name, "--help"] for name in sorted(cli.commands))],
    ids=lambda argv: "-".join(a for a in argv if a != "{install}"),
)
def test_help_and_scan_do_not_import_pandas_pyarrow_or_requests(
    tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "custom_nodes").mkdir()
    argv = [arg.format(install=tmp_path) for arg in command]
    lines = cli_lines(argv, f"print(sorted(set({sorted(_HEAVY)!r}) & set(sys.modules)))")
    assert lines[-1] == "[]"


def test_a_run_of_a_json_snapshot_writes_its_reports_without_loading_pandas_or_yaml(
    tmp_path: Path, mirror: Path, write: Callable[..., Path]
) -> None:
    manifest = write("render-01.json", json.dumps(SNAPSHOT))
    out = tmp_path / "out"
    argv = ["run", str(manifest), "--registry", str(mirror), "-o", str(out), "-q", *MACHINE]
    printed = cli_lines(
        argv,
        "print(sorted({'pandas', 'pyarrow', 'yaml'} & set(sys.modules)))",
        "import pandas, pathlib",  # NOTE: and pandas still loads after the run
        f"(nodes,) = pathlib.Path({str(out)!r}).glob('*/nodes.parquet')",
        "print(len(pandas.read_parquet(nodes)))",
    )
    assert printed[-3:] == ["1", "['pyarrow']", "7"]


def test_a_run_is_not_freed_when_its_command_returns(
    tmp_path: Path, mirror: Path, write: Callable[..., Path]
) -> None:
    # NOTE: the process exits without freeing it (a 5,000-host run took 0.8 s to free).
    manifest = write("render-01.json", json.dumps(SNAPSHOT))
    argv = ["run", str(manifest), "--registry", str(mirror), "-o", str(tmp_path), "-q", *MACHINE]
    printed = cli_lines(
        argv,
        "import gc",
        "from audit.model import AuditRun",
        "print([len(o.entries) for o in gc.get_objects() if isinstance(o, AuditRun)])",
    )
    assert printed == ["1", "[7]"]


def test_a_rollup_loads_no_pandas(tmp_path: Path, mirror: Path, write: Callable[..., Path]) -> None:
    manifest = write("render-01.json", json.dumps(SNAPSHOT))
    out = tmp_path / "out"
    cli_lines(["run", str(manifest), "--registry", str(mirror), "-o", str(out), "-q", *MACHINE])
    printed = cli_lines(
        ["fleet", str(out), "-q"], "print(sorted({'pandas', 'pyarrow'} & set(sys.modules)))"
    )
    assert printed == ["0", "['pyarrow']"]


def test_the_report_writers_load_no_pandas() -> None:
    # NOTE: a run preloads them in a thread, outside its `without("pandas")`: importing them
    # must not convert Python objects with pyarrow (its first conversion loads pandas).
    assert python_lines("import sys, audit.report.write", "print('pandas' in sys.modules)") == [
        "False"
    ]


_READERS = {"yaml", "email.parser", "audit.manifest.reader", "audit.environment.installation"}
"""What ``--help`` need not load either: the manifest and install readers and their parsers."""


@pytest.mark.parametrize(
    "command",
    [["--help"], *([name, "--help"] for name in sorted(cli.commands))],
    ids=lambda argv: "-".join(argv),
)
def test_help_does_not_import_the_readers(command: list[str]) -> None:
    lines = cli_lines(command, f"print(sorted(set({sorted(_READERS)!r}) & set(sys.modules)))")
    assert lines[-1] == "[]"


def test_python_dash_m_prints_the_version() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "audit", "--version"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, "comfy-audit, version 0.1.0\n")


def test_fleet_hosts_use_their_own_profiles(
    tmp_path: Path, mirror: Path, write: Callable[..., Path]
) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for host in ("render-01", "render-02"):
        (fleet / f"{host}.txt").write_text("comfyui-kjnodes@1.1.2\n")
    profile = invoke(
        "env", "--os", "windows", "--accelerator", "rocm", "-o", fleet / "render-02.env.json"
    )
    assert profile.exit_code == 0
    paths = sorted(str(p) for p in fleet.iterdir())
    result = invoke("run", *paths, "--registry", mirror, "-o", tmp_path / "out", "-q", *MACHINE)
    assert result.exit_code == 1
    findings = pd.read_parquet(only_run(tmp_path / "out") / "findings.parquet")
    by_host = sorted(zip(findings.host, findings.check, strict=True))
    assert by_host == [
        ("render-01", "env.unknown"),
        ("render-02", "accelerator.unsupported"),
        ("render-02", "env.unknown"),  # its profile knows no ComfyUI version: flags do not apply
        ("render-02", "env.unknown"),
    ]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal() -> None:
    stream = Terminal()
    progress = StderrProgress(stream, width=4)
    for done in range(9):
        progress("checks", done, 8)
    assert stream.getvalue() == (
        "\rchecks       [----] 0/8"
        "\rchecks       [#---] 2/8"
        "\rchecks       [##--] 4/8"
        "\rchecks       [###-] 6/8"
        "\rchecks       [####] 8/8\n"
    )


def test_fleet_rolls_up_the_runs(tmp_path: Path, mirror: Path, write: Callable[..., Path]) -> None:
    out = tmp_path / "out"
    for host, packs in [
        ("render-01", "comfyui-kjnodes@1.1.2\n"),
        ("render-02", "comfyui-mxtoolkit@0.9.92\n"),
    ]:
        manifest = write(f"{host}.txt", packs)
        invoke("run", manifest, "--registry", mirror, "-o", out, "-q", *MACHINE)
    result = invoke("fleet", out, "--target-comfyui", "0.4.0")
    assert result.exit_code == 0
    assert result.stdout.startswith("fleet roll-up ")
    (rollup,) = (out / "fleet").iterdir()
    assert {p.name for p in rollup.iterdir()} >= {"rollup.json", "hosts.parquet", "drift.csv"}
    hosts = pd.read_parquet(rollup / "hosts.parquet")
    assert sorted(zip(hosts.host, hosts.critical, strict=True)) == [
        ("render-01", 0),
        ("render-02", 1),
    ]
    assert invoke("fleet", tmp_path / "nowhere").exit_code == 2

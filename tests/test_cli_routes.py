"""End-to-end tests that every route gives the same answer (issue 12): profiles, fleets of
manifests with a bad one, status words, registry URLs, the plan per host, Manager's own files."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from tests.registry_server import RegistryServer, node_version_record

WINDOWS_ONLY = node_version_record("comfyui-win", "1.0.0", supported_os=["Microsoft :: Windows"])
RECORDS = [
    WINDOWS_ONLY,
    node_version_record("comfyui-kjnodes", "1.1.2"),
    node_version_record("comfyui-new", "2.0.0", status="NodeVersionStatusArchived"),
]


def invoke(*args: object) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def write_mirror(path: Path, records: list[dict[str, object]] = RECORDS) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def profile(os_name: str) -> dict[str, object]:
    return {"schema": 1, "os": os_name, "accelerators": ["cpu"], "installed": {"numpy": "1.26.4"}}


def findings(out: Path) -> list[tuple[str, str, str, str]]:
    (run_dir,) = sorted(out.iterdir())[-1:]
    frame = pd.read_parquet(run_dir / "findings.parquet")
    frame = frame.assign(node_id=frame.node_id.fillna(""), severity=frame.severity.astype(str))
    return sorted(
        frame[["host", "node_id", "check", "severity"]].itertuples(index=False, name=None)
    )


def test_a_hosts_own_profile_beats_env_profile(tmp_path: Path) -> None:
    mirror = write_mirror(tmp_path / "mirror.jsonl")
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    for host in ("win-01", "linux-01", "bare-01"):
        (fleet / f"{host}.json").write_text(
            json.dumps({"cnr_custom_nodes": {"comfyui-win": "1.0.0"}})
        )
    (fleet / "win-01.env.json").write_text(json.dumps(profile("windows")))
    (fleet / "linux-01.env.json").write_text(json.dumps(profile("linux")))
    given = tmp_path / "given.env.json"
    given.write_text(json.dumps(profile("windows")))
    out = tmp_path / "out"
    manifests = sorted(fleet.glob("*.json"))
    result = invoke(
        "run", *manifests, "--env-profile", given, "--registry", mirror, "-q", "-o", out
    )
    assert result.exit_code == 1
    assert [f for f in findings(out) if f[2] == "os.unsupported"] == [
        ("linux-01", "comfyui-win", "os.unsupported", "error")
    ]


def test_an_unknown_status_word_is_a_warning_and_the_rest_is_checked(
    tmp_path: Path, make_registry_server: Callable[..., RegistryServer]
) -> None:
    server = make_registry_server(
        [
            node_version_record(
                "comfyui-new",
                "2.0.0",
                status="NodeVersionStatusArchived",
                supported_os=["Microsoft :: Windows"],
            )
        ]
    )
    manifest = tmp_path / "render-01.txt"
    manifest.write_text("comfyui-new@2.0.0\n")
    out = tmp_path / "out"
    args = ["run", manifest, "--registry", server.url, "--no-cache", "--os", "linux", "-o", out]
    result = invoke(*args, "-q", "--no-advice", "--fail-on", "critical")
    assert result.exit_code == 0
    assert findings(out) == [
        ("render-01", "", "env.unknown", "info"),  # no installed packages: not this issue
        ("render-01", "comfyui-new", "os.unsupported", "error"),
        ("render-01", "comfyui-new", "status.unknown", "warning"),
    ]
    (run_dir,) = out.iterdir()
    frame = pd.read_parquet(run_dir / "findings.parquet").set_index("check")
    assert frame.loc["status.unknown", "message"] == (
        "version 2.0.0 has a status this tool does not know: 'NodeVersionStatusArchived'"
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (
            ["--registry", "http://registry.example.com"],
            "registry URL 'http://registry.example.com': plain http is only for this machine; "
            "use https, or pass --allow-insecure-http",
        ),
        (
            ["--registry", "ftp://registry.example.com"],
            "registry URL 'ftp://registry.example.com': use https:// (or give a mirror file path)",
        ),
        (
            ["--registry", "https://registry.example.com", "--ca-bundle", "missing.pem"],
            "CA bundle 'missing.pem': no such file",
        ),
    ],
    ids=["plain-http", "ftp", "no-ca-bundle"],
)
@pytest.mark.parametrize("command", [["mirror", "--all"], ["run", "x.txt"]], ids=["mirror", "run"])
def test_every_command_checks_the_registry_url_the_same_way(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    flags: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.txt").write_text("comfyui-kjnodes@1.1.2\n")
    result = invoke(*command, *flags, "-o", tmp_path / "out")
    assert (result.exit_code, result.stderr) == (2, f"comfy-audit: error: {message}\n")


ADVISE_RECORDS = [
    node_version_record("comfyui-foo", "1.0.0", status="NodeVersionStatusFlagged"),
    node_version_record("comfyui-foo", "1.1.0"),
]


def advise_fleet(tmp_path: Path, hosts: tuple[str, ...]) -> tuple[Path, list[Path]]:
    mirror = write_mirror(tmp_path / "mirror.jsonl", ADVISE_RECORDS)
    manifests = []
    for host in hosts:
        path = tmp_path / f"{host}.json"
        path.write_text(json.dumps({"cnr_custom_nodes": {"comfyui-foo": "1.0.0"}}))
        manifests.append(path)
    return mirror, manifests


def test_advise_writes_one_plan_per_host_into_a_folder(tmp_path: Path) -> None:
    mirror, manifests = advise_fleet(tmp_path, ("render-01", "render-02"))
    plans = tmp_path / "plans"
    result = invoke("advise", *manifests, "--registry", mirror, "-o", plans)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "# host render-01",
        "comfy node install comfyui-foo@1.1.0",
        "# host render-02",
        "comfy node install comfyui-foo@1.1.0",
    ]
    assert sorted(p.name for p in plans.iterdir()) == ["render-01.json", "render-02.json"]
    for plan in plans.iterdir():
        assert json.loads(plan.read_text())["cnr_custom_nodes"] == {"comfyui-foo": "1.1.0"}


def test_advise_checks_host_file_names_before_printing(tmp_path: Path) -> None:
    mirror = write_mirror(tmp_path / "mirror.jsonl", ADVISE_RECORDS)
    manifest = tmp_path / "fleet.csv"
    manifest.write_text("node_id,version,host\ncomfyui-foo,1.0.0,a\ncomfyui-foo,1.0.0,../b\n")
    result = invoke("advise", manifest, "--registry", mirror, "-o", tmp_path / "plans")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"comfy-audit: error: {tmp_path / 'plans'}: host '../b' cannot be a file name"
        " (letters, digits, '.', '_', '-')\n"
    )


@pytest.mark.parametrize(
    ("flags", "policy", "code"),
    [
        ([], None, 1),
        (["--fail-on", "critical"], None, 0),
        ([], 'fail-on = "critical"\n', 0),
        ([], '[severity]\n"status.flagged" = "info"\n', 0),
    ],
    ids=["default", "fail-on", "policy-fail-on", "policy-severity"],
)
def test_advise_takes_the_policy_options_of_run(
    tmp_path: Path, flags: list[str], policy: str | None, code: int
) -> None:
    mirror, manifests = advise_fleet(tmp_path, ("render-01",))
    extra = []
    if policy is not None:
        (tmp_path / "policy.toml").write_text(policy)
        extra = ["--policy", tmp_path / "policy.toml"]
    result = invoke("advise", *manifests, "--registry", mirror, *flags, *extra)
    assert result.exit_code == code


def test_a_fleet_audits_the_readable_manifests(tmp_path: Path) -> None:
    mirror = write_mirror(tmp_path / "mirror.jsonl")
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "good.json").write_text(json.dumps({"cnr_custom_nodes": {"comfyui-kjnodes": "1.1.2"}}))
    (fleet / "good.env.json").write_text(json.dumps(profile("linux")))
    (fleet / "cut.json").write_text('{"cnr_custom_nodes": {"comfyui-kjnodes": "1.1')
    (fleet / "twice.txt").write_text("comfyui-kjnodes@1.1.2\ncomfyui-kjnodes@1.1.3\n")
    (fleet / "badprofile.json").write_text(json.dumps({"cnr_custom_nodes": {}}))
    (fleet / "badprofile.env.json").write_text("[1, 2")
    out = tmp_path / "out"
    manifests = sorted(p for p in fleet.iterdir())
    result = invoke("run", *manifests, "--registry", mirror, "-q", "-o", out)
    assert (result.exit_code, result.stderr) == (3, "")
    (run_dir,) = out.iterdir()
    frame = pd.read_parquet(run_dir / "findings.parquet")
    frame = frame.assign(severity=frame.severity.astype(str))
    columns = ["host", "check", "severity", "message"]
    assert sorted(frame[columns].itertuples(index=False, name=None)) == [
        (
            "badprofile",
            "manifest.unreadable",
            "error",
            f"{fleet / 'badprofile.env.json'}: not JSON: Expecting ',' delimiter:"
            " line 1 column 6 (char 5)",
        ),
        (
            "cut",
            "manifest.unreadable",
            "error",
            f"{fleet / 'cut.json'}:1: invalid JSON: Unterminated string starting at",
        ),
        (
            "twice",
            "manifest.unreadable",
            "error",
            f"{fleet / 'twice.txt'}:2: comfyui-kjnodes listed twice with different versions:"
            " '1.1.2' (line 1) and '1.1.3'",
        ),
    ]


def test_a_fleet_of_only_bad_manifests_is_an_input_error(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text("{")
    out = tmp_path / "out"
    result = invoke("run", tmp_path / "a.json", tmp_path / "b.json", "-o", out, "-q")
    assert result.exit_code == 2
    assert [line.split(": ")[2] for line in result.stderr.splitlines()] == [
        f"{tmp_path / 'a.json'}:1",
        f"{tmp_path / 'b.json'}:1",
    ]
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("list.yaml", "comfyui-kjnodes@1.1.2\n", "not a recognised manifest"),
        ("list.yml", "- comfyui-kjnodes@1.1.2\n", "not a recognised manifest"),
        ("list.json", "comfyui-kjnodes@1.1.2\n", "invalid JSON"),
    ],
)
def test_the_file_name_says_yaml_or_json(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = invoke("run", path, "--registry", write_mirror(tmp_path / "m.jsonl"), "-q")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"comfy-audit: error: {path}:1: {message}")


SHA = "0123456789abcdef0123456789abcdef01234567"
#: What ComfyUI-Manager 4.3's `save_snapshot` writes, a detached-HEAD git pack included.
MANAGER_SNAPSHOT = f"""{{
    "comfyui": "{SHA}",
    "git_custom_nodes": {{
        "https://github.com/someone/ComfyUI-Thing": {{
            "hash": "{SHA}\\n",
            "disabled": false
        }}
    }},
    "cnr_custom_nodes": {{
        "comfyui-kjnodes": "1.1.2"
    }},
    "file_custom_nodes": [
        {{
            "filename": "websocket_image_save.py",
            "disabled": false
        }}
    ],
    "pips": {{
        "numpy==1.26.4": ""
    }}
}}"""


def test_a_manager_snapshot_reads_as_manager_means_it(tmp_path: Path) -> None:
    snapshot = tmp_path / "2026-12-01_10-00-00_snapshot.json"
    snapshot.write_text(MANAGER_SNAPSHOT)
    out = tmp_path / "out"
    mirror = write_mirror(tmp_path / "m.jsonl")
    result = invoke("run", snapshot, "--registry", mirror, "--os", "linux", "-q", "-o", out)
    assert result.exit_code == 0
    (run_dir,) = out.iterdir()
    nodes = pd.read_parquet(run_dir / "nodes.parquet")
    thing = nodes[nodes.node_id == "ComfyUI-Thing"]
    assert (list(thing.version), list(thing.hash)) == ([SHA], [SHA])
    assert "manifest.invalid-entry" not in {f[2] for f in findings(out)}


def test_a_csv_with_a_host_column_names_no_other_host(tmp_path: Path) -> None:
    manifest = tmp_path / "fleet.csv"
    manifest.write_text("node_id,version,host\ncomfyui-kjnodes,1.1.2,a\ncomfyui-kjnodes,1.1.2,b\n")
    out = tmp_path / "out"
    mirror = write_mirror(tmp_path / "m.jsonl")
    assert invoke("run", manifest, "--registry", mirror, "-q", "-o", out).exit_code == 0
    assert {f[0] for f in findings(out)} == {"a", "b"}
    (run_dir,) = out.iterdir()
    assert sorted(json.loads((run_dir / "run.json").read_text())["hosts"]) == ["a", "b"]


def test_a_huge_cnr_id_names_no_pack(tmp_path: Path) -> None:
    git_dir = tmp_path / "ComfyUI" / "custom_nodes" / "ComfyUI-Thing" / ".git"
    git_dir.mkdir(parents=True)
    (git_dir / "HEAD").write_text(f"{SHA}\n")
    (git_dir / "config").write_text(
        '[remote "origin"]\n\turl = https://example.com/ComfyUI-Thing\n'
    )
    (git_dir / ".cnr-id").write_text("x" * 1_000_000)
    out = tmp_path / "out"
    mirror = write_mirror(tmp_path / "m.jsonl")
    args = ["run", "--comfyui", tmp_path / "ComfyUI", "--registry", mirror, "-q", "-o", out]
    assert invoke(*args).exit_code == 0
    (run_dir,) = out.iterdir()
    with (run_dir / "nodes.csv").open(newline="") as f:
        assert [row["node_id"] for row in csv.DictReader(f)] == ["ComfyUI-Thing"]


def test_short_versions_are_asked_in_both_forms_at_once(
    tmp_path: Path, make_registry_server: Callable[..., RegistryServer]
) -> None:
    server = make_registry_server(
        [
            node_version_record("comfyui-foo", "7.10.0", status="NodeVersionStatusBanned"),
            node_version_record("comfyui-bar", "1.2.0", deprecated=True),
            node_version_record("comfyui-both", "2.1", deprecated=True),
            node_version_record("comfyui-both", "2.1.0", status="NodeVersionStatusBanned"),
        ]
    )
    manifest = tmp_path / "render-01.txt"
    manifest.write_text("comfyui-foo@7.10\ncomfyui-bar@v1.2\ncomfyui-both@2.1\n")
    out = tmp_path / "out"
    args = ["run", manifest, "--registry", server.url, "--no-cache", "--no-advice", "-q"]
    assert invoke(*args, "-o", out).exit_code == 1
    (request,) = [r for r in server.requests if r.path == "/bulk/nodes/versions"]
    assert isinstance(request.body, dict)
    assert sorted((p["node_id"], p["version"]) for p in request.body["node_versions"]) == [
        ("comfyui-bar", "1.2.0"),
        ("comfyui-bar", "v1.2"),
        ("comfyui-both", "2.1"),
        ("comfyui-both", "2.1.0"),
        ("comfyui-foo", "7.10"),
        ("comfyui-foo", "7.10.0"),
    ]
    (run_dir,) = out.iterdir()
    frame = pd.read_parquet(run_dir / "findings.parquet").dropna(subset=["node_id"])
    rows = frame[["node_id", "version", "check", "message"]].itertuples(index=False, name=None)
    assert sorted(rows) == [
        ("comfyui-bar", "v1.2", "status.deprecated", "version v1.2 is deprecated by its publisher"),
        ("comfyui-both", "2.1", "status.deprecated", "version 2.1 is deprecated by its publisher"),
        ("comfyui-foo", "7.10", "status.banned", "version 7.10 is banned by the registry"),
    ]


def test_the_fleet_tables_join_ids_whatever_their_case(tmp_path: Path) -> None:
    mirror = write_mirror(
        tmp_path / "m.jsonl",
        [
            node_version_record("comfyui-impact-pack", "8.8.1", status="NodeVersionStatusBanned"),
            node_version_record("comfyui-impact-pack", "8.22.2"),
        ],
    )
    lists = {
        "a": "ComfyUI-Impact-Pack@8.8.1\n",
        "b": "comfyui-impact-pack@8.8.1\n",
        "c": "COMFYUI-IMPACT-PACK@8.22.2\n",
    }
    for host, text in lists.items():
        (tmp_path / f"{host}.txt").write_text(text)
    out = tmp_path / "out"
    manifests = [tmp_path / f"{host}.txt" for host in lists]
    assert invoke("run", *manifests, "--registry", mirror, "-q", "-o", out).exit_code == 1
    assert invoke("fleet", out, "-q").exit_code == 0
    (rollup,) = (out / "fleet").iterdir()
    packs = pd.read_parquet(rollup / "packs.parquet")
    assert packs[["node_id", "version", "host_count"]].values.tolist() == [
        ["ComfyUI-Impact-Pack", "8.8.1", 2]
    ]
    drift = pd.read_parquet(rollup / "drift.parquet")
    assert drift.node_id.tolist() == ["COMFYUI-IMPACT-PACK"]
    assert [list(drift.versions[0]), list(drift.host_counts[0])] == [["8.8.1", "8.22.2"], [2, 1]]


FLAGGED = "NodeVersionStatusFlagged"


@pytest.mark.parametrize(
    ("newest", "expected"),
    [
        (node_version_record("comfyui-foo", "2.0.0", tags_admin=["any-code-execute"]), "1.5.0"),
        (node_version_record("comfyui-foo", "2.0.0", dependencies=["numpy>=2"]), "1.5.0"),
        (node_version_record("comfyui-foo", "2.0.0", dependencies=["numpy>=>2"]), "1.5.0"),
        (node_version_record("comfyui-foo", "2.0.0", dependencies=[]), "2.0.0"),
        (node_version_record("comfyui-foo", "2.0.0", dependencies=["scipy>=1.11"]), "2.0.0"),
    ],
    ids=["tagged", "excluded-by-another-pack", "invalid-line", "no-dependencies", "installs"],
)
def test_advice_ladders_under_a_lenient_policy(
    tmp_path: Path, newest: dict[str, object], expected: str
) -> None:
    mirror = write_mirror(
        tmp_path / "m.jsonl",
        [
            node_version_record("comfyui-foo", "1.0.0", status=FLAGGED),
            newest,
            node_version_record("comfyui-foo", "1.5.0", dependencies=["numpy<2"]),
            node_version_record("comfyui-bar", "1.0.0", dependencies=["numpy<2"]),
        ],
    )
    manifest = tmp_path / "render-01.json"
    snapshot = {"cnr_custom_nodes": {"comfyui-foo": "1.0.0", "comfyui-bar": "1.0.0"}}
    manifest.write_text(json.dumps(snapshot))
    (tmp_path / "render-01.env.json").write_text(json.dumps(profile("linux")))
    policy = tmp_path / "lenient.toml"
    policy.write_text('[severity]\n"security.tag" = "info"\n"dependency.spec-invalid" = "info"\n')
    out = tmp_path / "out"
    args = ["run", manifest, "--registry", mirror, "--policy", policy, "-q", "-o", out]
    assert invoke(*args).exit_code == 1
    (run_dir,) = out.iterdir()
    advice = pd.read_parquet(run_dir / "recommendations.parquet")
    assert advice[["node_id", "recommended_version"]].values.tolist() == [["comfyui-foo", expected]]
    installs = ["scipy>=1.11"] if newest.get("dependencies") == ["scipy>=1.11"] else []
    assert list(advice.installs[0]) == installs


def test_one_manifest_with_a_bad_profile_is_an_input_error(tmp_path: Path) -> None:
    manifest = tmp_path / "render-01.json"
    manifest.write_text(json.dumps({"cnr_custom_nodes": {"comfyui-kjnodes": "1.1.2"}}))
    (tmp_path / "render-01.env.json").write_text("[1, 2")
    out = tmp_path / "out"
    result = invoke("run", manifest, "--registry", write_mirror(tmp_path / "m.jsonl"), "-o", out)
    assert (result.exit_code, result.stderr) == (
        2,
        f"comfy-audit: error: {tmp_path / 'render-01.env.json'}: not JSON: Expecting ','"
        " delimiter: line 1 column 6 (char 5)\n",
    )
    assert not out.exists()

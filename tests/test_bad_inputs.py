"""The bad-manifest corpus (tests/data/bad/) through the real command line.

A malformed manifest gives exit 2 and exactly one line on stderr naming the file (and line),
and no run folder; an entry that is only odd (an id or version that is not safe in a URL) gives
a `manifest.invalid-entry` finding and exit 1, and never a request outside the two routes. No
input ever gives a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from audit.cli import cli
from audit.model import ID_PATTERN, VERSION_PATTERN
from tests.registry_server import BULK_PATH, LoggedRequest, RegistryServer, node_version_record

BAD = Path(__file__).parent / "data" / "bad"
EXPECTED: dict[str, str] = {
    name: message
    for name, message in json.loads((BAD / "expected.json").read_text(encoding="utf-8")).items()
    if not name.startswith("_")
}
MACHINE = ["--os", "linux", "--accelerator", "cpu", "--no-cache", "-q"]
RECORDS = [
    node_version_record("comfyui-kjnodes", "1.1.2"),
    node_version_record("comfyui-impact-pack", "8.8.1"),
]
LONG_ID = "comfyui-" + "a" * 10240

#: The odd files: each entry that is not a plausible registry id@version, as the manifest wrote
#: it. Every other entry of the file is a good one.
ODD: dict[str, list[tuple[str, str]]] = {
    "odd-ids.txt": [
        ("comfyui-kjnodes/../../install", "1.1.2"),
        ("..", "1.0.0"),
        ("comfyui%2Fkjnodes", "1.1.2"),
        ("comfyui-kjnodes?version=1.1.2", "1.1.2"),
        ("comfyui-kjnodes#frag", "1.1.2"),
        ("ComfyUI Upscale Pack", "1.0.0"),
        ("comfyui-\x1b[31mred", "1.0.0"),
        ("comfyui-impact-pack", "8.8.1 beta"),
        ("comfyui-easy-use", ".."),
        ("comfyui-mxtoolkit", "0.9.92/../../../install"),
    ],
    "odd-ids.json": [
        ("comfyui-kjnodes/versions/1.1.2/..", "1.1.2"),
        ("..", ".."),
        ("comfyui%2Fkjnodes", "1.1.2"),
        ("comfyui-kjnodes?a=b", "1.1.2"),
        ("comfyui-kjnodes#x", "1.1.2"),
        ("comfy\x00ui\x07", "1.0.0"),
        ("comfyui-impact-pack", "8.8.1 rc 1"),
        ("comfyui-easy-use", "1.3.0?x=1"),
    ],
    "odd-snapshot.json": [
        ("../../../etc/passwd", "1.0.0"),
        ("comfyui-impact-pack", "8.8.1; rm -rf /"),
        ("comfyui-easy-use", "1.3.0#frag"),
    ],
    "long-id.txt": [(LONG_ID, "1.0.0")],
}


@pytest.fixture(params=[True, False], ids=["bulk", "get-only"])
def server(
    request: pytest.FixtureRequest, make_registry_server: Callable[..., RegistryServer]
) -> RegistryServer:
    return make_registry_server(RECORDS, bulk=request.param)


def run(manifest: Path, server: RegistryServer, out: Path) -> Result:
    args = ["run", str(manifest), "--registry", server.url, "-o", str(out), *MACHINE]
    return CliRunner().invoke(cli, args)


def assert_no_traceback(result: Result) -> None:
    """The command ended by exiting: no exception escaped it to reach a user as a traceback."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info


def assert_refused(result: Result, message: str, out: Path, server: RegistryServer) -> None:
    assert_no_traceback(result)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"comfy-audit: error: {message}\n"
    assert not out.exists(), "no run folder, not even the output folder"
    assert server.requests == []


def test_the_corpus_is_complete() -> None:
    """Every file has its expectation, and every expectation its file."""
    files = {p.name for p in BAD.iterdir()} - {"expected.json"}
    assert files == set(EXPECTED) | set(ODD)
    assert all(p.stat().st_size < 4096 or p.name == "long-id.txt" for p in BAD.iterdir())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_malformed_manifest_exits_2_with_one_line(
    tmp_path: Path, server: RegistryServer, name: str
) -> None:
    out = tmp_path / "out"
    result = run(BAD / name, server, out)
    assert_refused(result, EXPECTED[name].format(path=BAD / name), out, server)


def test_a_100_mb_manifest_is_refused_without_reading_it(
    tmp_path: Path, server: RegistryServer
) -> None:
    huge = tmp_path / "huge.txt"
    with huge.open("wb") as stream:
        stream.write(b"comfyui-kjnodes@1.1.2\n")
        stream.truncate(100 * 1024 * 1024)  # sparse: no 100 MB ever touches the disk
    out = tmp_path / "out"
    result = run(huge, server, out)
    assert_refused(result, f"{huge}: larger than 32 MiB: not a manifest", out, server)


def is_a_node_route(request: LoggedRequest) -> bool:
    """``GET /nodes?node_id=…`` (the Node list) or ``GET /nodes/<id>``, for safe ids only."""
    parts = request.path.split("/")
    if request.method != "GET" or parts[:2] != ["", "nodes"] or len(parts) > 3:
        return False
    if len(parts) == 3:
        return not request.query and ID_PATTERN.fullmatch(parts[2]) is not None
    ids = request.query.get("node_id", [])
    return bool(ids) and all(ID_PATTERN.fullmatch(node_id) for node_id in ids)


def is_one_of_the_two_routes(request: LoggedRequest) -> bool:
    """``POST /bulk/nodes/versions``, or ``GET /nodes/<id>/versions/<version>`` for a safe pair."""
    if request.query:
        return False
    if request.method == "POST":
        return request.path == BULK_PATH
    parts = request.path.split("/")
    if request.method != "GET" or len(parts) != 5 or parts[:2] != ["", "nodes"]:
        return False
    node_id, version = parts[2], parts[4]
    # NOTE: raw, as sent: a safe pair needs no percent-encoding, so `%2F` never appears either.
    return (
        parts[3] == "versions"
        and ID_PATTERN.fullmatch(node_id) is not None
        and VERSION_PATTERN.fullmatch(version) is not None
    )


def asked_pairs(requests: list[LoggedRequest]) -> set[tuple[str, str]]:
    pairs = set()
    for request in requests:
        if request.method == "POST":
            assert isinstance(request.body, dict)
            items = request.body["node_versions"]
            pairs |= {(i["node_id"].lower(), i["version"]) for i in items}
        else:
            _, node_id, _, version = request.segments
            pairs.add((node_id.lower(), version))
    return pairs


@pytest.mark.parametrize("name", sorted(ODD))
def test_odd_entries_become_findings_and_never_requests(
    tmp_path: Path, server: RegistryServer, name: str
) -> None:
    out = tmp_path / "out"
    result = run(BAD / name, server, out)

    assert_no_traceback(result)
    assert (result.exit_code, result.stderr) == (1, "")
    (run_dir,) = out.iterdir()
    findings = pd.read_parquet(run_dir / "findings.parquet")
    invalid = findings[findings.check == "manifest.invalid-entry"]
    assert sorted(zip(invalid.node_id, invalid.version, strict=True)) == sorted(ODD[name])
    assert set(invalid.severity) == {"error"}
    assert server.requests, "the good entries were looked up"
    version_requests = [r for r in server.requests if not is_a_node_route(r)]
    assert all(is_one_of_the_two_routes(r) for r in version_requests), server.paths()
    odd = {(node_id.lower(), version) for node_id, version in ODD[name]}
    assert not asked_pairs(version_requests) & odd


def test_even_a_bug_gives_one_line_and_no_traceback(
    tmp_path: Path, server: RegistryServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_reader(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr("audit.inputs.read_hosts", broken_reader)
    monkeypatch.delenv("COMFY_AUDIT_DEBUG", raising=False)
    out = tmp_path / "out"
    result = run(BAD / "odd-ids.txt", server, out)

    assert (result.exit_code, result.stdout) == (70, "")
    assert result.stderr == (
        "comfy-audit: internal error: RuntimeError: a bug\\nover two lines"
        " (set COMFY_AUDIT_DEBUG=1 for a traceback, and please report it)\n"
    )
    assert not out.exists()
    # NOTE: with COMFY_AUDIT_DEBUG the bug escapes as a traceback, and the check says so.
    monkeypatch.setenv("COMFY_AUDIT_DEBUG", "1")
    with pytest.raises(AssertionError, match="RuntimeError"):
        assert_no_traceback(run(BAD / "odd-ids.txt", server, out))

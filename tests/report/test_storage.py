"""Writing run folders to object storage: a local S3-compatible server (moto), never online."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from audit.errors import InputError, ReportError
from audit.model import AuditRun
from audit.report import storage, write_run
from audit.report.storage import is_uri, open_location, redact
from tests.report.conftest import sample_run
from tests.report.test_write import FILES
from tests.s3_server import ACCESS_KEY, SECRET_KEY, S3Server


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("s3://bucket/prefix", True),
        ("gs://bucket", True),
        ("outputs", False),
        ("/srv/audits", False),
        (r"C:\audits", False),
        (Path("s3://bucket"), False),
    ],
    ids=["s3", "gs", "relative", "absolute", "windows", "path-object"],
)
def test_is_uri(target: str | Path, expected: bool) -> None:
    assert is_uri(target) is expected


def test_a_local_path_opens_the_local_filesystem(tmp_path: Path) -> None:
    location = open_location(tmp_path / "out")
    assert (location.local, location.path, location.display) == (
        True,
        str(tmp_path / "out"),
        str(tmp_path / "out"),
    )


def test_the_same_files_as_a_local_write(s3: S3Server, run: AuditRun, tmp_path: Path) -> None:
    s3.create_bucket("fleet")
    where = write_run(run, "s3://fleet/audits/")
    local = write_run(run, tmp_path)
    assert where == "s3://fleet/audits/run-1"
    assert s3.keys("fleet") == [f"audits/run-1/{name}" for name in FILES]
    for name in FILES:
        assert s3.read("fleet", f"audits/run-1/{name}") == (local / name).read_bytes(), name


def test_run_json_is_written_last_and_meanwhile_after_it(
    s3: S3Server, run: AuditRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.create_bucket("fleet")
    order: list[str] = []
    real = storage.Location.write_bytes

    def recording(self: storage.Location, data: bytes) -> None:
        order.append(self.path.rsplit("/", 1)[-1])
        real(self, data)

    monkeypatch.setattr(storage.Location, "write_bytes", recording)
    write_run(run, "s3://fleet", meanwhile=lambda: order.append("meanwhile"))
    assert order[-2:] == ["run.json", "meanwhile"]
    assert sorted(order[:-1]) == FILES


def test_a_failed_write_removes_what_it_wrote(
    s3: S3Server, run: AuditRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3.create_bucket("fleet")
    real = pq.write_table

    def failing(table: pa.Table, where: object, **options: object) -> None:
        if "requirement" in table.column_names:
            raise OSError(28, "No space left on device")
        real(table, where, **options)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(ReportError) as caught:
        write_run(run, "s3://fleet/audits")
    assert str(caught.value) == (
        "s3://fleet/audits/run-1/requirements.parquet: cannot write the report: "
        "No space left on device"
    )
    assert s3.keys("fleet") == []


def test_an_existing_run_is_never_overwritten(s3: S3Server, run: AuditRun) -> None:
    s3.create_bucket("fleet")
    write_run(run, "s3://fleet/audits")
    before = s3.read("fleet", "audits/run-1/run.json")
    with pytest.raises(ReportError, match="the run folder already exists"):
        write_run(sample_run(), "s3://fleet/audits")
    assert s3.read("fleet", "audits/run-1/run.json") == before


def test_a_missing_bucket_is_a_report_error_without_credentials(
    s3: S3Server, run: AuditRun
) -> None:
    with pytest.raises(ReportError) as caught:
        write_run(run, "s3://no-such-bucket/audits")
    message = str(caught.value)
    assert message.startswith("s3://no-such-bucket/audits/run-1")
    assert SECRET_KEY not in message
    assert ACCESS_KEY not in message


def test_credentials_in_the_uri_are_refused_without_repeating_them(s3: S3Server) -> None:
    with pytest.raises(InputError) as caught:
        open_location(f"s3://{ACCESS_KEY}:{SECRET_KEY}@fleet/audits")
    assert str(caught.value) == (
        "s3://***@fleet/audits: credentials in the URI are not accepted; set AWS_* instead"
    )


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3:///audits", "s3:///audits: no bucket in the URI (expected s3://bucket/prefix)"),
        ("s3://fleet/a?region=x", "s3://fleet/a?region=x: an object-store URI takes no ?query"),
    ],
    ids=["no-bucket", "query"],
)
def test_malformed_uris_are_input_errors(s3: S3Server, uri: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        open_location(uri)
    assert str(caught.value).startswith(message)


def test_redact_hides_the_environment_credentials(s3: S3Server) -> None:
    text = f"signature for {ACCESS_KEY} with {SECRET_KEY} does not match"
    assert redact(text) == "signature for *** with *** does not match"

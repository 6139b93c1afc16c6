"""A local S3-compatible server for tests: moto's server mode, on 127.0.0.1 only.

Start one with `S3Server.start`, point the AWS environment at it with `S3Server.environment`
(explicit dummy keys, the endpoint, and no instance-metadata lookup, so that no SDK ever probes
an address off this machine), and make buckets with `S3Server.create_bucket`::

    with S3Server.start() as server:
        for name, value in server.environment().items():
            monkeypatch.setenv(name, value)
        server.create_bucket("fleet")
        write_run(run, "s3://fleet/audits")
        assert server.keys("fleet") == ["audits/run-1/findings.csv", ...]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import pyarrow.fs as pafs
import requests

if TYPE_CHECKING:
    from moto.server import ThreadedMotoServer

__all__ = ["ACCESS_KEY", "CLEARED", "REGION", "SECRET_KEY", "S3Server"]

#: Dummy credentials, long enough that a test can search messages for them.
ACCESS_KEY = "AKIAFLEETTESTDUMMY0001"
SECRET_KEY = "dummy-secret-that-must-never-be-shown-0001"
REGION = "us-east-1"
#: AWS variables that would otherwise change where the SDK looks; tests remove them.
CLEARED = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)


@dataclass
class S3Server:
    """Represents a running moto server on loopback, with helpers to inspect its buckets."""

    server: ThreadedMotoServer
    endpoint: str

    @classmethod
    def start(cls) -> S3Server:
        from moto.server import ThreadedMotoServer  # NOTE: slow to import; only when needed.

        # NOTE: werkzeug logs every request to stderr; the tests' output need not show them.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        return cls(server, f"http://{host}:{port}")

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> S3Server:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        """The AWS variables that point an SDK at this server, and only at it."""
        return {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/nonexistent/aws-config",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
        }

    def reset(self) -> None:
        """Forget every bucket and object."""
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
            endpoint_override=self.endpoint,
            allow_bucket_creation=True,
            allow_bucket_deletion=True,
        )

    def create_bucket(self, name: str) -> None:
        self.filesystem().create_dir(name)

    def keys(self, bucket: str) -> list[str]:
        """Every object key in ``bucket``, sorted."""
        infos = self.filesystem().get_file_info(pafs.FileSelector(bucket, recursive=True))
        prefix = f"{bucket}/"
        return sorted(i.path[len(prefix) :] for i in infos if i.type == pafs.FileType.File)

    def read(self, bucket: str, key: str) -> bytes:
        with self.filesystem().open_input_stream(f"{bucket}/{key}") as stream:
            return bytes(stream.read())

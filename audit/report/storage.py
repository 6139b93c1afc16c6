"""Where reports live: a local folder or an object store (``s3://bucket/prefix``) as a pyarrow
FileSystem, and writing one folder of files there as atomically as the store allows.

S3 settings come from the standard AWS environment variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``) plus
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` for an S3-compatible server; without keys the AWS
SDK's own chain (profiles, instance metadata) applies. Credentials never appear in a message.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs

from audit import atomic
from audit.errors import AuditError, InputError, ReportError, describe_error

__all__ = [
    "FileBuilder",
    "Location",
    "is_uri",
    "open_location",
    "redact",
    "translating",
    "write_folder",
]

#: One file of a folder to write: its name, and a function that returns its bytes.
FileBuilder = tuple[str, Callable[[], bytes]]

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+://")
_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")
#: Shorter values are not redacted: replacing every "x" in a message would garble it.
_MIN_SECRET = 6
_TRANSLATED = (OSError, pa.ArrowException, TypeError, ValueError)


def is_uri(target: str | Path) -> bool:
    """Whether ``target`` names an object store (``s3://…``) rather than a local path.

    >>> is_uri("s3://fleet/audits"), is_uri("outputs"), is_uri(Path("s3:/x"))
    (True, False, False)
    """
    return isinstance(target, str) and _SCHEME.match(target) is not None


def redact(text: str) -> str:
    """Return ``text`` with the values of the AWS credential variables replaced by ``***``."""
    for name in _SECRET_VARIABLES:
        value = os.environ.get(name, "")
        if len(value) >= _MIN_SECRET:
            text = text.replace(value, "***")
    return text


@contextmanager
def translating(where: str, doing: str, error: type[AuditError] = ReportError) -> Iterator[None]:
    """Turn an OS or pyarrow error into a one-line ``error`` naming ``where``, without secrets."""
    try:
        yield
    except _TRANSLATED as e:
        raise error(f"{where}: {doing}: {redact(describe_error(e))}") from e


@dataclass(frozen=True)
class Location:
    """Represents a folder on a pyarrow FileSystem: a local folder or an object-store prefix."""

    filesystem: pafs.FileSystem
    path: str
    """The folder's path on ``filesystem``, without a trailing slash."""
    display: str
    """How messages and summaries name the folder: the path or URI as given, never credentials."""
    local: bool

    def join(self, *names: str) -> Location:
        """Return the location of a folder or file below this one."""
        return Location(
            self.filesystem,
            "/".join([self.path.rstrip("/"), *names]),
            "/".join([self.display.rstrip("/"), *names]),
            self.local,
        )

    def exists(self) -> bool:
        with translating(self.display, "cannot read", InputError):
            info = self.filesystem.get_file_info(self.path)
        return bool(info.type != pafs.FileType.NotFound)

    def read_bytes(self, error: type[AuditError] = InputError) -> bytes:
        with (
            translating(self.display, "cannot read", error),
            self.filesystem.open_input_stream(self.path) as stream,
        ):
            return bytes(stream.read())

    def write_bytes(self, data: bytes) -> None:
        with (
            translating(self.display, "cannot write"),
            self.filesystem.open_output_stream(self.path) as stream,
        ):
            stream.write(data)


def _environment(*names: str) -> str | None:
    return next((os.environ[n] for n in names if os.environ.get(n)), None)


def _s3(bucket: str, key: str, display: str) -> Location:
    endpoint = _environment("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
    region = _environment("AWS_REGION", "AWS_DEFAULT_REGION")
    access_key = _environment("AWS_ACCESS_KEY_ID")
    secret_key = _environment("AWS_SECRET_ACCESS_KEY")
    explicit = access_key is not None and secret_key is not None
    with translating(display, "cannot open the object store", InputError):
        if region is None:
            # NOTE: on AWS itself the bucket knows its region; a custom endpoint rarely cares.
            region = "us-east-1" if endpoint else pafs.resolve_s3_region(bucket)
        filesystem = pafs.S3FileSystem(
            access_key=access_key if explicit else None,
            secret_key=secret_key if explicit else None,
            session_token=_environment("AWS_SESSION_TOKEN") if explicit else None,
            region=region,
            endpoint_override=endpoint,
        )
    return Location(filesystem, f"{bucket}/{key}".rstrip("/"), display, local=False)


def _open_uri(uri: str) -> Location:
    parts = urlsplit(uri)
    if "@" in parts.netloc:
        # NOTE: the message must not repeat what sits before the "@": it is a secret.
        shown = f"{parts.scheme}://***@{parts.netloc.rpartition('@')[2]}{parts.path}"
        raise InputError(f"{shown}: credentials in the URI are not accepted; set AWS_* instead")
    display = uri.rstrip("/")
    if parts.query or parts.fragment:
        raise InputError(f"{display}: an object-store URI takes no ?query or #fragment")
    if parts.scheme == "s3":
        if not parts.netloc:
            raise InputError(f"{display}: no bucket in the URI (expected s3://bucket/prefix)")
        return _s3(parts.netloc, parts.path.strip("/"), display)
    with translating(display, "cannot open", InputError):
        filesystem, path = pafs.FileSystem.from_uri(uri)
    return Location(filesystem, str(path).rstrip("/"), display, local=False)


def open_location(target: str | Path) -> Location:
    """Return the folder ``target`` names: a local path, or an ``s3://bucket/prefix`` URI.

    :raises InputError: for a malformed URI, one that carries credentials, or a store that
        cannot be opened.
    """
    if is_uri(target):
        return _open_uri(str(target))
    path = os.path.abspath(target)
    return Location(pafs.LocalFileSystem(), path, str(target), local=True)


def _refuse_existing(final: Location, what: str) -> None:
    with translating(final.display, "cannot check the folder"):
        found = final.filesystem.get_file_info(final.path).type != pafs.FileType.NotFound
    if found:
        raise ReportError(f"{final.display}: the {what} already exists; it is never overwritten")


def _write_local(parent: Location, name: str, files: Sequence[FileBuilder], what: str) -> None:
    final = parent.join(name)
    _refuse_existing(final, what)
    with translating(parent.display, "cannot create the output folder"):
        Path(parent.path).mkdir(parents=True, exist_ok=True)
    partial = Path(parent.path) / f".{name}.partial-{secrets.token_hex(8)}"
    with translating(str(partial), "cannot create a temporary folder"):
        partial.mkdir()
    try:
        for file_name, build in files:
            with translating(final.join(file_name).display, "cannot write the report"):
                atomic.write_new(partial / file_name, build())
        _refuse_existing(final, what)
        with translating(final.display, "cannot move the finished reports into place"):
            os.rename(partial, final.path)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def _write_store(parent: Location, name: str, files: Sequence[FileBuilder], what: str) -> None:
    final = parent.join(name)
    _refuse_existing(final, what)
    written: list[Location] = []
    try:
        # NOTE: an object store has no rename; the last file (run.json, rollup.json) is written
        # last and marks the folder complete, so readers never take a partial one for done.
        for file_name, build in files:
            target = final.join(file_name)
            with translating(target.display, "cannot write the report"):
                data = build()
            written.append(target)
            target.write_bytes(data)
    except BaseException:
        # NOTE: best effort; what cannot be removed has no marker file, so it stays "incomplete".
        for target in reversed(written):
            with contextlib.suppress(*_TRANSLATED):
                target.filesystem.delete_file(target.path)
        raise


def write_folder(
    parent: Location, name: str, files: Sequence[FileBuilder], *, what: str = "folder"
) -> Location:
    """Write ``files`` in order into the new folder ``parent/name`` and return its location.

    On a local disk the files go into a hidden folder renamed into place at the end; on an
    object store they are written in order, so the last one marks a complete folder. Nothing is
    ever written over an existing folder (``what`` names it in the message).

    :raises ReportError: if the folder exists, or a file cannot be built or written; written
        files are then removed where the store allows.
    """
    writer = _write_local if parent.local else _write_store
    writer(parent, name, files, what)
    return parent.join(name)

"""Fixtures of the fleet roll-up tests, shared with the report and vulnerability tests."""

from __future__ import annotations

from tests.report.conftest import moto_server, s3
from tests.vulnerabilities.conftest import osv_zip

__all__ = ["moto_server", "osv_zip", "s3"]

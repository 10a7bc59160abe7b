"""Fixtures of the notifier tests: a logger, a trustme CA, and a loopback HTTP server."""

from __future__ import annotations

import io
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from monitor.logging import make_logger
from monitor.redact import Redactor
from tests.alerting.notifiers.servers import HttpServer


@pytest.fixture
def log() -> Any:
    """A Runtime-style JSON logger writing to a buffer."""
    return make_logger(Redactor(()), fmt="json", stream=io.StringIO())


@dataclass(frozen=True)
class Certs:
    ca_file: Path
    server: ssl.SSLContext


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    """A private CA and a server certificate for 127.0.0.1, as an SSL server context."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server)
    return Certs(ca_file, server)


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    """A recording HTTP server on 127.0.0.1 (answers 200 "ok" unless scripted)."""
    with HttpServer().running() as server:
        yield server

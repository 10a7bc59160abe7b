"""moto's S3 server over real HTTP on 127.0.0.1 (a thread of its own), and a fresh bucket per test.

moto's server speaks the S3 protocol on a socket, as MinIO would; nothing is patched.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from monitor.config.artifacts import ArtifactSettings
from tests.support.processes import HOST, free_port

ACCESS_KEY = "moto-test-key"
SECRET_KEY = "moto-test-secret-4f1e"  # moto accepts any pair; this one is never real


@dataclass(frozen=True)
class Bucket:
    endpoint_url: str
    name: str

    def settings(self, **fields: Any) -> ArtifactSettings:
        return ArtifactSettings.model_validate(
            {
                "backend": "s3",
                "bucket": self.name,
                "endpoint_url": self.endpoint_url,
                "region": "us-east-1",
                "access_key_id": ACCESS_KEY,
                "secret_access_key": SECRET_KEY,
                **fields,
            }
        )

    def yaml(self) -> str:
        """The ``artifacts:`` section naming this bucket."""
        return (
            "artifacts:\n"
            "  backend: s3\n"
            f"  bucket: {self.name}\n"
            f"  endpoint_url: {self.endpoint_url}\n"
            "  region: us-east-1\n"
            f"  access_key_id: {ACCESS_KEY}\n"
            f"  secret_access_key: {SECRET_KEY}\n"
        )

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def object_keys(self) -> set[str]:
        listed = self.client().list_objects_v2(Bucket=self.name)
        return {item["Key"] for item in listed.get("Contents", [])}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's server (every AWS API it emulates) on a free loopback port for the session."""
    port = free_port()
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{HOST}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_endpoint(moto_endpoint: str) -> str:
    """moto's S3 API (the session's moto server)."""
    return moto_endpoint


@pytest.fixture
def bucket(s3_endpoint: str) -> Bucket:
    """A new, empty bucket on the moto server."""
    made = Bucket(s3_endpoint, f"smokewatch-{uuid.uuid4().hex[:12]}")
    made.client().create_bucket(Bucket=made.name)
    return made

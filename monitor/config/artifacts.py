"""The ``artifacts:`` section: where failure artifacts live and how long they are kept."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator

from monitor.modeltypes import Duration, Strict

DEFAULT_DIRECTORY = "smokewatch-artifacts"


class ArtifactSettings(Strict):
    """Screenshots, traces and response excerpts of failed runs, named per result."""

    backend: Literal["directory", "s3"] = Field(
        "directory", description="directory: files on disk; s3: an S3-compatible bucket"
    )
    directory: str | None = Field(
        None,
        description="the directory backend's root; default <SQLite file>.artifacts beside "
        "the store, or ./smokewatch-artifacts with PostgreSQL or an in-memory store",
    )
    bucket: str | None = Field(None, description="s3: the bucket (required)")
    prefix: str = Field("smokewatch/", description="s3: key prefix of every artifact")
    endpoint_url: str | None = Field(
        None, description="s3: the endpoint of an S3-compatible service (MinIO, R2, ...)"
    )
    region: str | None = Field(None, description="s3: the bucket's region")
    access_key_id: SecretStr | None = Field(
        None, description="s3: e.g. ${AWS_ACCESS_KEY_ID}; unset: boto3's default chain"
    )
    secret_access_key: SecretStr | None = Field(
        None, description="s3: e.g. ${file:/run/secrets/s3_secret}; unset: boto3's default chain"
    )
    keep: int = Field(50, ge=1, description="failed results per check whose artifacts are kept")
    max_age: Duration = Field(
        timedelta(days=30), description="artifacts older than this are deleted"
    )

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> ArtifactSettings:
        if self.backend == "s3" and not self.bucket:
            raise ValueError("artifacts.backend is s3, so artifacts.bucket is required")
        return self

    def root(self, database_file: Path | None) -> Path:
        """The directory backend's root: ``directory``, else beside the SQLite file."""
        if self.directory:
            return Path(self.directory)
        if database_file is not None:
            return database_file.with_name(database_file.name + ".artifacts")
        return Path(DEFAULT_DIRECTORY)

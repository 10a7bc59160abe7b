"""Build the configured artifact store: the backend ``artifacts.backend`` names, over the store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from monitor.artifacts.backend import ArtifactBackend
from monitor.artifacts.directory import DirectoryBackend
from monitor.artifacts.s3 import S3Backend
from monitor.artifacts.store import ArtifactStore
from monitor.config.artifacts import ArtifactSettings
from monitor.config.root import SmokewatchConfig
from monitor.store import ResultStore, database_url
from monitor.store.urls import sqlite_file


def directory_root(config: SmokewatchConfig) -> Path:
    """``artifacts.directory``, else ``<SQLite file>.artifacts``, else ``smokewatch-artifacts``."""
    try:
        database = sqlite_file(make_url(database_url(config.storage.url)))
    except ValueError:
        database = None
    return config.artifacts.root(database)


def build_backend(config: SmokewatchConfig) -> ArtifactBackend:
    settings: ArtifactSettings = config.artifacts
    if settings.backend == "s3":
        return S3Backend(settings)
    return DirectoryBackend(directory_root(config))


def build_artifact_store(config: SmokewatchConfig, results: ResultStore) -> ArtifactStore:
    settings = config.artifacts
    return ArtifactStore(
        results, build_backend(config), keep=settings.keep, max_age=settings.max_age
    )

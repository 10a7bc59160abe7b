"""Failure artifacts: stored per result, listed and served by the API, linked everywhere."""

from monitor.artifacts.links import ArtifactLink, artifact_path, artifact_url, artifacts_path

__all__ = ["ArtifactLink", "artifact_path", "artifact_url", "artifacts_path"]

"""Where an artifact can be fetched: the API route of one result's named artifact.

Other modules (notifications, the status page, JUnit output) build links with
:func:`artifact_url` only, so the route's shape lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

ROUTE_PREFIX = "/api/v1/results"


def artifact_path(result_id: int, name: str) -> str:
    """The route's path (no host): ``/api/v1/results/<id>/artifacts/<name>``."""
    return f"{ROUTE_PREFIX}/{int(result_id)}/artifacts/{quote(name, safe='')}"


def artifacts_path(result_id: int) -> str:
    """The path listing one result's artifacts."""
    return f"{ROUTE_PREFIX}/{int(result_id)}/artifacts"


def artifact_url(public_url: str | None, result_id: int, name: str) -> str:
    """An absolute link to one artifact when ``public_url`` (``api.public_url``) is set.

    Without a public URL the link is the bare path, which still works relative to the
    server that answered.  ``name`` is percent-encoded whole (a ``/`` never splits it).
    """
    path = artifact_path(result_id, name)
    if not public_url:
        return path
    return public_url.rstrip("/") + path


@dataclass(frozen=True, slots=True)
class ArtifactLink:
    """One artifact of a run as output shows it.

    ``url`` is the API route (absolute with ``api.public_url``), ``None`` for a run that
    was not stored (``smokewatch check``); ``location`` is where the bytes are: an
    absolute file path, or the object's URL in an S3 bucket (what JUnit attaches).
    """

    name: str
    size: int
    content_type: str
    url: str | None
    location: str

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "size": self.size,
            "content_type": self.content_type,
            "url": self.url,
            "location": self.location,
        }

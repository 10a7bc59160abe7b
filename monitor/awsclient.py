"""One boto3 client for an AWS service, built the same way for every backend that needs one.

boto3 is an optional extra: it is imported here only when a backend that needs it is
built, and its absence or a missing region becomes the backend's own ``MonitorError``
(``ArtifactError`` for S3, ``MonitorError`` for CloudWatch), at this boundary.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import SecretStr

from monitor.errors import MonitorError


def aws_client(
    service: str,
    *,
    region: str | None,
    endpoint_url: str | None,
    access_key_id: SecretStr | None,
    secret_access_key: SecretStr | None,
    config: dict[str, Any],
    error: type[MonitorError],
    missing_boto3: str,
    missing_region: str,
) -> Any:
    """A boto3 client for ``service`` with ``botocore.config.Config(**config)``.

    Explicit keys win over boto3's own chain (environment, shared files, instance role);
    ``missing_boto3`` and ``missing_region`` are the messages of the ``error`` raised when
    boto3 is not installed or no region can be found.
    """
    try:
        session_module: Any = importlib.import_module("boto3.session")
        config_module: Any = importlib.import_module("botocore.config")
        exceptions: Any = importlib.import_module("botocore.exceptions")
    except ImportError as exc:
        raise error(missing_boto3) from exc
    session = session_module.Session(
        aws_access_key_id=access_key_id.get_secret_value() if access_key_id else None,
        aws_secret_access_key=secret_access_key.get_secret_value() if secret_access_key else None,
        region_name=region,
    )
    try:
        return session.client(
            service, endpoint_url=endpoint_url, config=config_module.Config(**config)
        )
    except exceptions.NoRegionError as exc:
        raise error(missing_region) from exc

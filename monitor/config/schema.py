"""JSON Schemas of the config files, for editors (``# yaml-language-server: $schema=...``)."""

from __future__ import annotations

from typing import Any

from monitor.config.root import config_model
from monitor.config.rules import AlertRules

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def config_json_schema() -> dict[str, Any]:
    schema = config_model().model_json_schema(mode="validation", by_alias=True)
    return {"$schema": _DIALECT, **schema, "title": "smokewatch.yaml"}


def rules_json_schema() -> dict[str, Any]:
    schema = AlertRules.model_json_schema(mode="validation", by_alias=True)
    return {"$schema": _DIALECT, **schema, "title": "alert-rules.yaml"}

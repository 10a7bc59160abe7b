"""Specifications of the chart's values: every path a template reads is defined, documented
and typed; the shipped values files validate; the defaults hold no secret."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import helm_python
import jsonschema
import pytest
import yaml

from tests.deploy.chart import CHART_DIR, EXAMPLES, example_values

TEMPLATES = sorted((CHART_DIR / "templates").glob("*"))
VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())

# `.Values.a.b` anywhere (also `$.Values`, `$root.Values`); `$x := <...>.Values.a` aliases;
# and the fields read from a `regions` entry (`$region.x`, or `.region.x` in a helper).
_VALUES_PATH = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_ALIAS = re.compile(r"(\$[A-Za-z_]\w*)\s*:=\s*(?:\$root|\$)?\.Values((?:\.[A-Za-z_]\w*)*)")
_REGION_FIELD = re.compile(r"(?:\$region|\.region)\.([A-Za-z_]\w*)")


def _referenced_paths() -> set[tuple[str, ...]]:
    paths: set[tuple[str, ...]] = set()
    for template in TEMPLATES:
        text = template.read_text()
        paths |= {tuple(m.group(1).strip(".").split(".")) for m in _VALUES_PATH.finditer(text)}
        for found in _ALIAS.finditer(text):
            if "range" in text[text.rfind("{{", 0, found.start()) : found.start()]:
                continue  # `range $x := .Values.list`: $x is an entry, checked elsewhere
            alias, prefix = found.groups()
            base = tuple(prefix.strip(".").split(".")) if prefix else ()
            pattern = re.compile(re.escape(alias) + r"((?:\.[A-Za-z_]\w*)+)")
            paths |= {
                base + tuple(m.group(1).strip(".").split(".")) for m in pattern.finditer(text)
            }
    return paths


def _region_fields() -> set[str]:
    return {m for t in TEMPLATES for m in _REGION_FIELD.findall(t.read_text())}


REFERENCED = _referenced_paths()


def _schema_node(path: tuple[str, ...]) -> dict[str, Any] | None:
    node: dict[str, Any] = SCHEMA
    for key in path:
        props = node.get("properties")
        if props is None:
            return node if node.get("type") == "object" else None  # free-form below here
        if key not in props:
            return None
        node = props[key]
    return node


def _values_leaves(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths of values.yaml down to where the schema stops describing keys (free-form maps)."""
    schema = _schema_node(path) if path else SCHEMA
    if isinstance(node, dict) and node and schema is not None and "properties" in schema:
        for key, child in node.items():
            yield from _values_leaves(child, (*path, key))
    else:
        yield path


class TestTemplatesReadOnlyDefinedValues:
    def test_templates_reference_values(self) -> None:
        """The scan finds the chart's references (guards the scan itself)."""
        assert ("database", "bundled", "image", "repository") in REFERENCED  # via $pg
        assert ("cronjob", "schedule") in REFERENCED  # via $.Values
        assert ("podDisruptionBudget", "maxUnavailable") in REFERENCED  # via .Values
        assert {"name", "nodeRegion", "replicas", "schedule"} <= _region_fields()

    @pytest.mark.parametrize("path", sorted(REFERENCED), ids=".".join)
    def test_path_is_in_values_yaml(self, path: tuple[str, ...]) -> None:
        """Every `.Values` path a template reads has a default in values.yaml."""
        node: Any = VALUES
        for key in path:
            assert isinstance(node, dict), f"{'.'.join(path)}: {key} is under a non-mapping"
            assert key in node, f"{'.'.join(path)} is not in values.yaml"
            node = node[key]

    @pytest.mark.parametrize("path", sorted(REFERENCED), ids=".".join)
    def test_path_is_in_the_schema(self, path: tuple[str, ...]) -> None:
        """Every `.Values` path a template reads is declared in values.schema.json."""
        assert _schema_node(path) is not None, f"{'.'.join(path)} is not in values.schema.json"

    def test_region_fields_are_in_the_schema(self) -> None:
        """Every field a template reads from a `regions` entry is declared for the entries."""
        declared = set(SCHEMA["properties"]["regions"]["items"]["properties"])
        assert _region_fields() <= declared

    @pytest.mark.parametrize("path", sorted(_values_leaves(VALUES)), ids=".".join)
    def test_every_value_is_used(self, path: tuple[str, ...]) -> None:
        """Each value in values.yaml is read by a template (itself or through a parent)."""
        assert any(path[: len(r)] == r for r in REFERENCED), f"{'.'.join(path)} is never read"


class TestSchema:
    @pytest.mark.parametrize("name", sorted(EXAMPLES), ids=str)
    def test_values_files_validate(self, chart: helm_python.Chart, name: str) -> None:
        """values.yaml merged with each shipped values file passes the schema (jsonschema)."""
        merged = chart.merge_values(example_values(name))
        jsonschema.Draft7Validator.check_schema(SCHEMA)
        jsonschema.Draft7Validator(SCHEMA).validate(merged)

    @pytest.mark.parametrize(
        ("overrides", "complaint"),
        [
            ({"mdoe": "cronjob"}, "'mdoe' not allowed"),
            ({"mode": "daemonset"}, "/mode"),
            ({"regions": [{"name": "EU West"}]}, "/regions/0/name"),
            ({"regions": []}, "/regions"),
            ({"config": {"checks": []}}, "/config/checks"),
            ({"database": {"type": "mysql"}}, "/database/type"),
            ({"image": {"digest": "latest"}}, "/image/digest"),
            ({"cronjob": {"schedule": "every 30 minutes"}}, "/cronjob/schedule"),
            (
                {"prometheusRule": {"groups": [{"name": "g", "rules": [{"expr": "up"}]}]}},
                "/rules/0",
            ),
        ],
        ids=[
            "typo-key",
            "unknown-mode",
            "region-not-a-dns-label",
            "no-region",
            "no-checks",
            "unknown-database",
            "digest-not-sha256",
            "schedule-not-cron",
            "rule-neither-alert-nor-record",
        ],
    )
    def test_helm_and_jsonschema_refuse(
        self, chart: helm_python.Chart, overrides: dict[str, Any], complaint: str
    ) -> None:
        """Bad values fail Helm's own schema check and jsonschema alike, naming the culprit."""
        merged = chart.merge_values(overrides)
        with pytest.raises(helm_python.HelmValuesError, match=re.escape(complaint)):
            chart.validate_schema(overrides)
        assert list(jsonschema.Draft7Validator(SCHEMA).iter_errors(merged))


class TestNoSecretsInDefaults:
    _SECRETISH = re.compile(r"(password|passwd|token|api_?key|secret|credential)s?$", re.I)

    def test_no_default_looks_like_a_credential(self) -> None:
        """No key named like a credential has a non-empty string default in values.yaml."""

        def walk(node: Any, path: str) -> Iterator[str]:
            if isinstance(node, dict):
                for key, child in node.items():
                    if self._SECRETISH.search(str(key)) and isinstance(child, str) and child:
                        yield f"{path}.{key}"
                    yield from walk(child, f"{path}.{key}")
            elif isinstance(node, list):
                for n, child in enumerate(node):
                    yield from walk(child, f"{path}[{n}]")

        assert list(walk(VALUES, "")) == []

    def test_created_secret_is_empty_by_default(self) -> None:
        """The chart creates no Secret and carries no secret data unless told to."""
        assert VALUES["secret"] == {"existingSecret": "", "create": False, "data": {}}
        assert VALUES["database"]["external"]["existingSecret"] == ""
        assert VALUES["database"]["bundled"]["existingSecret"] == ""

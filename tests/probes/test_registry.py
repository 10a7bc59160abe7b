"""Specification of the probe registry: every entry is a complete, consistent probe."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from pydantic import BaseModel

from monitor.config.models import CheckCommon
from monitor.config.root import CHECK_MODELS
from probes import PROBES
from probes.base import Probe


@pytest.mark.parametrize("kind", sorted(PROBES), ids=sorted(PROBES))
class TestRegistry:
    def test_the_entry_satisfies_the_probe_protocol(self, kind: str) -> None:
        """Each probe has a kind, a pydantic spec model and an async run(spec, ctx)."""
        probe: Probe[Any] = PROBES[kind]
        assert probe.kind == kind
        assert issubclass(probe.spec_model, BaseModel)
        assert inspect.iscoroutinefunction(probe.run)
        assert list(inspect.signature(probe.run).parameters) == ["spec", "ctx"]

    def test_the_spec_forbids_unknown_fields_and_names_its_kind(self, kind: str) -> None:
        """A spec rejects typos, and its kind field defaults to the registry key."""
        spec = PROBES[kind].spec_model
        assert spec.model_config.get("extra") == "forbid"
        assert spec.model_fields["kind"].default == kind

    def test_the_config_has_a_check_model_for_it(self, kind: str) -> None:
        """Registering a probe is all it takes for smokewatch.yaml to accept its kind."""
        assert issubclass(CHECK_MODELS[kind], PROBES[kind].spec_model)

    def test_its_fields_never_shadow_a_common_field(self, kind: str) -> None:
        """A kind's own field named like a common one (name, timeout) would replace it."""
        spec = PROBES[kind].spec_model
        assert set(spec.model_fields) & set(CheckCommon.model_fields) == {"kind"}

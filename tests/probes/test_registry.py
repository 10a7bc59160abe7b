"""Specification of the probe registry: every entry is a complete, consistent probe."""

from __future__ import annotations

import inspect
from datetime import timedelta
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from monitor.config.models import CheckCommon
from monitor.config.root import check_model, kind_model
from monitor.errors import RegistryError
from probes import PROBES, LazyRegistry, http, tcp, tls
from probes.base import Probe
from probes.errors import DuplicateKindError, ProbeError


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
        assert issubclass(kind_model(kind), PROBES[kind].spec_model)

    def test_its_fields_never_shadow_a_common_field(self, kind: str) -> None:
        """A kind's own field named like a common one (name, timeout) would replace it."""
        spec = PROBES[kind].spec_model
        assert set(spec.model_fields) & set(CheckCommon.model_fields) == {"kind"}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["bad"] = "bad"


class _Timeout(_Spec):
    timeout: float = 5.0


class _NameAndTags(_Spec):
    name: str = ""
    tags: list[str] = []


class _Aliased(_Spec):
    wait: float = Field(1.0, alias="interval")


class _Fine(_Spec):
    url: str = ""


class TestCheckModel:
    """Joining a probe's spec to the common check fields refuses a field that would shadow one."""

    @pytest.mark.parametrize(
        ("spec", "fields"),
        [
            pytest.param(_Timeout, "'timeout'", id="timeout-float"),
            pytest.param(_NameAndTags, "'name', 'tags'", id="two-fields"),
            pytest.param(_Aliased, "'interval'", id="by-alias"),
        ],
    )
    def test_a_shadowing_field_is_a_registry_error(
        self, spec: type[BaseModel], fields: str
    ) -> None:
        """The error names the kind, the spec and every shadowing field, at registry time."""
        with pytest.raises(RegistryError) as caught:
            check_model("bad", spec)
        assert str(caught.value).startswith(f"probe kind 'bad': {spec.__name__} defines {fields},")

    def test_a_spec_of_its_own_fields_joins(self) -> None:
        """A spec whose fields are its own becomes a check model with the common ones too."""
        model = check_model("bad", _Fine)
        check = model.model_validate({"name": "x", "url": "http://a", "timeout": "2s"})
        assert (check.kind, check.timeout) == ("bad", timedelta(seconds=2))


class TestMisregisteredKinds:
    """A kind whose module's probe is another kind is a registry error, never a silent run
    of the wrong probe."""

    @pytest.mark.parametrize(
        ("modules", "kind", "error"),
        [
            pytest.param(
                {"tcp": "http"},
                "tcp",
                "probe module probes.http is registered as 'tcp' but its PROBE is 'http' "
                "(probes.http.HttpSpec)",
                id="another-kind's-module",
            ),
            pytest.param(
                {"http": "http", "dns": "tls"},
                "dns",
                "probe module probes.tls is registered as 'dns' but its PROBE is 'tls'",
                id="among-right-ones",
            ),
        ],
    )
    def test_a_module_of_another_kind_is_refused(
        self, modules: dict[str, str], kind: str, error: str
    ) -> None:
        """The error is a ProbeError naming the module, the key and the probe's own kind."""
        lazy = LazyRegistry(modules)
        with pytest.raises(DuplicateKindError) as caught:
            lazy[kind]
        assert isinstance(caught.value, ProbeError)
        assert str(caught.value).startswith(error)

    def test_right_modules_are_keyed_by_kind(self) -> None:
        """Every kind is listed in order, and looks up its own module's probe."""
        lazy = LazyRegistry({"http": "http", "tcp": "tcp", "tls": "tls"})
        assert list(lazy) == ["http", "tcp", "tls"]
        assert len(lazy) == 3
        assert dict(lazy) == {"http": http.PROBE, "tcp": tcp.PROBE, "tls": tls.PROBE}

"""The whole ``smokewatch.yaml``: sections plus the check union built from ``probes.PROBES``.

A check kind's model costs its probe module's import and a pydantic build (10-90 ms
each), so loading a config builds only the kinds it names: :func:`config_model`.
The same holds for the sections of optional features (``telemetry``, ``alerting``,
``artifacts``: about 40 ms of models together): a config that does not write one gets
a model without it, and reading the attribute gives its defaults, built on first use
(:meth:`SmokewatchConfig.given` tells the two apart).  :class:`SmokewatchConfig` is
every section but those and the checks (the type code annotates with);
``config_model()`` with no arguments is the model of every kind and every section
(the JSON Schema).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple, Union, cast

from pydantic import BaseModel, Field, ValidationInfo, create_model, model_validator

from monitor.config.dependencies import dependency_problems
from monitor.config.models import (
    ApiSettings,
    BrowserSettings,
    CheckCommon,
    CheckDefaults,
    Logging,
    RateLimit,
    RunnerSettings,
    SchedulerSettings,
    Storage,
    Strict,
)
from monitor.errors import RegistryError
from probes import PROBES

if TYPE_CHECKING:
    from monitor.config.alerting import AlertingSettings
    from monitor.config.artifacts import ArtifactSettings
    from monitor.config.telemetry import TelemetrySettings


def _names(model: type[BaseModel]) -> dict[str, str]:
    """Each name a field answers to in YAML (its name and its alias) -> the field."""
    names = {name: name for name in model.model_fields}
    names.update({f.alias: name for name, f in model.model_fields.items() if f.alias})
    return names


def check_model(kind: str, spec: type[BaseModel]) -> type[CheckCommon]:
    """The model of a check of ``kind``: the common envelope plus the probe's own fields.

    The probe's spec comes first so its ``kind: Literal[...]`` wins over ``kind: str``,
    which is also why a spec field named like a common one (``timeout: float``) would
    silently replace it: that raises :class:`RegistryError` here, at import, naming the
    kind and the fields, instead of an ``AttributeError`` when a config loads.
    """
    common = _names(CheckCommon)
    clash = sorted({n for n in _names(spec) if n in common} - {"kind"})
    if clash:
        raise RegistryError(
            f"probe kind {kind!r}: {spec.__name__} defines {', '.join(map(repr, clash))}, "
            "which every check already has (CheckCommon): give the probe's field another name"
        )
    model = create_model(
        f"{kind.capitalize()}Check",
        __base__=(spec, CheckCommon),
    )
    return cast(type[CheckCommon], model)


@functools.cache
def kind_model(kind: str) -> type[CheckCommon]:
    """The check model of one registered ``kind``, built once."""
    return check_model(kind, PROBES[kind].spec_model)


_INDEX_KEY = "_check_index"


class _CheckIndex:
    """What per-run code looks up among a config's checks, computed once per checks tuple."""

    def __init__(self, checks: tuple[CheckCommon, ...]) -> None:
        self.checks = checks
        self.positions = {check.name: i for i, check in enumerate(checks)}
        self.controls = tuple(c for c in checks if c.enabled and c.control)


class SmokewatchConfig(Strict):
    """``smokewatch.yaml`` without its checks: :func:`config_model` adds the check union."""

    if TYPE_CHECKING:
        checks: tuple[CheckCommon, ...]
        telemetry: TelemetrySettings
        alerting: AlertingSettings
        artifacts: ArtifactSettings

    version: int = Field(1, ge=1, le=1, description="the config format version (1)")
    regions: tuple[str, ...] = Field(
        (), description="regions this deployment runs in; empty means any"
    )
    defaults: CheckDefaults = Field(
        CheckDefaults(), description="values every check takes unless it sets its own"
    )
    storage: Storage = Field(
        Storage(), description="where results are stored (SQLite or PostgreSQL) and for how long"
    )
    runner: RunnerSettings = Field(
        RunnerSettings(), description="how checks run: concurrency, user agent, artifacts"
    )
    rate_limit: RateLimit = Field(RateLimit(), description="per-host request budgets")
    browser: BrowserSettings = Field(
        BrowserSettings(), description="the shared Chromium of browser checks"
    )
    logging: Logging = Field(Logging(), description="log level and format")
    api: ApiSettings = Field(ApiSettings(), description="the status API and page served by serve")
    scheduler: SchedulerSettings = Field(
        SchedulerSettings(), description="serve's scheduler: leases, shutdown grace"
    )
    secrets: tuple[str, ...] = Field(
        (), description="extra environment variable names whose values are secret"
    )
    alert_rules: str | None = Field(
        "alert-rules.yaml", description="path of the alert rules, relative to this file"
    )

    @model_validator(mode="after")
    def _check_names_unique_and_regions_known(self, info: ValidationInfo) -> SmokewatchConfig:
        if info.context and info.context.get("items_checked"):
            return self  # the loader checked these, with lines (monitor.config.items)
        seen: set[str] = set()
        for check in self.checks:
            if check.name in seen:
                raise ValueError(f"check name '{check.name}' is used twice")
            seen.add(check.name)
            unknown = set(check.regions or ()) - set(self.regions) if self.regions else set()
            if unknown:
                raise ValueError(
                    f"check '{check.name}' names unknown region(s) {sorted(unknown)}; "
                    f"known: {list(self.regions)}"
                )
        entries = [
            (i, {"name": c.name, "depends_on": list(c.depends_on)})
            for i, c in enumerate(self.checks)
        ]
        for _, message in dependency_problems(entries):
            raise ValueError(message)
        return self

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only for what normal lookup did not find: a section this model lacks.
            if name in _SECTIONS:
                return section_default(name)
            return super().__getattr__(name)

    def given(self, section: str) -> bool:
        """Whether the optional ``section`` (telemetry, alerting, artifacts) was written in
        the file; false means it holds its defaults.  True for every other section, which
        every config model holds whether written or not."""
        return section not in _SECTIONS or section in type(self).model_fields

    def check(self, name: str) -> CheckCommon:
        return self.checks[self.positions[name]]

    @property
    def positions(self) -> Mapping[str, int]:
        """Each check's index in ``checks``, by name (looked up per run: built once)."""
        return self._index().positions

    @property
    def controls(self) -> tuple[CheckCommon, ...]:
        """The enabled control checks (consulted per run: found once)."""
        return self._index().controls

    def _index(self) -> _CheckIndex:
        # Kept in __dict__ beside the fields, as functools.cached_property would (model
        # equality and dumps ignore it), and only for this very ``checks`` tuple: a
        # model_copy that replaces the checks copies __dict__ and must not reuse it.
        index = self.__dict__.get(_INDEX_KEY)
        if not isinstance(index, _CheckIndex) or index.checks is not self.checks:
            index = _CheckIndex(self.checks)
            self.__dict__[_INDEX_KEY] = index
        return index

    def settings_for(self, check: CheckCommon) -> CheckDefaults:
        """The effective interval/timeout/retries/backoff of ``check``."""
        overrides: dict[str, Any] = {
            field: getattr(check, field)
            for field in CheckDefaults.model_fields
            if getattr(check, field) is not None
        }
        return self.defaults.model_copy(update=overrides)


class _Section(NamedTuple):
    """A section built only when a config writes it: where its model is, what it is for."""

    module: str
    model: str
    description: str

    def load(self) -> type[Strict]:
        return cast(type[Strict], getattr(importlib.import_module(self.module), self.model))


# In the order the JSON Schema lists them, after the sections SmokewatchConfig holds.
_SECTIONS = {
    "telemetry": _Section(
        "monitor.config.telemetry",
        "TelemetrySettings",
        "metrics export: Prometheus, Pushgateway, Datadog, OTLP",
    ),
    "alerting": _Section(
        "monitor.config.alerting",
        "AlertingSettings",
        "alert evaluation, delivery and notifier channels",
    ),
    "artifacts": _Section(
        "monitor.config.artifacts",
        "ArtifactSettings",
        "where failure artifacts (screenshots, traces, bodies) are kept",
    ),
}


@functools.cache
def section_default(name: str) -> Strict:
    """The defaults of section ``name``, built once (the models are frozen: one serves all)."""
    return _SECTIONS[name].load()()


_FALLBACK_KIND = "http"  # the union of a config that names no registered kind


@functools.cache
def _config_model(kinds: tuple[str, ...], sections: tuple[str, ...]) -> type[SmokewatchConfig]:
    models = tuple(kind_model(k) for k in kinds)
    any_check = Annotated[Union[models], Field(discriminator="kind")]  # type: ignore[valid-type]  # noqa: UP007 -- a runtime-built union needs Union[...]
    described = "the checks: each has a name and a kind (http, flow, websocket, browser)"
    fields: dict[str, Any] = {
        name: (
            _SECTIONS[name].load(),
            Field(section_default(name), description=_SECTIONS[name].description),
        )
        for name in sections
    }
    return create_model(
        "SmokewatchConfig",
        __base__=SmokewatchConfig,
        __doc__="``smokewatch.yaml``.",
        __module__=__name__,
        **fields,
        checks=(tuple[any_check, ...], Field((), description=described)),
    )


def config_model(
    kinds: Iterable[object] | None = None, sections: Iterable[object] | None = None
) -> type[SmokewatchConfig]:
    """The config model whose check union holds ``kinds`` (registered ones; None: all)
    and which has the optional ``sections`` named (None: all).

    An unregistered or missing kind fails the union alike whichever kinds it holds
    (``union_tag_invalid``/``union_tag_not_found``), so errors are the same as with
    every kind; only kinds nobody names are never built.  A section left out reads as
    its defaults, which is what the file said by not writing it.
    """
    wanted = set(PROBES) if kinds is None else {k for k in kinds if isinstance(k, str)}
    chosen = tuple(k for k in PROBES if k in wanted) or (_FALLBACK_KIND,)
    written = set(_SECTIONS) if sections is None else set(sections)
    return _config_model(chosen, tuple(s for s in _SECTIONS if s in written))


def sections_written(data: object) -> list[str]:
    """The optional sections raw ``smokewatch.yaml`` data writes (see :func:`config_model`)."""
    return [s for s in _SECTIONS if isinstance(data, dict) and s in data]


def kinds_named(data: object) -> list[object]:
    """The ``kind`` of each check in raw (interpolated) ``smokewatch.yaml`` data."""
    checks = data.get("checks") if isinstance(data, dict) else None
    if not isinstance(checks, list):
        return []
    return [c.get("kind") for c in checks if isinstance(c, dict)]

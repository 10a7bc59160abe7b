"""Configuration: ``smokewatch.yaml`` and ``alert-rules.yaml`` into validated models.

The names below load on first use (PEP 562), so importing a submodule such as
``monitor.config.durations`` does not import the loader and everything it checks
against (notifiers, templating): alerting's settings, which the root model holds,
import those very submodules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config.loader import LoadedConfig, load_config, resolve_config_path
    from monitor.config.models import CheckCommon, CheckDefaults
    from monitor.config.root import SmokewatchConfig
    from monitor.config.rules import AlertRule, AlertRules, Condition

_EXPORTS = {
    "LoadedConfig": "loader",
    "load_config": "loader",
    "resolve_config_path": "loader",
    "CheckCommon": "models",
    "CheckDefaults": "models",
    "SmokewatchConfig": "root",
    "AlertRule": "rules",
    "AlertRules": "rules",
    "Condition": "rules",
}
__all__ = [
    "AlertRule",
    "AlertRules",
    "CheckCommon",
    "CheckDefaults",
    "Condition",
    "LoadedConfig",
    "SmokewatchConfig",
    "load_config",
    "resolve_config_path",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'monitor.config' has no attribute {name!r}")
    return getattr(importlib.import_module(f"monitor.config.{module}"), name)

"""Configuration: ``smokewatch.yaml`` and ``alert-rules.yaml`` into validated models."""

from monitor.config.loader import LoadedConfig, load_config, resolve_config_path
from monitor.config.models import CheckCommon, CheckDefaults
from monitor.config.root import SmokewatchConfig
from monitor.config.rules import AlertRule, AlertRules, Condition

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

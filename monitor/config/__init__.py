"""Configuration: ``smokewatch.yaml`` and ``alert-rules.yaml`` into validated models.

The settings modules of alerting, telemetry and artifacts, which the root model
holds, build on :mod:`monitor.modeltypes` (a leaf), not on this package, so this
package imports its loader at once: no lazy loading, no import-order rules.
"""

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

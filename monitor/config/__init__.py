"""Configuration: ``smokewatch.yaml`` and ``alert-rules.yaml`` into validated models.

The settings modules of alerting, telemetry and artifacts, which the root model
holds, build on :mod:`monitor.modeltypes` (a leaf), not on this package, so this
package imports its loader at once: no lazy loading, no import-order rules.  The
alert rules' models are not exported here: ``monitor.config.rules`` loads only for a
config with a rules file (or code that asks for rules), not with every config.
"""

from monitor.config.loader import LoadedConfig, load_config, resolve_config_path
from monitor.config.models import CheckCommon, CheckDefaults
from monitor.config.root import SmokewatchConfig

__all__ = [
    "CheckCommon",
    "CheckDefaults",
    "LoadedConfig",
    "SmokewatchConfig",
    "load_config",
    "resolve_config_path",
]

"""One notifier per channel behind :class:`monitor.alerting.notification.Notifier`.

:data:`CHANNELS` registers them (:mod:`.registry`); ``build_notifiers(settings, log=...)``
builds the configured ones, keyed by channel;
``target_problem(target, settings)`` says why a rule's ``notify`` target cannot be
delivered (load-time validation).  Settings: :class:`ChannelSettings`.
"""

# monitor.config's package imports its loader, which imports this package's registry and
# settings, which import monitor.config.durations/models.  Completing monitor.config first
# makes that one chain, whichever module is imported first, instead of a cycle that breaks
# when the first import is one of ours.
import monitor.config  # noqa: F401 -- imported for its side effect: see above
from monitor.alerting.notifiers.channels import ChannelSettings
from monitor.alerting.notifiers.registry import CHANNELS, Channel, build_notifiers, target_problem
from monitor.alerting.notifiers.settings import (
    EmailSettings,
    PagerDutySettings,
    SlackSettings,
    WebhookSettings,
)

__all__ = [
    "CHANNELS",
    "Channel",
    "ChannelSettings",
    "EmailSettings",
    "PagerDutySettings",
    "SlackSettings",
    "WebhookSettings",
    "build_notifiers",
    "target_problem",
]

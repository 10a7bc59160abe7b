"""One notifier per channel behind :class:`monitor.alerting.notification.Notifier`.

:data:`CHANNELS` registers them (:mod:`.registry`); ``build_notifiers(settings, log=...)``
builds the configured ones, keyed by channel;
``target_problem(target, settings)`` says why a rule's ``notify`` target cannot be
delivered (load-time validation).  Settings: :class:`ChannelSettings`.
"""

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

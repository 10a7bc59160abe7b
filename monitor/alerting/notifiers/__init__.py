"""One notifier per channel behind :class:`monitor.alerting.notification.Notifier`.

:data:`CHANNELS` registers them (:mod:`.registry`); ``build_notifiers(settings, log=...)``
builds the configured ones, keyed by channel.  Their settings, and the load-time check
that a rule's ``notify`` target can be delivered, are the config's:
:mod:`monitor.config.channels`, :mod:`monitor.config.targets`.
"""

from monitor.alerting.notifiers.registry import CHANNELS, Channel, build_notifiers

__all__ = ["CHANNELS", "Channel", "build_notifiers"]

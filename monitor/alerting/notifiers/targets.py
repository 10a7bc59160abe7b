"""A rule's ``notify`` target as a config type: an e-mail address or ``CHANNEL:TARGET``.

Here rather than in ``monitor.config.rules`` because alerting's own settings (a
region's ``notify``) use it too, and they must not import the config package.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

from monitor.alerting.notifiers.registry import CHANNELS, target_forms

_EMAIL = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s]+$")
_CHANNEL = re.compile(r"^(" + "|".join(re.escape(name) for name in CHANNELS) + r"):\S+$")


def parse_notify_target(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("a notify target is a string: an email address or 'slack:#channel'")
    if _EMAIL.match(value) or _CHANNEL.match(value):
        return value
    raise ValueError(f"invalid notify target {value!r}: expected {target_forms()}")


NotifyTarget = Annotated[str, BeforeValidator(parse_notify_target)]

"""The pages' one script: reload every 60 s, with a switch the reader can turn off.

A ``<meta http-equiv="refresh">`` cannot be paused (WCAG 2.2.1; axe-core's
``meta-refresh``), so the pages carry this inline script instead, allowed by its hash in
the Content-Security-Policy and nothing else.  Without JavaScript the page simply does
not reload itself; the switch stays hidden.  The choice is kept in ``localStorage``.
"""

from __future__ import annotations

import base64
import hashlib

REFRESH_S = 60
SCRIPT = (
    "(() => {"
    " const box = document.getElementById('auto-refresh');"
    " const key = 'smokewatch-auto-refresh';"
    " box.checked = localStorage.getItem(key) !== 'off';"
    " box.closest('p').hidden = false;"
    " box.addEventListener('change', () => localStorage.setItem(key, box.checked ? 'on' : 'off'));"
    " setInterval(() => { if (box.checked && !document.hidden) location.reload(); },"
    f" {REFRESH_S * 1000});"
    " })();"
)
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
# Inline styles; only this script; nothing fetched from anywhere, not even from here.
CSP = (
    f"default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

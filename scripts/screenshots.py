"""Screenshots of the status page and a per-check page at 1400 px and 390 px, light and
dark, with one check failing (``pay-web``, down in both regions), into a folder.

    uv run python scripts/screenshots.py [FOLDER]     # default /tmp/smokewatch-shots

It runs the Chromium page tests (``tests/api/test_pages_in_chromium.py``), which seed 60
days of history for four checks in two groups, render each page in real Chromium
(``/usr/bin/chromium``) and save a full-page PNG per page, width and theme when
``SMOKEWATCH_SHOTS`` names a folder: ``page-desktop-light.png`` ...
``check-phone-dark.png``.  The tests' own checks (no console errors, no serious axe
findings) run too, so a screenshot of a broken page comes with its failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTS = "tests/api/test_pages_in_chromium.py"
SELECT = "TestStatusPage and renders or TestCheckPage and renders"


def main() -> int:
    default = Path(tempfile.gettempdir()) / "smokewatch-shots"
    folder = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else default
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SMOKEWATCH_SHOTS": str(folder), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TESTS]
    # Our own interpreter running our own tests: nothing untrusted in the command.
    done = subprocess.run([*command, "-k", SELECT], cwd=REPO, env=env, check=False)  # noqa: S603
    for shot in sorted(folder.glob("*.png")):
        print(shot)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())

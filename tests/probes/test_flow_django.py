"""A flow against a real third-party app: Django's admin login, CSRF token and all.

Django (``tests/support/django_site.py``, a real dev server in its own process on
a fresh SQLite database) renders the login form with ``csrfmiddlewaretoken``,
sets the ``csrftoken`` cookie, and refuses a post without the pair; logout is a
POST with a token of its own.  A flow that captures both tokens from the HTML and
keeps its cookies logs in and out for real; the database shows the session went.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.runtime.runtime import build_client
from probes.base import ProbeContext, Status
from probes.flow import PROBE, FlowSpec
from tests.support.processes import free_port

PASSWORD = "smoke-django-pw-8xq"
TOKEN = {"css": "input[name=csrfmiddlewaretoken]", "attr": "value"}


@dataclass(frozen=True)
class DjangoSite:
    base: str
    db: Path

    def sessions(self) -> int:
        with sqlite3.connect(self.db) as db:
            (count,) = db.execute("select count(*) from django_session").fetchone()
            return int(count)


@pytest.fixture(scope="module")
def django_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DjangoSite]:
    port, db = free_port(), tmp_path_factory.mktemp("django") / "site.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.django_site", str(port), str(db), PASSWORD],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/admin/login/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                _, err = process.communicate(timeout=5)
                pytest.fail(f"Django did not start: {err.decode()[-2000:]}")
            time.sleep(0.2)
        yield DjangoSite(base, db)
    finally:
        process.terminate()
        process.wait(timeout=10)


def admin_flow(base: str, *, post_token: bool = True) -> FlowSpec:
    form: dict[str, Any] = {"username": "smoke", "password": PASSWORD, "next": "/admin/"}
    if post_token:
        form["csrfmiddlewaretoken"] = "{{ csrf }}"
    return FlowSpec.model_validate(
        {
            "kind": "flow",
            "steps": [
                {
                    "name": "form",
                    "url": base + "/admin/login/?next=/admin/",
                    "capture": {"csrf": TOKEN},
                },
                {
                    "name": "login",
                    "method": "POST",
                    "allow_write": True,
                    "url": base + "/admin/login/?next=/admin/",
                    "form": form,
                    "expect": {
                        "status": [302],
                        "headers": [{"name": "Location", "equals": "/admin/"}],
                    },
                },
                {
                    "name": "admin",
                    "url": base + "/admin/",
                    "expect": {"status": [200], "body_matches": "Site administration"},
                    "capture": {
                        "user": {"css": "#user-tools strong"},
                        "logout_csrf": {"css": "#logout-form " + TOKEN["css"], "attr": "value"},
                    },
                },
            ],
            "cleanup": [
                {
                    "name": "logout",
                    "method": "POST",
                    "allow_write": True,
                    "url": base + "/admin/logout/",
                    "form": {"csrfmiddlewaretoken": "{{ logout_csrf }}"},
                    "expect": {"status": [200], "body_matches": "Logged out"},
                }
            ],
        }
    )


@pytest.fixture
async def ctx() -> Any:
    async with build_client() as client:
        yield ProbeContext(client=client, deadline_s=10.0, check_name="django-admin")


async def test_a_flow_logs_into_djangos_admin_and_out_again(
    django_site: DjangoSite, ctx: ProbeContext
) -> None:
    result = await PROBE.run(admin_flow(django_site.base), ctx)
    assert result.status is Status.PASS, result.message
    assert [s["name"] for s in result.details["steps"]] == ["form", "login", "admin", "logout"]
    assert result.details["cleanup"] == {"ok": True}
    assert django_site.sessions() == 0  # Django's logout deleted the session


async def test_django_refuses_the_login_without_the_captured_token(
    django_site: DjangoSite, ctx: ProbeContext
) -> None:
    """The capture is what makes it work: without the token Django answers 403."""
    result = await PROBE.run(admin_flow(django_site.base, post_token=False), ctx)
    assert result.status is Status.FAIL
    assert result.message.startswith("login: status: expected 302, got 403")
    assert django_site.sessions() == 0

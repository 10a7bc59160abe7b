"""One demo target per module, served by uvicorn in a thread, reset to healthy before each test."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator

import httpx
import pytest

from examples.demo_target import DemoTargetThread, TargetState


@pytest.fixture
def state(target: TargetState) -> TargetState:
    """The served target's state, healthy and with no history (tests.support.demo)."""
    return target


@pytest.fixture(scope="module")
def tls() -> ssl.SSLContext:
    """One client TLS context per module: building one loads the CA bundle, ~0.2 s each time."""
    return httpx.create_ssl_context()


@pytest.fixture
async def client(
    served: DemoTargetThread, state: TargetState, tls: ssl.SSLContext
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=served.url, trust_env=False, timeout=5.0, verify=tls
    ) as c:
        yield c

"""A bucket that never answers costs a run's alerts at most EVIDENCE_TIMEOUT_S: the verdict
and the stored result stand, without links.  The "bucket" is a real socket that accepts
connections and never answers."""

from __future__ import annotations

import io
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config.loader import load_config
from monitor.runtime.runtime import EVIDENCE_TIMEOUT_S, Runtime
from probes.base import Status
from tests.support.processes import HOST


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An HTTP endpoint that accepts connections and never says a word."""
    server = socket.create_server((HOST, 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://{HOST}:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.timeout(90)
async def test_a_hung_bucket_delays_the_run_by_the_timeout_at_most(
    tmp_path: Path, served: DemoTargetThread, target: TargetState, silent_endpoint: str
) -> None:
    """Two failing runs come back within one EVIDENCE_TIMEOUT_S (+ slack), stored, still
    fail, without links; the artifact prune runs in the background, not in the run."""
    path = tmp_path / "smokewatch.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        defaults: {{retries: 0, timeout: 5s}}
        storage: {{url: 'sqlite:///{tmp_path / "results.db"}'}}
        alert_rules: null
        artifacts:
          backend: s3
          bucket: hung
          endpoint_url: {silent_endpoint}
          region: us-east-1
          access_key_id: moto-test-key
          secret_access_key: moto-test-secret-4f1e
        checks:
          - name: health
            kind: http
            url: ${{TARGET}}/health
            expect: {{status: [201]}}
          - name: health-again
            kind: http
            url: ${{TARGET}}/health
            expect: {{status: [201]}}
        """)
    )
    log = io.StringIO()
    loaded = load_config(path, {"TARGET": served.url})
    async with Runtime(loaded, env={}, log_stream=log) as runtime:
        started = time.monotonic()
        runs = await runtime.run_once()
        took = time.monotonic() - started
        assert runtime.store is not None
        [stored] = await runtime.store.results("health")
    assert [r.status for r in runs] == [Status.FAIL, Status.FAIL]
    assert stored.status is Status.FAIL
    assert [r.links for r in runs] == [(), ()]
    assert EVIDENCE_TIMEOUT_S <= took < EVIDENCE_TIMEOUT_S + 5
    assert "artifact.store_timeout" in log.getvalue()

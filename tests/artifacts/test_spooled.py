"""Evidence of a result that went to the spool waits on disk and is stored with the result
when the spool is replayed: a real run against the demo target, a real SQLite store."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config.loader import load_config
from monitor.runtime.replay import Replayer
from monitor.runtime.runtime import Runtime
from monitor.runtime.spool import Spool
from tests.artifacts.conftest import sides
from tests.spool.test_spool import records


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "smokewatch.yaml"
    path.write_text(
        textwrap.dedent(f"""\
        defaults: {{retries: 0, timeout: 5s}}
        storage: {{url: 'sqlite:///{tmp_path / "results.db"}'}}
        runner: {{artifacts_dir: '{tmp_path / "scratch"}'}}
        alert_rules: null
        checks:
          - name: health
            kind: http
            url: ${{TARGET}}/health
            expect: {{status: [201]}}
        """)
    )
    return path


async def test_spooled_evidence_is_stored_on_replay(
    tmp_path: Path, served: DemoTargetThread, target: TargetState
) -> None:
    """A failing run queued behind the spool keeps response.txt in runner.artifacts_dir;
    the replay stores the result with it as an artifact and deletes the scratch file."""
    spool = Spool(tmp_path / "results.db.spool")
    spool.append(records(1)[0])  # results already wait: the next one queues behind them
    loaded = load_config(write_config(tmp_path), {"TARGET": served.url})
    async with Runtime(loaded, spool=spool, env={}, log_stream=io.StringIO()) as runtime:
        [run] = await runtime.run_once()
        [scratch] = (tmp_path / "scratch").iterdir()
        assert run.result_id is None
        assert spool.pending == 2
        assert "HTTP/1.1 200 OK" in scratch.read_text()

        assert runtime.store is not None
        assert runtime.artifacts is not None
        report = await Replayer(spool, log=runtime.log).replay(
            runtime.store, artifacts=runtime.artifacts
        )

        assert (report.replayed, report.left) == (2, 0)
        [stored] = await runtime.store.results("health")
        assert stored.artifacts == ["response.txt"]
        assert stored.id is not None
        [artifact] = await runtime.artifacts.listing(stored.id)
        body = b"".join([c async for c in await runtime.artifacts.open(artifact)])
        assert artifact.size == len(body)
        assert b"HTTP/1.1 200 OK" in body
        assert not scratch.exists()
        rows, files = await sides(runtime.artifacts)
        assert rows == files == {f"{stored.id}/response.txt"}

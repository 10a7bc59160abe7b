"""Specifications: smokewatch running out of its own resources never fails a target.

With no file descriptor left (``EMFILE``), the socket a probe opens is refused by the
monitor's own kernel limits before a packet leaves: nothing was learnt about the
target.  The result is ``error`` with reason ``resources`` (no alert vote), never a
``fail``/``connect`` that would page someone about a healthy service.  The limit is
real: the test lowers this process's soft ``RLIMIT_NOFILE`` to the descriptors it
has open, runs the checks against the demo target, and puts the limit back.
"""

from __future__ import annotations

import io
import os
import resource
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from examples.demo_target import DemoTargetThread, TargetState
from monitor.config import load_config
from monitor.runtime.runtime import Runtime
from probes.base import Status
from probes.reasons import FailureReason


@contextmanager
def no_file_descriptor_left() -> Iterator[None]:
    """Until the block ends, opening any new file or socket fails with EMFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
    resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, hard))
    fillers: list[int] = []  # the free numbers below the limit, taken
    try:
        while True:
            try:
                fillers.append(os.open(os.devnull, os.O_RDONLY))
            except OSError:
                break
        yield
    finally:
        for fd in fillers:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


CHECKS = """\
- name: api
  kind: http
  url: ${TARGET}/health
- name: port
  kind: tcp
  host: 127.0.0.1
  port: ${PORT}
"""


async def test_out_of_file_descriptors_is_an_error_not_a_failing_target(
    tmp_path: Path, served: DemoTargetThread, target: TargetState
) -> None:
    """http and tcp checks with no descriptor left: error/resources, nothing sent."""
    path = tmp_path / "smokewatch.yaml"
    path.write_text(
        "defaults:\n  retries: 2\n  backoff: {initial: 10ms}\nalert_rules: null\nchecks:\n"
        + textwrap.indent(CHECKS, "  ")
    )
    port = served.url.rsplit(":", 1)[1]
    loaded = load_config(path, env={"TARGET": served.url, "PORT": port})
    async with Runtime(loaded, region="test", use_store=False, log_stream=io.StringIO()) as rt:
        with no_file_descriptor_left():
            runs = await rt.run_once()
        after = await rt.run_once()
    for run in runs:
        assert (run.check, run.status, run.result.reason) == (
            run.check,
            Status.ERROR,
            FailureReason.RESOURCES,
        )
        assert "Too many open files" in run.result.message
        assert run.attempts == 1  # an error is not retried
    assert target.stats.request_count("/health", "GET") == 1  # only the run after
    assert [r.status for r in after] == [Status.PASS, Status.PASS]

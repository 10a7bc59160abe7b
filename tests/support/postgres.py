"""A throwaway PostgreSQL cluster for the test session: real PostgreSQL, no mocks.

``postgres_url`` starts one cluster per session from Debian's ``postgresql``
package (initdb + pg_ctl in a temporary directory, trust auth, fsync off) and
yields ``postgresql://postgres@127.0.0.1:PORT/postgres``.  ``pg_database``
creates a fresh database per test and drops it afterwards.  ``stoppable_postgres``
is a cluster of the test's own that it can stop and start again (a store outage).

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres``
user the Debian package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import free_port

_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_START_ATTEMPTS = 3  # a free port can be taken between choosing it and binding it
_START_TIMEOUT_S = 30


@dataclass(frozen=True, slots=True)
class PostgresCluster:
    """A cluster this module started: where it lives and the port it listens on."""

    bin_dir: Path
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def log_file(self) -> Path:
        return self.root / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def _bin_dir() -> Path:
    """The newest installed PostgreSQL's bin directory; fails the session if there is none."""
    found = [Path(d) for d in glob.glob(_BIN_GLOB) if (Path(d) / "initdb").exists()]
    if not found:
        pytest.fail(
            f"PostgreSQL not found ({_BIN_GLOB}/initdb): install Debian's `postgresql` package "
            "(apt-get install postgresql); the store tests need a real PostgreSQL",
            pytrace=False,
        )
    return max(found, key=lambda d: int(d.parent.name.split(".")[0]))


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _server_user_ids() -> tuple[int, int] | None:
    """Uid and gid to own the cluster's files when we are root, else ``None``."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail(
            "running as root but there is no `postgres` user to run PostgreSQL as: install "
            "Debian's `postgresql` package (apt-get install postgresql)",
            pytrace=False,
        )
    return entry.pw_uid, entry.pw_gid


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # the commands are ours, built from fixed parts
        _as_server_user(command), cwd=cwd, capture_output=True, text=True, check=False
    )


def _init(bin_dir: Path) -> PostgresCluster:
    root = Path(tempfile.mkdtemp(prefix="smokewatch-pg-"))
    cluster = PostgresCluster(bin_dir=bin_dir, root=root, port=0)
    cluster.socket_dir.mkdir()
    ids = _server_user_ids()
    if ids is not None:
        for path in (root, cluster.socket_dir):
            os.chown(path, *ids)
    done = _run(
        [
            str(bin_dir / "initdb"),
            "-D", str(cluster.data_dir),
            "-A", "trust",
            "-U", "postgres",
            "-E", "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        cwd=root,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return cluster


def _pg_ctl_start(running: PostgresCluster) -> str | None:
    """Start ``running`` on its port and wait until it accepts connections; why not, or None."""
    options = (
        f"-p {running.port} -k {running.socket_dir} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    done = _run(
        [
            str(running.bin_dir / "pg_ctl"),
            "-D", str(running.data_dir),
            "-l", str(running.log_file),
            "-o", options,
            "-w", "-t", str(_START_TIMEOUT_S),
            "start",
        ],
        cwd=running.root,
    )  # fmt: skip
    if done.returncode == 0:
        return None
    log = running.log_file.read_text(errors="replace") if running.log_file.exists() else ""
    return f"port {running.port}: {done.stdout}{done.stderr}\n{log[-2000:]}"


def _start(cluster: PostgresCluster) -> PostgresCluster:
    """Start the server on a free port and wait until it accepts connections."""
    failures: list[str] = []
    for _ in range(_START_ATTEMPTS):
        running = PostgresCluster(cluster.bin_dir, cluster.root, free_port())
        failure = _pg_ctl_start(running)
        if failure is None:
            return running
        failures.append(failure)
    shutil.rmtree(cluster.root, ignore_errors=True)
    pytest.fail("pg_ctl start failed:\n" + "\n".join(failures), pytrace=False)


def _stop(cluster: PostgresCluster) -> None:
    _run(
        [str(cluster.bin_dir / "pg_ctl"), "-D", str(cluster.data_dir), "-m", "immediate", "stop"],
        cwd=cluster.root,
    )
    shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """The session's running PostgreSQL cluster (started once, stopped at the end)."""
    cluster = _start(_init(_bin_dir()))
    try:
        yield cluster
    finally:
        _stop(cluster)


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: PostgresCluster) -> str:
    """URL of the session's PostgreSQL: ``postgresql://postgres@127.0.0.1:PORT/postgres``."""
    return postgres_cluster.url


# Ends the sessions holding an advisory lock (a scheduler lease) in one database only:
# the cluster is shared by the whole test session.  ``{database}`` is an SQL expression.
KILL_LEASE_SESSIONS = (
    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = {database})"
)


def psql(cluster: PostgresCluster, sql: str) -> None:
    """Run one SQL statement as the superuser on the cluster's ``postgres`` database."""
    done = subprocess.run(  # fixed arguments; sql holds only names we generated
        [
            str(cluster.bin_dir / "psql"),
            "-X", "-q", "-v", "ON_ERROR_STOP=1",
            "-h", "127.0.0.1", "-p", str(cluster.port),
            "-U", "postgres", "-d", "postgres",
            "-c", sql,
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"psql {sql!r} failed: {done.stderr}", pytrace=False)


@pytest.fixture
def pg_database(postgres_cluster: PostgresCluster) -> Iterator[str]:
    """URL of a fresh, empty database for this test alone; dropped afterwards."""
    name = f"test_{uuid.uuid4().hex}"
    psql(postgres_cluster, f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:{postgres_cluster.port}/{name}"
    finally:
        # FORCE: a test may leave a store's pooled connections open.
        psql(postgres_cluster, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class StoppableCluster:
    """A cluster of one test's own, stopped and started again on the same port (an outage)."""

    def __init__(self, cluster: PostgresCluster) -> None:
        self.cluster = cluster
        self.running = True

    @property
    def url(self) -> str:
        return self.cluster.url

    def stop(self) -> None:
        """Stop the server the way an operator would (``pg_ctl stop -m fast``): sessions end."""
        self._pg_ctl_stop("fast", "-w")

    def stop_smart(self) -> None:
        """Begin a "smart" shutdown and return at once: sessions already open go on, new
        ones are refused with SQLSTATE 57P03 ("the database system is shutting down")
        until the last session ends and the server stops."""
        self._pg_ctl_stop("smart", "-W")

    def _pg_ctl_stop(self, mode: str, wait: str) -> None:
        done = _run(
            [str(self.cluster.bin_dir / "pg_ctl"), "-D", str(self.cluster.data_dir),
             "-m", mode, wait, "stop"],
            cwd=self.cluster.root,
        )  # fmt: skip
        if done.returncode != 0:
            pytest.fail(f"pg_ctl stop failed: {done.stdout}{done.stderr}", pytrace=False)
        self.running = False

    def start(self) -> None:
        """Start it again on the same port (the URL does not change)."""
        failure = _pg_ctl_start(self.cluster)
        if failure is not None:
            pytest.fail(f"pg_ctl start failed:\n{failure}", pytrace=False)
        self.running = True


@pytest.fixture
def stoppable_postgres() -> Iterator[StoppableCluster]:
    """A PostgreSQL cluster for this test alone, which the test may stop and start."""
    cluster = _start(_init(_bin_dir()))
    try:
        yield StoppableCluster(cluster)
    finally:
        _stop(cluster)

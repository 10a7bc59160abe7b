"""The Runtime builds and owns everything a run needs; nothing else is global.

Tests and config reloads get a fresh one.  Use it as an async context manager::

    async with Runtime(loaded, region="eu-west-1") as rt:
        runs = await rt.run_once()
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import ssl
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TextIO

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.registry import Collector

from monitor.alerting.hub import Alerting
from monitor.alerting.notifiers import build_notifiers
from monitor.alerting.region_health import SuspectMarker
from monitor.artifacts.build import build_artifact_store
from monitor.artifacts.ingest import artifact_names, keep_on_disk, store_evidence
from monitor.artifacts.links import ArtifactLink
from monitor.artifacts.store import ArtifactStore
from monitor.config.loader import LoadedConfig
from monitor.config.models import CheckCommon
from monitor.errors import ArtifactError
from monitor.logging import make_logger
from monitor.redact import Redactor
from monitor.runner import CheckRun, Runner, new_run_id
from monitor.runtime.lag_metrics import LagCollector
from monitor.runtime.spool import Spool
from monitor.runtime.spool_metrics import SpoolCollector
from monitor.runtime.writer_metrics import WriterCollector
from monitor.scheduling.budgets import origin_loads
from monitor.scheduling.ratelimit import HostBudget
from monitor.store import ResultRecord, ResultStore, StoreError, database_url
from monitor.store.alerts import AlertStore
from monitor.store.heartbeats import HeartbeatLedger
from monitor.store.writer import ResultWriter
from monitor.telemetry.hub import Telemetry, build_telemetry, run_interval
from monitor.telemetry.scrape import Scrapes
from monitor.version import smokewatch_version
from probes.browser_artifacts import ArtifactStore as ScratchDirectory
from probes.heartbeat import HEARTBEAT_RESOURCE
from probes.http_wire import WireTransport
from probes.lazy import load_pending

if TYPE_CHECKING:
    # Playwright (~0.2 s) loads only for a region with a browser check (_start_browser).
    from probes.browser_pool import BrowserPool


class LiveCollector(Collector, Protocol):
    """A collector whose answer changes outside telemetry (read at scrape time)."""

    def state(self) -> Hashable:
        """Changes whenever what ``collect`` shows changes (the /metrics cache key)."""
        ...


DEFAULT_REGION = "local"
PRUNE_EVERY_S = 600.0
# The longest storing the evidence of one batch of runs may hold up their alerts (a slow
# or hung bucket): past it, runs are stored without their artifacts.
EVIDENCE_TIMEOUT_S = 10.0
# How long closing a Runtime waits for an artifact prune still running.
ARTIFACT_PRUNE_GRACE_S = 30.0


def resolve_region(explicit: str | None, env: Mapping[str, str]) -> str:
    return explicit or env.get("SMOKEWATCH_REGION") or DEFAULT_REGION


def synthetic_headers(loaded: LoadedConfig) -> dict[str, str]:
    """The headers that mark every request as synthetic traffic."""
    runner = loaded.config.runner
    return {
        "User-Agent": runner.user_agent.replace("{version}", smokewatch_version()),
        **runner.headers,
    }


class _NoCookies(httpx.Cookies):
    """The shared client's cookies: none is kept from a response, as the jar's policy
    (``allowed_domains=[]``) decides anyway, without wrapping each response in urllib
    request and email header objects to learn that (~0.1 ms a probe)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _ProbeClient(httpx.AsyncClient):
    """The checks' client: an :class:`httpx.AsyncClient` whose cookies are :class:`_NoCookies`."""

    def __init__(self, *, jar: CookieJar, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _NoCookies(jar)  # what the ``cookies`` property reads


def build_client(tls: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    # One client for every probe: one SSL context, built once.  No keep-alive, so each
    # probe opens a fresh connection and measures DNS, connect and TLS as a new
    # visitor would, and a dead backend behind a stale pooled connection is noticed.
    # No cookies either: a check's cookies must never reach another check (nor the
    # same check's next run).  A flow keeps its own jar for the length of one run.
    # With no pool to keep, httpcore's locks and anyio's task machinery are pure cost:
    # probes.http_wire speaks HTTP/1.1 over a bare asyncio protocol (same trace events,
    # same httpx errors), about a third less CPU per probe.
    return _ProbeClient(
        jar=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        timeout=httpx.Timeout(30.0),
        follow_redirects=False,
        trust_env=False,
        transport=WireTransport(verify=tls if tls is not None else True),
    )


# httpx imports its async backend on the first request, ~100 ms on this class of
# machine: enough to push the first check of a run over a tight degraded budget.
_LAZY_MODULES = ("anyio._backends._asyncio", "httpcore._backends.anyio", "h11", "anyio.streams.tls")


def warm_up() -> None:
    """Import what the first request would, so no check pays for it."""
    for name in _LAZY_MODULES:
        importlib.import_module(name)


class Runtime:
    """Owns the store, the HTTP client, the host budget, the logger and the runner."""

    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        region: str | None = None,
        use_store: bool = True,
        log_stream: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        spool: Spool | None = None,
    ) -> None:
        env = os.environ if env is None else env
        self._env = env
        self.loaded = loaded
        self.config = loaded.config
        self.region = resolve_region(region, env)
        self.redactor = Redactor(loaded.secrets).with_secrets(
            self.config.alerting.channels.secret_values()
        )
        settings = self.config.logging
        self.log: Any = make_logger(
            self.redactor, level=settings.level, fmt=settings.format, stream=log_stream
        )
        self._use_store = use_store
        # The Runtime's own registry (never the global default): /metrics serves it and
        # one-shot runs push it.  Telemetry registers its metrics here.
        self.registry = CollectorRegistry(auto_describe=True)
        # Results the store cannot take go here (serve); without one a store error fails
        # the run, as in ``run --once``.
        self.spool = spool
        self._live: list[LiveCollector] = []  # read at scrape time
        if spool is not None:
            self.watch(SpoolCollector(spool, self.region))
        # /metrics answers, rendered in a thread once per change of the version (or of the
        # live collectors' state); a costly render is bounded (monitor.telemetry.scrape).
        self.scrapes = Scrapes(self.registry, self._metrics_version, state=self._live_state)
        self._pruned_at: float | None = None
        self._artifact_prune: asyncio.Task[None] | None = None
        self.telemetry: Telemetry | None = None
        self.alerting: Alerting | None = None
        self.store: ResultStore | None = None
        self.writer: ResultWriter | None = None
        self.artifacts: ArtifactStore | None = None
        self.client: httpx.AsyncClient | None = None
        self._runner: Runner | None = None
        self.browser_pool: BrowserPool | None = None
        self._recording: set[asyncio.Task[list[CheckRun]]] = set()  # see run_once

    async def __aenter__(self) -> Self:
        load_pending()  # the probes' libraries load now, never inside a check's timings
        # First, so a telemetry setting that cannot work fails before anything is opened.
        self.telemetry = build_telemetry(
            self.config.telemetry,
            registry=self.registry,
            region=self.region,
            env=self._env,
            log=self.log,
            version=smokewatch_version(),
            interval=run_interval(self.config, self._region_checks()),
        )
        if self._use_store:
            self.store = await ResultStore.open(database_url(self.config.storage.url))
            self.writer = ResultWriter(self.store, log=self.log)
            self.writer.start()
            self.watch(WriterCollector(self.writer, self.region))
            try:
                self.artifacts = build_artifact_store(self.config, self.store)
            except ArtifactError:
                await self.store.close()
                raise
            alerting = self.config.alerting
            self.alerting = Alerting(
                self.loaded,
                self.store,
                build_notifiers(alerting.channels, log=self.log),
                settings=alerting,
                log=self.log,
                redactor=self.redactor,
            )
        self._report_budgets()
        warm_up()
        # One verifying context, built once (~150 ms): the client's, and the one the
        # probes that open their own sockets (tcp, tls) use.
        tls = httpx.create_ssl_context(trust_env=False)
        self.client = build_client(tls)
        if any(c.kind == "browser" for c in self._enabled_checks()):
            await self._start_browser()
        self._runner = Runner(
            config=self.config,
            client=self.client,
            gate=HostBudget(self.config.rate_limit),
            redactor=self.redactor,
            region=self.region,
            headers=synthetic_headers(self.loaded),
            log=self.log,
            resources=self._resources(),
            tls=tls,
        )
        self.registry.register(LagCollector(self._runner))
        return self

    async def open(self) -> None:
        """Enter and start alerting, for a holder that outlives one ``async with`` (the
        service); what opened is closed again when entering fails."""
        try:
            await self.__aenter__()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        if self.alerting is not None:
            await self.alerting.start()

    async def close(self) -> None:
        """Close what :meth:`open` opened."""
        await self.__aexit__(None, None, None)

    def scheduled_checks(self) -> list[CheckCommon]:
        """The enabled checks of this region: what the scheduler plans and shards assign."""
        return self.runner.checks_for_region()

    def browser_state(self) -> str | None:
        """``ok`` when Chromium is up for this region's browser checks, ``unavailable`` when
        it could not start, ``None`` when the region has no browser check."""
        if not any(c.kind == "browser" for c in self.scheduled_checks()):
            return None
        pool = self.browser_pool
        return "ok" if pool is not None and pool.launches else "unavailable"

    def watch(self, collector: LiveCollector) -> None:
        """Register a collector read at scrape time; its ``state()`` joins the /metrics
        cache key, so a change it shows is never served stale."""
        self._live.append(collector)
        self.registry.register(collector)

    def _metrics_version(self) -> Hashable:
        """Changes whenever telemetry recorded runs or counted a failure."""
        return None if self.telemetry is None else self.telemetry.ctx.generation

    def _live_state(self) -> Hashable:
        """The state of the collectors read at scrape time: never served stale."""
        return tuple(collector.state() for collector in self._live)

    def _resources(self) -> dict[str, object]:
        """Shared objects probes find by name: the browser pool, the heartbeat ledger."""
        resources: dict[str, object] = {}
        if self.browser_pool is not None:
            from probes.browser_pool import POOL_RESOURCE  # noqa: PLC0415 -- loaded with the pool

            resources[POOL_RESOURCE] = self.browser_pool
        if self.store is not None:
            resources[HEARTBEAT_RESOURCE] = HeartbeatLedger(self.store)
        return resources

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.settle()
        await self._finish_artifact_prune()
        if self.telemetry is not None:
            await self.telemetry.close()
        if self.alerting is not None:
            await self.alerting.stop()
        if self.browser_pool is not None:
            await self.browser_pool.close()
        if self.client is not None:
            await self.client.aclose()
        if self.writer is not None:
            await self.writer.close()
        if self.store is not None:
            await self.store.close()

    def _report_budgets(self) -> None:
        """Tell at load which origins' checks do not fit their request budget (and are paced
        by ``serve``'s scheduler, :mod:`monitor.scheduling.budgets`)."""
        for load in origin_loads(self.config, self._region_checks()):
            if load.overcommitted:
                self.log.warning(
                    "config.over_budget",
                    origin=load.origin,
                    field=load.field,
                    checks=len(load.checks),
                    needed_per_minute=round(load.needed_per_s * 60, 3),
                    allowed_per_minute=round(load.allowed_per_s * 60, 3),
                    stretch=round(load.stretch, 3),
                    detail=load.describe(),
                )
            elif load.paced:
                self.log.info(
                    "config.paced",
                    origin=load.origin,
                    checks=len(load.checks),
                    per_window=load.per_window,
                    detail="more checks than the budget admits at once: runs spread evenly",
                )

    def _enabled_checks(self) -> list[CheckCommon]:
        return [c for c in self.config.checks if c.enabled]

    def _region_checks(self) -> list[CheckCommon]:
        return [c for c in self._enabled_checks() if c.regions is None or self.region in c.regions]

    async def _start_browser(self) -> None:
        """One Chromium shared by every browser check, launched now so no check pays for it."""
        from probes.browser_pool import BrowserError, BrowserPool  # noqa: PLC0415 -- Playwright

        settings = self.config.browser
        self.browser_pool = BrowserPool(
            executable_path=settings.executable_path,
            max_checks=settings.max_checks,
            launch_timeout_s=settings.launch_timeout.total_seconds(),
            artifacts_dir=self.config.runner.artifacts_dir,
            keep_artifacts=settings.keep_artifacts,
        )
        try:
            await self.browser_pool.start()
        except BrowserError as exc:
            # Not fatal: each browser check reports it as an 'error' result with the fix.
            self.log.warning("browser.unavailable", reason=exc.message)

    @property
    def runner(self) -> Runner:
        if self._runner is None:
            raise RuntimeError("Runtime used outside 'async with'")
        return self._runner

    async def run_once(
        self, names: Iterable[str] | None = None, *, run_id: str | None = None
    ) -> list[CheckRun]:
        """Run the region's checks (or those named) once; store, track incidents, export.

        Cancelling it cancels the checks still running.  A check that has finished has a
        verdict: recording it (store or spool, alerts, metrics) goes on if the caller is
        cancelled (``serve``'s stop at the end of ``shutdown_grace``), whether or not the
        other checks of the run had finished, and :meth:`settle` (and closing) waits for it.
        """
        checks = self.runner.checks_for_region(names)
        run_id = run_id or new_run_id()
        if len(checks) == 1:  # a scheduled run: one check, no task and gather around it
            return await self._recorded([await self.runner.run_check(checks[0], run_id=run_id)])
        probes = [asyncio.ensure_future(self.runner.run_check(c, run_id=run_id)) for c in checks]
        try:
            runs = list(await asyncio.gather(*probes))
        except asyncio.CancelledError:
            # gather has cancelled the checks still running and waited for them; those that
            # had finished (even an instant before the cancel) keep their results.
            finished = [
                p.result() for p in probes if p.done() and not p.cancelled() and not p.exception()
            ]
            if finished:
                self._start_recording(finished).add_done_callback(self._recorded_unawaited)
            raise
        return await self._recorded(runs)

    async def _recorded(self, runs: list[CheckRun]) -> list[CheckRun]:
        """Record finished runs; the recording goes on if the caller is cancelled."""
        recording = self._start_recording(runs)
        try:
            return await asyncio.shield(recording)
        except asyncio.CancelledError:
            recording.add_done_callback(self._recorded_unawaited)
            raise

    def _start_recording(self, runs: list[CheckRun]) -> asyncio.Task[list[CheckRun]]:
        recording = asyncio.create_task(self._record(runs), name="smokewatch-record")
        self._recording.add(recording)
        recording.add_done_callback(self._recording.discard)
        return recording

    @property
    def recording(self) -> int:
        """Finished runs whose results are still being recorded."""
        return len(self._recording)

    async def settle(self) -> None:
        """Wait until every finished run's result is recorded (stored or spooled)."""
        while self._recording:
            await asyncio.wait(set(self._recording))

    def _recorded_unawaited(self, task: asyncio.Task[list[CheckRun]]) -> None:
        """Log what recording a cancelled caller's runs raised (no caller is left to)."""
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.log.error("run.record_failed", error=type(exc).__name__, detail=str(exc))

    async def _record(self, runs: list[CheckRun]) -> list[CheckRun]:
        """Store the runs' results (or spool them), then alert, prune and export."""
        if self.store is not None:
            # Before storing: results taken while the region's control checks fail are suspect.
            runs = await SuspectMarker(self.config, AlertStore(self.store)).mark(runs)
        stored = False
        if self.store is not None:
            stored, runs = await self._store(runs)
        if stored:
            # Spooled results are evaluated and pruned after the replay instead.
            if self.alerting is not None:
                await self.alerting.after_runs(runs)
            try:
                await self._prune()
            except StoreError as exc:  # housekeeping: never at the cost of the run's metrics
                self.log.warning("store.prune_failed", reason=str(exc))
        if self.telemetry is not None:
            await self.telemetry.publish(runs)
        return runs

    async def _store(self, runs: list[CheckRun]) -> tuple[bool, list[CheckRun]]:
        """Store each run's result and its evidence; ``False`` when any went to the spool.

        The results go to the writer together (one burst when nothing else is queued) and
        come back in order.  While the spool holds anything, new results queue behind it
        (in spool order, so replay keeps each check's runs in order) without trying the
        store.  Stored runs come back with their result id and artifact links.
        """
        assert self.writer is not None  # noqa: S101 -- run_once only calls this with a store
        submitted: list[asyncio.Future[int] | None] = []
        for run in runs:
            if self.spool is not None and self.spool.pending:
                submitted.append(None)
                continue
            names = artifact_names(run.result.artifacts, run.result.attachments)
            submitted.append(await self.writer.submit(replace(run.to_record(), artifacts=names)))
        stored = True
        out: list[CheckRun] = []
        # One deadline for the evidence of all these runs (see _store_evidence).
        deadline = asyncio.get_running_loop().time() + EVIDENCE_TIMEOUT_S
        for run, pending in zip(runs, submitted, strict=True):
            if pending is None:
                out.append(await self._spool_run(run, reason="results are waiting in the spool"))
                stored = False
                continue
            try:
                result_id = await pending
            except StoreError as exc:
                if self.spool is None:
                    raise
                out.append(await self._spool_run(run, reason=str(exc)))
                stored = False
                continue
            out.append(await self._store_evidence(run, result_id, deadline))
        return stored, out

    async def _spool_run(self, run: CheckRun, *, reason: str) -> CheckRun:
        """Spool a run's result; its evidence waits as files in ``runner.artifacts_dir``,
        their paths in the spooled record, until the replay stores both."""
        run = await self.keep_on_disk(run)
        files = [link.location for link in run.links]
        self._spool(replace(run.to_record(), artifacts=files), reason=reason)
        return run

    async def _store_evidence(self, run: CheckRun, result_id: int, deadline: float) -> CheckRun:
        """Store the run's evidence by ``deadline`` (``EVIDENCE_TIMEOUT_S`` after the batch's
        first): alerts wait for it (their links), so a slow bucket may cost them that much,
        never more."""
        links: tuple[ArtifactLink, ...] = ()
        if self.artifacts is not None and (run.result.artifacts or run.result.attachments):
            try:
                async with asyncio.timeout_at(deadline):
                    links = await store_evidence(
                        self.artifacts,
                        result_id,
                        run.check,
                        files=run.result.artifacts,
                        attachments=run.result.attachments,
                        public_url=self.config.api.public_url,
                        log=self.log,
                    )
            except TimeoutError:
                self.log.warning(
                    "artifact.store_timeout", check=run.check, timeout_s=EVIDENCE_TIMEOUT_S
                )
        return replace(run, result_id=result_id, links=links)

    async def keep_on_disk(self, run: CheckRun) -> CheckRun:
        """Without a store (``smokewatch check``): evidence stays in ``runner.artifacts_dir``."""
        if not (run.result.artifacts or run.result.attachments):
            return run
        scratch = ScratchDirectory(
            self.config.runner.artifacts_dir, keep=max(self.config.browser.keep_artifacts, 1)
        )
        return replace(run, links=await keep_on_disk(scratch, run.check, run.result))

    def _spool(self, record: ResultRecord, *, reason: str) -> None:
        assert self.spool is not None  # noqa: S101 -- _store only calls this with a spool
        if self.spool.append(record):
            self.log.warning(
                "result.spooled",
                check=record.check,
                run_id=record.run_id,
                spooled=self.spool.pending,
                reason=reason,
            )
        else:
            self.log.error(
                "result.dropped",
                check=record.check,
                run_id=record.run_id,
                reason=_not_spooled(self.spool),
                spool=str(self.spool.path),
            )

    async def _prune(self) -> None:
        """Drop results past retention, at most once per ``PRUNE_EVERY_S`` (jobs call this)."""
        now = time.monotonic()
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY_S:
            return
        assert self.store is not None  # noqa: S101 -- run_once only calls this with a store
        # Claimed before the await: runs that finish while it prunes must not prune too (a
        # start-up burst of 1,000 checks began ~1,400 prunes, each a write competing with
        # the result writer).  A failed prune is tried again PRUNE_EVERY_S later.
        self._pruned_at = now
        await self.store.prune(datetime.now(UTC) - self.config.storage.retention)
        busy = self._artifact_prune is not None and not self._artifact_prune.done()
        if self.artifacts is not None and not busy:
            # In the background: a slow bucket must never hold up a run (nor the next one).
            self._artifact_prune = asyncio.create_task(
                self._prune_artifacts(self.artifacts), name="smokewatch-artifact-prune"
            )

    async def _finish_artifact_prune(self) -> None:
        """Let a running artifact prune finish (``run --once`` exits right after its run),
        for ``ARTIFACT_PRUNE_GRACE_S`` at most, then cancel it: the next prune resumes."""
        task = self._artifact_prune
        if task is None or task.done():
            return
        _, pending = await asyncio.wait({task}, timeout=ARTIFACT_PRUNE_GRACE_S)
        if pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.log.warning("artifacts.prune_unfinished", grace_s=ARTIFACT_PRUNE_GRACE_S)

    async def _prune_artifacts(self, artifacts: ArtifactStore) -> None:
        try:
            report = await artifacts.prune()
        except (ArtifactError, StoreError) as exc:
            self.log.warning("artifacts.prune_failed", reason=str(exc))
            return
        if report.expired or report.rows_without_file or report.files_without_row:
            self.log.info(
                "artifacts.pruned",
                expired=report.expired,
                rows_without_file=report.rows_without_file,
                files_without_row=report.files_without_row,
            )


def _not_spooled(spool: Spool) -> str:
    if not spool.owned:
        return "spool owned by another process (or its lock file cannot be created)"
    if spool.pending >= spool.max_results:
        return f"spool full ({spool.max_results} results, storage.spool_max)"
    return "spool file cannot be written"

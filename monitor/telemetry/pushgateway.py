"""Push the Runtime's registry to a Pushgateway at the end of ``run --once``.

``prometheus_client.push_to_gateway`` does a ``PUT`` to
``/metrics/job/<job>/region/<region>``: the whole group is replaced, so a check
removed from the config disappears instead of lingering.  The grouping key is
``job`` + ``region`` and never the pod name: every CronJob run of a region lands in
the same group.  Scrape the Pushgateway with ``honor_labels: true`` so ``job`` and
``region`` stay as pushed.

The push goes through our own handler (the extension point ``push_to_gateway``
offers) for basic auth and TLS (a CA bundle, a client certificate, or no
verification), in a worker thread bounded by ``timeout``.  A failed push is reported
as a :class:`PushOutcome`; it changes the exit code only with ``fail_run_on_error``.
"""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.request import HTTPHandler, HTTPSHandler, ProxyHandler, Request, build_opener

from prometheus_client import push_to_gateway

from monitor.config.telemetry import PushgatewaySettings
from monitor.telemetry.base import ExportContext, Offload, describe

Handler = Callable[[str, str, float | None, list[tuple[str, str]], bytes], Callable[[], None]]


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """How a push went.  ``fails_run``: the CLI should exit 2 (configured and failed)."""

    ok: bool
    duration_s: float
    error: str | None = None
    fails_run: bool = False


def _ssl_context(settings: PushgatewaySettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ca_file)
    if settings.insecure_skip_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if settings.cert_file is not None:
        context.load_cert_chain(certfile=settings.cert_file, keyfile=settings.key_file)
    return context


def make_handler(settings: PushgatewaySettings) -> Handler:
    """A ``push_to_gateway`` handler with basic auth and our TLS settings."""
    context = _ssl_context(settings) if settings.url.startswith("https://") else None
    authorization: str | None = None
    if settings.username is not None and settings.password is not None:
        pair = f"{settings.username}:{settings.password.get_secret_value()}".encode()
        authorization = "Basic " + base64.b64encode(pair).decode("ascii")

    def handler(
        url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
    ) -> Callable[[], None]:
        def send() -> None:
            request = Request(url, data=data, method=method)  # noqa: S310 -- the configured http(s) URL
            for name, value in headers:
                request.add_header(name, value)
            if authorization is not None:
                request.add_header("Authorization", authorization)
            # No proxy from the environment (urllib would read HTTP_PROXY by default).
            transport = HTTPSHandler(context=context) if context else HTTPHandler()
            opener = build_opener(ProxyHandler({}), transport)
            # urllib raises HTTPError for any status >= 400; the body is read and closed here.
            with opener.open(request, timeout=timeout) as response:
                response.read()

        return send

    return handler


class Pusher:
    """Pushes one registry to one Pushgateway group (``job``, ``region``)."""

    name = "pushgateway"

    def __init__(self, settings: PushgatewaySettings, ctx: ExportContext) -> None:
        self._settings = settings
        self._ctx = ctx
        self._handler = make_handler(settings)
        self._offload = Offload(settings.timeout.total_seconds())

    @property
    def grouping_key(self) -> dict[str, str]:
        return {"region": self._ctx.region}

    def _push(self) -> None:
        push_to_gateway(
            self._settings.url,
            job=self._settings.job,
            registry=self._ctx.registry,
            grouping_key=self.grouping_key,
            timeout=self._settings.timeout.total_seconds(),
            handler=self._handler,
        )

    async def push(self) -> PushOutcome:
        """PUT the registry; never raises (a failure is logged, counted and returned)."""
        t0 = time.perf_counter()
        try:
            await self._offload.run(self._push)
        except Exception as exc:  # noqa: BLE001 -- any failure is an outcome, never a crash
            reason = describe(exc)
            self._ctx.failed(self.name, reason)
            return PushOutcome(
                ok=False,
                duration_s=time.perf_counter() - t0,
                error=reason,
                fails_run=self._settings.fail_run_on_error,
            )
        duration = time.perf_counter() - t0
        self._ctx.log.info("telemetry.pushed", exporter=self.name, duration_s=round(duration, 3))
        return PushOutcome(ok=True, duration_s=duration)

"""Specifications of the http probe (probes.http): spec, send, and results."""

from __future__ import annotations

import dataclasses
import io
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from ruamel.yaml import YAML

from monitor.runtime.runtime import build_client
from probes.base import ProbeContext, Status
from probes.http import (
    PROBE,
    HttpProbe,
    HttpSpec,
    InvalidRequestError,
    RequestFailedError,
    RequestTimeoutError,
    _charset,
    parse_retry_after,
    send,
)
from tests.probes.conftest import CERT_DAYS, MARKER_HEADERS, LiveServer

EXAMPLE_YAML = """\
kind: http
url: https://example.com/api/v1/health
method: GET
headers: {Authorization: "Bearer xyz"}
follow_redirects: true
max_body_bytes: 1048576
expect:
  status: [200]
  json:
    - {path: $.status, equals: healthy}
    - {path: $.services, contains: database}
    - {path: $.version, exists: true}
    - {path: $.services.redis, one_of: [healthy, degraded]}
    - {path: $.uptime, gt: 0}
  json_schema: {type: object, required: [status]}
  headers:
    - {name: X-RateLimit-Limit, present: true}
    - {name: Content-Type, matches: "^application/json"}
    - {name: X-Frame-Options, equals: DENY}
  body_matches: "healthy"
  response_time: {degraded_ms: 100, fail_ms: 500}
  tls_days_left: 14
"""


def spec(url: str, **fields: Any) -> HttpSpec:
    return HttpSpec.model_validate({"url": url, **fields})


class RecordingGate:
    """A real RequestGate that admits everything and remembers what it saw."""

    def __init__(self) -> None:
        self.acquired: list[str] = []
        self.observed: list[tuple[str, int]] = []

    async def acquire(self, host: str) -> None:
        self.acquired.append(host)

    def observe(self, host: str, response: httpx.Response) -> None:
        self.observed.append((host, response.status_code))


class TestHttpSpec:
    def test_loads_the_documented_example(self) -> None:
        """The YAML from the docs loads, with header values kept as secrets."""
        loaded = HttpSpec.model_validate(YAML(typ="safe").load(io.StringIO(EXAMPLE_YAML)))
        assert loaded.method == "GET"
        assert isinstance(loaded.headers["Authorization"], SecretStr)
        assert loaded.headers["Authorization"].get_secret_value() == "Bearer xyz"
        assert len(loaded.expect.json_) == 5
        assert loaded.expect.response_time is not None
        assert loaded.expect.response_time.fail_ms == 500
        assert "xyz" not in repr(loaded)
        assert "xyz" not in loaded.model_dump_json()

    def test_has_safe_defaults(self) -> None:
        """GET, follow redirects, a 1 MiB body cap, and any 2xx."""
        loaded = spec("https://example.com/health")
        assert (loaded.kind, loaded.method, loaded.follow_redirects) == ("http", "GET", True)
        assert loaded.max_body_bytes == 1_048_576
        assert loaded.expect.status == ["2xx"]

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"method": "POST"}, "Input should be 'GET' or 'HEAD'"),
            ({"url": "ftp://example.com/"}, "URL scheme should be 'http' or 'https'"),
            ({"url": "not a url"}, "Input should be a valid URL"),
            ({"headers": {"Bad Name": "x"}}, "not a valid HTTP header name"),
            ({"headers": {"X-A": "a\r\nX-B: b"}}, "line break or NUL"),
            ({"url": "http://example.com/", "expect": {"tls_days_left": 14}}, "needs an https://"),
            ({"interval": "5m"}, "Extra inputs are not permitted"),
            ({"max_body_bytes": -1}, "greater than or equal to 0"),
            ({"expect": {"body_matches": "("}}, "invalid regular expression"),
        ],
        ids=[
            "post",
            "ftp",
            "not-a-url",
            "header-name",
            "header-injection",
            "tls-on-http",
            "service-field",
            "negative-cap",
            "bad-regex",
        ],
    )
    def test_rejects_a_bad_check(self, fields: dict[str, Any], message: str) -> None:
        """Only safe, well-formed checks load; the error says what is wrong."""
        with pytest.raises(ValidationError) as caught:
            HttpSpec.model_validate({"url": "https://example.com/", **fields})
        assert message in str(caught.value)


class TestSend:
    async def test_sends_a_secret_header_with_its_real_value(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """A header configured as a secret reaches the server as its real value."""
        check = spec(server.url("/echo"), headers={"Authorization": "Bearer xyz"})
        exchange = await send(ctx, method="GET", url=str(check.url), headers=check.headers)
        assert exchange.json()["headers"]["authorization"] == "Bearer xyz"

    async def test_marks_every_request_as_synthetic(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """The context's marker headers are sent and win over a check's own."""
        exchange = await send(
            ctx, method="GET", url=server.url("/echo"), headers={"user-agent": "mine", "X-B": "b"}
        )
        received = exchange.json()["headers"]
        assert received["x-synthetic-monitor"] == MARKER_HEADERS["X-Synthetic-Monitor"]
        assert received["user-agent"] == MARKER_HEADERS["User-Agent"]
        assert received["x-b"] == "b"

    async def test_sends_secret_json_and_form_values_unwrapped(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """SecretStr inside a JSON body or a form is sent as its real value."""
        as_json = await send(
            ctx, method="POST", url=server.url("/echo"), json_body={"pw": SecretStr("hunter2")}
        )
        as_form = await send(
            ctx, method="POST", url=server.url("/echo"), form={"pw": SecretStr("hunter2")}
        )
        assert as_json.json()["body"] == '{"pw":"hunter2"}'
        assert as_form.json()["body"] == "pw=hunter2"

    async def test_waits_on_the_gate_and_reports_back(
        self, client: httpx.AsyncClient, server: LiveServer
    ) -> None:
        """The origin's gate (scheme://host:port) is acquired first and observes the response."""
        gate = RecordingGate()
        gated = ProbeContext(client=client, gate=gate)
        url = server.url("/status/429")
        await send(gated, method="GET", url=url)
        origin = "http://127.0.0.1:" + str(httpx.URL(url).port)
        assert gate.acquired == [origin]
        assert gate.observed == [(origin, 429)]

    @pytest.mark.parametrize(
        ("size", "cap", "length", "truncated"),
        [
            (300_000, 100_000, 100_000, True),
            (300_000, 300_000, 300_000, False),
            (10, 1_000, 10, False),
            (10, 0, 0, True),
        ],
        ids=["over-cap", "exactly-cap", "under-cap", "zero-cap"],
    )
    async def test_caps_the_body(
        self,
        ctx: ProbeContext,
        server: LiveServer,
        size: int,
        cap: int,
        length: int,
        truncated: bool,
    ) -> None:
        """Reading stops at max_body_bytes and says whether more was coming."""
        exchange = await send(
            ctx, method="GET", url=server.url(f"/large/{size}"), max_body_bytes=cap
        )
        assert (len(exchange.body), exchange.truncated) == (length, truncated)

    async def test_head_reads_no_body(self, ctx: ProbeContext, server: LiveServer) -> None:
        """HEAD gets the status and headers and no body."""
        exchange = await send(ctx, method="HEAD", url=server.url("/health"))
        assert exchange.status_code == 200
        assert exchange.headers["content-type"] == "application/json"
        assert exchange.body == b""

    @pytest.mark.parametrize(
        ("follow", "status", "final_path"),
        [(True, 200, "/health"), (False, 302, "/redirect")],
        ids=["follow", "stay"],
    )
    async def test_redirects(
        self, ctx: ProbeContext, server: LiveServer, follow: bool, status: int, final_path: str
    ) -> None:
        """Redirects are followed only when asked; the final URL is recorded."""
        exchange = await send(
            ctx, method="GET", url=server.url("/redirect"), follow_redirects=follow
        )
        assert (exchange.status_code, exchange.url) == (status, server.url(final_path))

    async def test_too_many_redirects_is_a_lasting_failure(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """A redirect loop fails and a retry would not help."""
        with pytest.raises(RequestFailedError) as caught:
            await send(ctx, method="GET", url=server.url("/loop"))
        assert (caught.value.message, caught.value.transient) == ("too many redirects", False)

    async def test_connection_refused(self, ctx: ProbeContext, closed_port: int) -> None:
        """Nothing listening is a transient 'connection refused'."""
        with pytest.raises(RequestFailedError) as caught:
            await send(ctx, method="GET", url=f"http://127.0.0.1:{closed_port}/")
        assert (caught.value.message, caught.value.transient) == ("connection refused", True)
        assert isinstance(caught.value.__cause__, httpx.ConnectError)

    async def test_times_out(self, ctx: ProbeContext, server: LiveServer) -> None:
        """A response slower than the timeout is a transient timeout, timed."""
        with pytest.raises(RequestTimeoutError) as caught:
            await send(ctx, method="GET", url=server.url("/delay/1000"), timeout_s=0.2)
        assert caught.value.message == "timed out after 0.2 s (waiting for the response)"
        assert caught.value.transient is True
        assert 190 <= caught.value.timings["total"] < 900

    @pytest.mark.parametrize(
        ("url", "headers", "message"),
        [
            ("ftp://example.com/", {}, "not an http(s) URL"),
            ("not a url", {}, "not an http(s) URL"),
            ("http://[::1/", {}, "invalid request: Invalid port"),
            ("/health", {"X-A": "a\nb"}, "invalid request: Illegal header value"),
            ("/health", {"X-A": "caf\u00e9"}, "invalid request: 'ascii' codec"),
        ],
        ids=["ftp", "not-a-url", "bad-port", "bad-header-value", "non-ascii-header"],
    )
    async def test_rejects_a_bad_request(
        self, ctx: ProbeContext, server: LiveServer, url: str, headers: dict[str, str], message: str
    ) -> None:
        """A request that cannot be sent is an InvalidRequestError, not a target failure."""
        target = server.url(url) if url.startswith("/") else url
        with pytest.raises(InvalidRequestError) as caught:
            await send(ctx, method="GET", url=target, headers=headers)
        assert caught.value.message.startswith(message)

    async def test_an_untrusted_certificate_is_a_lasting_failure(
        self, tls_server: LiveServer
    ) -> None:
        """A certificate the client does not trust fails, and a retry would not help."""
        async with httpx.AsyncClient(trust_env=False) as default_trust:
            with pytest.raises(RequestFailedError) as caught:
                await send(
                    ProbeContext(client=default_trust), method="GET", url=tls_server.url("/health")
                )
        assert caught.value.message.startswith("TLS certificate not trusted")
        assert caught.value.transient is False


class TestParseRetryAfter:
    NOW = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("7", 7.0),
            (" 120 ", 120.0),
            ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
            ("Wed, 21 Oct 2015 07:00:00 GMT", 0.0),
            ("soon", None),
            ("-5", None),
            ("", None),
            (None, None),
        ],
        ids=["seconds", "padded", "http-date", "past-date", "garbage", "negative", "empty", "none"],
    )
    def test_reads_seconds_or_a_date(self, value: str | None, seconds: float | None) -> None:
        """Retry-After is delay-seconds or an HTTP date; anything else is ignored."""
        assert parse_retry_after(value, now=self.NOW) == seconds


class TestHttpProbe:
    def test_is_registered_as_an_immutable_http_probe(self) -> None:
        """PROBE is the http kind with its spec model, and cannot be changed."""
        assert (PROBE.kind, PROBE.spec_model) == ("http", HttpSpec)
        assert isinstance(PROBE, HttpProbe)
        with pytest.raises(AttributeError):
            PROBE.kind = "other"  # type: ignore[misc]  # the point: the instance is read-only

    async def test_a_healthy_target_passes_every_assertion(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """Every assertion kind passing gives pass, with timings and details."""
        check = spec(
            server.url("/headers"),
            expect={
                "status": [200],
                "json": [{"path": "$.status", "equals": "healthy"}],
                "json_schema": {"type": "object", "required": ["status"]},
                "headers": [
                    {"name": "X-RateLimit-Limit", "present": True},
                    {"name": "Content-Type", "matches": "^application/json"},
                    {"name": "X-Frame-Options", "equals": "DENY"},
                ],
                "body_matches": "healthy",
                "response_time": {"degraded_ms": 1000, "fail_ms": 2000},
            },
        )
        result = await PROBE.run(check, ctx)
        assert (result.status, result.message) == (Status.PASS, "ok")
        assert len(result.assertions) == 8
        assert result.details == {
            "status_code": 200,
            "http_version": "HTTP/1.1",
            "bytes": len(b'{"status":"healthy"}'),
            "truncated": False,
            "url": server.url("/headers"),
        }
        assert {"connect", "tls", "request", "first_byte", "transfer", "total"} <= set(
            result.timings
        )

    @pytest.mark.parametrize(
        ("path", "expect", "status", "transient", "message"),
        [
            ("/status/500", {}, Status.FAIL, True, "status: expected 2xx, got 500"),
            ("/status/503", {}, Status.FAIL, True, "status: expected 2xx, got 503"),
            ("/status/404", {}, Status.FAIL, False, "status: expected 2xx, got 404"),
            ("/status/503", {"status": [503]}, Status.PASS, False, "ok"),
            (
                "/health",
                {"json": [{"path": "$.status", "equals": "degraded"}]},
                Status.FAIL,
                False,
                "json $.status: expected equals 'degraded', got 'healthy'",
            ),
            (
                "/delay/150",
                {"response_time": {"degraded_ms": 50, "fail_ms": 2000}},
                Status.DEGRADED,
                False,
                "response time: expected <= 50 ms, got",
            ),
            (
                "/delay/150",
                {"response_time": {"fail_ms": 50}},
                Status.FAIL,
                False,
                "response time: expected <= 50 ms, got",
            ),
            (
                "/large/2000",
                {"json": [{"path": "$.a", "exists": True}]},
                Status.FAIL,
                False,
                "json body: expected valid JSON, got invalid JSON (truncated at 1000 bytes)",
            ),
        ],
        ids=[
            "500",
            "503",
            "404",
            "expected-503",
            "json-mismatch",
            "slow-degraded",
            "slow-fail",
            "truncated-json",
        ],
    )
    async def test_maps_responses_to_statuses(
        self,
        ctx: ProbeContext,
        server: LiveServer,
        path: str,
        expect: dict[str, Any],
        status: Status,
        transient: bool,
        message: str,
    ) -> None:
        """5xx fails transiently, assertion failures fail for good, slowness degrades."""
        check = spec(server.url(path), expect=expect, max_body_bytes=1000)
        result = await PROBE.run(check, ctx)
        assert (result.status, result.transient) == (status, transient)
        assert result.message.startswith(message)

    @pytest.mark.parametrize("as_date", [False, True], ids=["seconds", "http-date"])
    async def test_429_fails_transiently_with_retry_after(
        self, ctx: ProbeContext, server: LiveServer, as_date: bool
    ) -> None:
        """A 429 is a transient failure that says how long to wait."""
        when = datetime.now(UTC) + timedelta(seconds=31)
        retry_after = format_datetime(when, usegmt=True) if as_date else "30"
        result = await PROBE.run(spec(server.url(f"/status/429?retry_after={retry_after}")), ctx)
        assert (result.status, result.transient) == (Status.FAIL, True)
        assert result.retry_after_s == pytest.approx(30, abs=2)

    async def test_connection_refused_fails_transiently(
        self, ctx: ProbeContext, closed_port: int
    ) -> None:
        """Nothing listening: fail, transient, 'connection refused'."""
        result = await PROBE.run(spec(f"http://127.0.0.1:{closed_port}/"), ctx)
        assert (result.status, result.transient, result.message) == (
            Status.FAIL,
            True,
            "connection refused",
        )

    async def test_a_timeout_fails_transiently(
        self, client: httpx.AsyncClient, server: LiveServer
    ) -> None:
        """A response slower than the deadline: fail, transient, 'timed out after'."""
        short = ProbeContext(client=client, deadline_s=0.2)
        result = await PROBE.run(spec(server.url("/delay/1000")), short)
        assert (result.status, result.transient) == (Status.FAIL, True)
        assert result.message.startswith("timed out after 0.2 s")

    async def test_an_unsendable_check_is_an_error(self, ctx: ProbeContext) -> None:
        """A URL that cannot be requested is the probe's error, not the target's failure."""
        check = HttpSpec.model_construct(url="ftp://example.com/")  # type: ignore[arg-type]  # skips validation on purpose
        result = await PROBE.run(check, ctx)
        assert result.status is Status.ERROR
        assert result.message == "not an http(s) URL: 'ftp://example.com/'"

    async def test_head_check(self, ctx: ProbeContext, server: LiveServer) -> None:
        """A HEAD check passes on a 200 with no body."""
        result = await PROBE.run(spec(server.url("/health"), method="HEAD"), ctx)
        assert result.status is Status.PASS
        assert result.details["bytes"] == 0

    @pytest.mark.parametrize(
        ("threshold", "status"),
        [(CERT_DAYS - 3, Status.PASS), (CERT_DAYS + 4, Status.FAIL)],
        ids=["enough-days", "too-few-days"],
    )
    async def test_checks_tls_days_left(
        self, ctx: ProbeContext, tls_server: LiveServer, threshold: int, status: Status
    ) -> None:
        """The server certificate's days left are recorded and checked against the threshold."""
        check = spec(tls_server.url("/health"), expect={"tls_days_left": threshold})
        result = await PROBE.run(check, ctx)
        assert result.status is status
        assert result.details["tls_days_left"] == pytest.approx(CERT_DAYS, abs=0.1)
        if status is Status.FAIL:
            assert result.message == (
                f"tls certificate: expected >= {threshold} days left, got {CERT_DAYS:.1f} days left"
            )

    async def test_the_certificates_expiry_is_recorded_as_a_unix_time(
        self, ctx: ProbeContext, tls_server: LiveServer, server: LiveServer
    ) -> None:
        """https: details.tls_not_after is the certificate's notAfter; plain http has none."""
        secure = await PROBE.run(spec(tls_server.url("/health")), ctx)
        plain = await PROBE.run(spec(server.url("/health")), ctx)
        expected = time.time() + CERT_DAYS * 86400
        assert secure.details["tls_not_after"] == pytest.approx(expected, abs=120)
        assert isinstance(secure.details["tls_not_after"], float)
        assert "tls_not_after" not in plain.details

    async def test_secrets_and_bodies_stay_out_of_the_result(
        self, ctx: ProbeContext, server: LiveServer
    ) -> None:
        """Neither a secret header nor the response's cookie shows up in the result; the body
        only in the failure's response excerpt, which has neither secret either."""
        check = spec(
            server.url("/headers"),
            headers={"Authorization": "Bearer top-secret-token"},
            expect={
                "status": [201],
                "headers": [{"name": "Set-Cookie", "equals": "nope"}],
                "body_matches": "nope",
            },
        )
        result = await PROBE.run(check, ctx)
        [excerpt] = result.attachments
        shown = repr(dataclasses.replace(result, attachments=[]))
        assert result.status is Status.FAIL
        assert "top-secret-token" not in shown
        assert "s3cr3t-session-token" not in shown
        assert '"status"' not in shown
        text = excerpt.data.decode()
        assert "top-secret-token" not in text
        assert "s3cr3t-session-token" not in text
        assert '"status"' in text


class TestSharedClientCost:
    async def test_a_response_cookie_stays_out_of_the_shared_client(
        self, server: LiveServer
    ) -> None:
        """A Set-Cookie answered to an http check is never kept by the runtime's shared client."""
        async with build_client() as client:
            ctx = ProbeContext(client=client, headers=MARKER_HEADERS, deadline_s=5.0)
            result = await PROBE.run(spec(server.url("/headers")), ctx)
            echoed = await send(ctx, method="GET", url=server.url("/echo"))
        assert result.status is Status.PASS, result.message
        assert not client.cookies
        assert "cookie" not in echoed.json()["headers"]

    @pytest.mark.parametrize(
        "content_type",
        [
            None,
            "application/json",
            "text/plain; charset=utf-8",
            "text/html; charset=ISO-8859-1",
            'text/plain; CHARSET="windows-1252"',
            "text/plain; format=flowed",
            "text/plain; charset*=utf-8''latin-1",
        ],
        ids=["none", "no-charset", "utf-8", "latin-1", "quoted-upper", "other-param", "rfc2231"],
    )
    def test_the_charset_read_is_httpx_own(self, content_type: str | None) -> None:
        """The body's charset is what httpx reads from Content-Type, utf-8 when it names none."""
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = httpx.Response(200, headers=headers)
        assert _charset(response) == (response.charset_encoding or "utf-8")

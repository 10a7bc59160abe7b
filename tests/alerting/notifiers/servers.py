"""Real loopback servers the notifier tests deliver to: HTTP (scripted answers) and SMTP.

The HTTP server stands in for Slack (incoming webhooks and the Web API's
``chat.postMessage``), PagerDuty's Events API and Alertmanager-style webhook receivers:
it records every request and answers from a script (status, headers, body, or hang).
The SMTP server is aiosmtpd on 127.0.0.1, in the test's own event loop: plain,
STARTTLS or implicit TLS, with optional AUTH restricted to one mechanism.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import http.server
import json
import socket
import ssl
import threading
import warnings
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

HOST = "127.0.0.1"


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with closing(socket.socket()) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


# --- HTTP -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One scripted answer; ``hang`` holds the request open until the server stops."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> Reply:
        return cls(
            status, json.dumps(data).encode(), {"Content-Type": "application/json", **headers}
        )


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpServer:
    """Records requests; answers with the next scripted :class:`Reply`, else ``default``."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.replies: deque[Reply] = deque()
        self.received: list[Received] = []
        self.release = threading.Event()
        self.echo_body = False  # answer with the request body (to prove errors are redacted)
        self._server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://{HOST}:{self._server.server_port}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _next(self) -> Reply:
        return self.replies.popleft() if self.replies else self.default

    @contextmanager
    def running(self) -> Iterator[HttpServer]:
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorder.received.append(Received("POST", self.path, headers, body))
                reply = recorder._next()
                if reply.hang:
                    recorder.release.wait(10)
                    return
                out = body if recorder.echo_body else reply.body
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up: what the timeout tests want

            def log_message(self, format: str, *args: Any) -> None:
                return None

        server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.start()
        self._server = server
        try:
            yield self
        finally:
            self.release.set()
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


# --- SMTP -----------------------------------------------------------------------------

Security = Literal["none", "starttls", "tls"]


@dataclass
class Delivered:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    tls: bool
    login: str | None
    mechanism: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


@dataclass
class MailHandler:
    """aiosmtpd handler: keeps messages; can refuse recipients with a given reply."""

    delivered: list[Delivered] = field(default_factory=list)
    refuse_rcpt: str | None = None  # e.g. "550 5.1.1 no such user"
    users: dict[str, str] = field(default_factory=dict)
    auth: dict[int, tuple[str, str]] = field(default_factory=dict)  # session id -> (login, mech)

    async def handle_RCPT(  # noqa: N802 -- aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 -- aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        login, mechanism = self.auth.get(id(session), (None, None))
        transport = server.transport
        self.delivered.append(
            Delivered(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                content=cast(bytes, envelope.original_content or envelope.content),
                tls=session.ssl is not None
                or (transport is not None and transport.get_extra_info("ssl_object") is not None),
                login=login,
                mechanism=mechanism,
            )
        )
        return "250 2.0.0 queued"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        if self.users.get(login) != password:
            return AuthResult(success=False, handled=False)
        self.auth[id(session)] = (login, mechanism)
        return AuthResult(success=True)


@dataclass
class SmtpServer:
    handler: MailHandler
    port: int


@asynccontextmanager
async def smtp_server(
    security: Security,
    *,
    server_tls: ssl.SSLContext | None = None,
    mechanism: str | None = None,
    users: dict[str, str] | None = None,
    offer_starttls: bool = True,
) -> AsyncIterator[SmtpServer]:
    """aiosmtpd on a free loopback port in the running loop.

    ``mechanism`` (LOGIN or PLAIN): require AUTH and offer only that mechanism.
    ``offer_starttls=False`` with security starttls: a server without the extension.
    """
    handler = MailHandler(users=dict(users or {}))
    others = {"LOGIN", "PLAIN"} - {mechanism} if mechanism else set()

    def factory() -> SMTP:
        with warnings.catch_warnings():
            # Implicit TLS is TLS, but aiosmtpd only knows about STARTTLS: it would refuse
            # AUTH unless told TLS is not required, and warns when told so.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return SMTP(
                handler,
                hostname="mail.test",
                tls_context=server_tls if security == "starttls" and offer_starttls else None,
                require_starttls=security == "starttls" and offer_starttls,
                authenticator=handler.authenticate if mechanism else None,
                auth_required=mechanism is not None,
                auth_require_tls=security != "tls",
                auth_exclude_mechanism=others,
            )

    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        factory, HOST, 0, ssl=server_tls if security == "tls" else None
    )
    port = server.sockets[0].getsockname()[1]
    try:
        yield SmtpServer(handler, port)
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def silent_server() -> AsyncIterator[int]:
    """Accepts TCP connections and never says a word (an SMTP server that hangs)."""
    release = asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()
        writer.close()

    server = await asyncio.start_server(hold, HOST, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        release.set()
        server.close()
        await server.wait_closed()

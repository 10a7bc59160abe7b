"""Bind the listening socket: its own module so the CLI can test a port before loading
anything else (a busy port fails at once, before a config load or a check)."""

from __future__ import annotations

import errno
import socket

from monitor.errors import MonitorError


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (not yet listening); ``MonitorError`` naming the port."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise MonitorError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        reason = "the port is already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
        raise MonitorError(f"cannot listen on {host}:{port}: {reason}") from None
    return sock

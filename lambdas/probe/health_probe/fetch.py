"""One bounded HTTP GET: total time limit, at most N body bytes, no redirects, TLS verified."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

USER_AGENT = "rudder-ha-health-probe/1.0"
_CHUNK = 8192


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP response: status, lower-cased headers, the first ``max_bytes`` of the body."""

    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    latency_ms: float


@dataclass(frozen=True)
class NoAnswer:
    """No HTTP response arrived; ``kind`` is a short category such as ``timeout``."""

    kind: str
    latency_ms: float
    detail: str = field(default="")


def _categorize(exc: BaseException) -> str:
    """Map a transport exception to a category."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ssl.SSLError):
        return "tls_error"
    if isinstance(exc, socket.gaierror):
        return "dns_error"
    if isinstance(exc, http.client.HTTPException):
        return "protocol_error"
    return "connection_error"


def _connection(url: str, timeout: float, context: ssl.SSLContext) -> tuple[http.client.HTTPConnection, str]:
    """Open (lazily) a connection for ``url`` and return it with the request target."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        return http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=context), target
    return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout), target


def _read_capped(
    response: http.client.HTTPResponse,
    sock: socket.socket | None,
    max_bytes: int,
    deadline: float,
    clock: Callable[[], float],
) -> tuple[bytes, bool]:
    """Read at most ``max_bytes`` (+1 to detect more) before ``deadline``; True when truncated."""
    body = bytearray()
    while len(body) <= max_bytes:
        remaining = deadline - clock()
        if remaining <= 0:
            raise TimeoutError("body not received in time")
        if sock is not None:
            sock.settimeout(remaining)
        chunk = response.read1(min(_CHUNK, max_bytes + 1 - len(body)))
        if not chunk:
            return bytes(body), False
        body.extend(chunk)
    return bytes(body[:max_bytes]), True


def get(
    url: str,
    timeout: float,
    max_bytes: int,
    context: ssl.SSLContext,
    clock: Callable[[], float] = time.monotonic,
) -> HttpAnswer | NoAnswer:
    """GET ``url`` within ``timeout`` seconds in total; never raises for network or HTTP trouble."""
    started = clock()
    deadline = started + timeout
    connection, target = _connection(url, timeout, context)
    try:
        connection.request("GET", target, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
        sock = connection.sock  # getresponse() may drop the connection's reference to it
        if sock is not None:
            sock.settimeout(max(deadline - clock(), 0.001))
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        body, truncated = _read_capped(response, sock, max_bytes, deadline, clock)
        return HttpAnswer(response.status, headers, body, truncated, (clock() - started) * 1000.0)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return NoAnswer(_categorize(exc), (clock() - started) * 1000.0, type(exc).__name__)
    finally:
        connection.close()

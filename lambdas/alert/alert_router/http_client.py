"""Minimal JSON-over-HTTPS POST on a plain socket: TLS verified, allowlisted hosts only, no redirects, no
proxies, bounded reads, and one end time for the whole request.

Why not urllib: its timeout applies to each socket operation, so a server that trickles a byte now and
then keeps a request alive indefinitely (one byte every 0.5 s held a 1 s-timeout request past 15 s).
Here the connect, the TLS handshake, the send and every read get only the time left until the request's
end, so ``timeout`` bounds the whole request, body included (the name lookup is the system resolver's, with
its own timeouts).

Receiver URLs are checked before anything is sent (:func:`check_url`): ``https://`` only, port 443, the
host on the receiver's allowlist, no credentials before the host. Loopback and link-local hosts
(``localhost``, ``127.0.0.0/8``, ``::1``, ``0.0.0.0``, ``169.254.0.0/16``: the Lambda Runtime API listens on
loopback) and plain ``http://`` are refused unless the caller passes ``allow_loopback=True``, which only
tests do (see ``config.py``); even then plain ``http://`` goes to loopback only. The addresses a host
name resolves to are checked too, so a name pointing at loopback or link-local addresses is refused
before connecting.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 4096
"""Body bytes kept from an answer (for the logs); the rest is not read."""
MAX_HEADER_BYTES = 16 * 1024
"""An answer whose status line and headers are longer is malformed."""
USER_AGENT = "rudder-ha-alert-router/1.0"
HTTPS_PORT = 443
_READ_CHUNK = 4096


class TransportError(Exception):
    """No usable HTTP answer arrived (timeout, refused connection, TLS failure...); always retryable.

    The message is a short category, never the URL (which may embed a secret).
    """


class InvalidUrlError(ValueError):
    """A receiver URL refused before anything is sent; the message says why and names at most the host."""


@dataclass(frozen=True)
class HttpResponse:
    """Status, lower-cased headers and the first bytes of the body of one answer."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """Where a checked URL points."""

    scheme: str
    host: str
    port: int
    path: str
    loopback: bool

    @property
    def host_header(self) -> str:
        """The ``Host`` header value."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = HTTPS_PORT if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address (None for a name)."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _local_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, unspecified (``0.0.0.0`` reaches the host itself) or link-local (instance metadata)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified or address.is_link_local


def is_local_host(host: str) -> bool:
    """Whether ``host`` is ``localhost`` (or ``*.localhost``), or a loopback, unspecified or link-local address."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _address(name)
    return address is not None and _local_address(address)


def check_url(url: str, allowed_hosts: Collection[str] | None = None, *, allow_loopback: bool = False) -> Target:
    """Where ``url`` points, or :class:`InvalidUrlError` saying why it is refused.

    ``allowed_hosts``: the receiver's allowlist (None: any host, for callers that checked already).
    ``allow_loopback``: tests only; loopback hosts (any port, ``http`` or ``https``) are then accepted.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidUrlError("receiver URL is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise InvalidUrlError("receiver URL must be an absolute https URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidUrlError("receiver URL must not carry credentials before the host")
    host = parts.hostname.rstrip(".").lower()
    loopback = is_local_host(host)
    if loopback and not allow_loopback:
        raise InvalidUrlError(
            f"receiver host {host} is a loopback or link-local address (the Lambda Runtime API listens on loopback)"
        )
    if not loopback:
        if scheme != "https":
            raise InvalidUrlError("receiver URL must use https")
        if allowed_hosts is not None and host not in allowed_hosts:
            raise InvalidUrlError(f"receiver host {host} is not on this receiver's allowlist")
        if port not in (None, HTTPS_PORT):
            raise InvalidUrlError("receiver URL must use port 443")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port or (HTTPS_PORT if scheme == "https" else 80), path, loopback)


class _Clock:
    """The request's end time; every socket operation gets only the time left."""

    def __init__(self, timeout: float, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._end = monotonic() + timeout

    def left(self) -> float:
        """Seconds left; :class:`TimeoutError` once none is."""
        left = self._end - self._monotonic()
        if left <= 0:
            raise TimeoutError("request deadline reached")
        return left


def _connect(target: Target, clock: _Clock, allow_loopback: bool) -> socket.socket:
    """Resolve, check every address, connect to the first that answers."""
    infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    if not allow_loopback:
        for *_, sockaddr in infos:
            address = _address(str(sockaddr[0]))
            if address is not None and _local_address(address):
                raise InvalidUrlError(f"receiver host {target.host} resolves to a loopback or link-local address")
    last_error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(clock.left())
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            last_error = exc
            continue
        return sock
    raise last_error or OSError("host has no address")


def _recv(sock: socket.socket, clock: _Clock) -> bytes:
    """One read, waiting at most until the request's end."""
    sock.settimeout(clock.left())
    return sock.recv(_READ_CHUNK)


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """Status code and lower-cased headers of a status line plus header block."""
    lines = head.decode("latin-1").split("\r\n")
    fields = lines[0].split(" ", 2)
    if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
        raise TransportError("malformed response")
    status = int(fields[1])
    if not 100 <= status <= 599:
        raise TransportError("malformed response")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip().lower()] = value.strip()
    return status, headers


def _dechunk(raw: bytes) -> tuple[bytes, bool]:
    """Decode what arrived of a chunked body: (data so far, whether the last chunk arrived)."""
    data, position = bytearray(), 0
    while True:
        line_end = raw.find(b"\r\n", position)
        if line_end < 0:
            return bytes(data), False
        try:
            size = int(raw[position:line_end].split(b";", 1)[0].strip() or b"x", 16)
        except ValueError:
            return bytes(data), True  # malformed: keep what was decoded
        if size == 0:
            return bytes(data), True
        start = line_end + 2
        data += raw[start : start + size]
        if len(raw) < start + size + 2:
            return bytes(data), False
        position = start + size + 2


def _read_response(sock: socket.socket, clock: _Clock) -> HttpResponse:
    """Read the status and headers (all of them, by the end time), then up to :data:`MAX_RESPONSE_BYTES` of
    the body: a body still arriving at the end time is cut there (the status is the answer)."""
    buffer = b""
    while True:
        while b"\r\n\r\n" not in buffer:
            if len(buffer) > MAX_HEADER_BYTES:
                raise TransportError("malformed response")
            chunk = _recv(sock, clock)
            if not chunk:
                raise TransportError("connection closed before the response")
            buffer += chunk
        head, _, buffer = buffer.partition(b"\r\n\r\n")
        status, headers = _parse_head(head)
        if status >= 200:
            break  # 1xx: interim answers, the real one follows
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    try:
        length = int(headers["content-length"]) if "content-length" in headers and not chunked else None
    except ValueError:
        length = None
    wanted = MAX_RESPONSE_BYTES if length is None else min(length, MAX_RESPONSE_BYTES)
    raw = buffer
    while True:
        body, complete = _dechunk(raw) if chunked else (raw[:wanted], len(raw) >= wanted)
        if complete or len(body) >= MAX_RESPONSE_BYTES or status in (204, 304):
            break
        try:
            chunk = _recv(sock, clock)
        except (TimeoutError, OSError):
            break  # the answer is known; its body is only for the logs
        if not chunk:
            break
        raw += chunk
    text = body[:MAX_RESPONSE_BYTES].decode("utf-8", "replace")
    return HttpResponse(status, text, headers)


def _describe(exc: BaseException) -> str:
    """Categorize a transport failure without echoing its message."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls error"
    return f"connection error ({type(exc).__name__})"


_DEFAULT_TLS: ssl.SSLContext | None = None


def _default_tls() -> ssl.SSLContext:
    """The system trust store, hostname checked (created once per container)."""
    global _DEFAULT_TLS
    if _DEFAULT_TLS is None:
        _DEFAULT_TLS = ssl.create_default_context()
    return _DEFAULT_TLS


def post_json(
    url: str,
    payload: dict[str, Any],
    timeout: float,
    *,
    allowed_hosts: Collection[str] | None = None,
    allow_loopback: bool = False,
    tls: ssl.SSLContext | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> HttpResponse:
    """POST ``payload`` as JSON within ``timeout`` seconds in all; return any HTTP answer.

    Raises :class:`InvalidUrlError` (refused, nothing sent) or :class:`TransportError` (no answer in time).
    """
    target = check_url(url, allowed_hosts, allow_loopback=allow_loopback)
    body = json.dumps(payload).encode("utf-8")
    request = (
        f"POST {target.path} HTTP/1.1\r\n"
        f"Host: {target.host_header}\r\n"
        f"User-Agent: {USER_AGENT}\r\n"
        "Content-Type: application/json\r\n"
        "Accept: */*\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("latin-1") + body
    clock = _Clock(timeout, monotonic)
    sock: socket.socket | None = None
    try:
        sock = _connect(target, clock, allow_loopback)
        if target.scheme == "https":
            sock.settimeout(clock.left())  # the handshake as a whole waits at most this long
            sock = (tls or _default_tls()).wrap_socket(sock, server_hostname=target.host)
        sock.settimeout(clock.left())
        sock.sendall(request)
        return _read_response(sock, clock)
    except (InvalidUrlError, TransportError):
        raise
    except (OSError, ValueError) as exc:
        raise TransportError(_describe(exc)) from None
    finally:
        if sock is not None:
            sock.close()

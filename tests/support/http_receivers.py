"""Real HTTP servers on 127.0.0.1 standing in for PagerDuty, Splunk On-Call, Slack and /health.

Each :class:`LocalReceiver` listens on an ephemeral loopback port, records every request and
answers from a script of :class:`Reply` objects (then from a default reply), so a test can make
it answer 500, 429, hang past the client's timeout, or trickle its answer one byte at a time (a
slow-read attack on the client) on demand. Only loopback addresses are used.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"
_MAX_HANG_SECONDS = 10.0
_MAX_TRICKLE_SECONDS = 120.0


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class Reply:
    """How to answer one request.

    ``delay`` holds the answer back that many seconds (cut short when the server closes), which
    makes the client time out when it exceeds the client's timeout. No ``Server`` header is sent
    unless ``headers`` names one (rudder-server, written in Go, sends none).

    ``trickle`` > 0 sends the answer one byte every ``trickle_interval`` seconds for ``trickle``
    seconds (until the client hangs up or the server closes): in the status line and headers
    (``trickle_phase="headers"``: the headers never end) or, after complete headers announcing a
    large body, in the body (``"body"``). Each gap is shorter than any per-read socket timeout.
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    trickle: float = 0.0
    trickle_interval: float = 0.05
    trickle_phase: str = "headers"

    @classmethod
    def json(cls, status: int, document: Any, **kwargs: Any) -> Reply:
        """A JSON reply."""
        headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
        return cls(status, json.dumps(document).encode("utf-8"), headers, **kwargs)

    @classmethod
    def text(cls, status: int, text: str, content_type: str = "text/plain; charset=utf-8", **kwargs: Any) -> Reply:
        """A text reply with the given content type."""
        headers = {"Content-Type": content_type, **kwargs.pop("headers", {})}
        return cls(status, text.encode("utf-8"), headers, **kwargs)

    @classmethod
    def hang(cls, seconds: float = 2.0) -> Reply:
        """A reply that only comes after ``seconds`` (or when the server closes)."""
        return cls(status=200, body=b"late", delay=seconds)

    @classmethod
    def trickling(cls, seconds: float, phase: str = "headers", interval: float = 0.05) -> Reply:
        """A 200 answer trickled one byte every ``interval`` seconds for ``seconds`` (see the class doc)."""
        assert phase in ("headers", "body")
        return cls(status=200, trickle=seconds, trickle_interval=interval, trickle_phase=phase)


class _Handler(BaseHTTPRequestHandler):
    """Records the request and plays the owning receiver's next reply."""

    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        receiver = self.server.receiver
        reply = receiver._record_and_pick(
            RecordedRequest(self.command, self.path, dict(self.headers.items()), body, time.monotonic())
        )
        if reply.trickle:
            self._trickle(reply)
            return
        if reply.delay:
            receiver._released.wait(min(reply.delay, _MAX_HANG_SECONDS))
        try:
            self.send_response_only(reply.status)
            self.send_header("Date", formatdate(usegmt=True))
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up (timeout or capped read): expected in some tests

    def _trickle(self, reply: Reply) -> None:
        """Send ``reply`` a byte at a time; count it in ``trickles_completed`` only if it ran its full time."""
        receiver = self.server.receiver
        end = time.monotonic() + min(reply.trickle, _MAX_TRICKLE_SECONDS)
        try:
            if reply.trickle_phase == "headers":  # the status line, then a header that never ends
                pending = list(f"HTTP/1.1 {reply.status} OK\r\nX-Trickle: ".encode("ascii"))
            else:  # complete headers at once, then a body that never ends
                pending = []
                self.wfile.write(
                    f"HTTP/1.1 {reply.status} OK\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n".encode()
                )
            while time.monotonic() < end:
                self.wfile.write(bytes([pending.pop(0) if pending else ord("a")]))
                self.wfile.flush()
                if receiver._released.wait(reply.trickle_interval):
                    return  # the server closes: not a completed trickle
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            return  # the client hung up before the trickle ended
        with receiver._lock:
            receiver.trickles_completed += 1

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: LocalReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects and failed TLS handshakes are part of the tests: no tracebacks."""


class LocalReceiver:
    """A recording, scriptable HTTP(S) server on 127.0.0.1 and an ephemeral port."""

    def __init__(self, default: Reply | None = None, tls: ssl.SSLContext | None = None) -> None:
        """Create and start the server; ``tls`` (a server-side context) makes it HTTPS."""
        self._default = default or Reply(200, b"ok")
        self._script: list[Reply] = []
        self._requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        #: Trickled answers that ran their full time (the client waited for all of them).
        self.trickles_completed = 0
        self._server = _Server((LOOPBACK, 0), _Handler)
        self._server.receiver = self
        self._scheme = "https" if tls else "http"
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        return f"{self._scheme}://{LOOPBACK}:{self._server.server_address[1]}"

    def reply_with(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies``, in order, before the default reply."""
        with self._lock:
            self._script.extend(replies)

    def set_default(self, reply: Reply) -> None:
        """Answer with ``reply`` once the script is used up."""
        with self._lock:
            self._default = reply

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, in arrival order."""
        with self._lock:
            return list(self._requests)

    def bodies(self) -> list[Any]:
        """JSON bodies of the requests received so far."""
        return [request.json() for request in self.requests]

    def _record_and_pick(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self._requests.append(request)
            return self._script.pop(0) if self._script else self._default

    def close(self) -> None:
        """Release hanging replies and stop serving."""
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LocalReceiver:
        """Use as a context manager."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close on exit."""
        self.close()


def unused_port() -> int:
    """A loopback port with nothing listening on it (for "connection refused")."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])

"""A local HTTP server standing in for the load balancer's ``/health``: its status comes from a callable
(the emulated load balancer's routing), so a drill probes it over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def health_endpoint(status: Callable[[], int]) -> Iterator[str]:
    """Serves ``GET /health`` with ``status()`` on 127.0.0.1; yields the URL. Other paths answer 404."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with lock:
                code = status() if self.path == "/health" else 404
            body = b'{"server":"UP"}' if code == 200 else b"{}"
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    # shutdown() returns once the loop next looks: at the default 0.5 s poll, every drill paid half a second.
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="health-endpoint", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

"""``GET /health`` through the load balancer, as a client sees it."""

from __future__ import annotations

import http.client
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

PROBE_TIMEOUT_SECONDS = 2.0
"""Longer than a healthy gateway ever takes, shorter than the one-second cadence of the probes plus one."""


@dataclass(frozen=True)
class ProbeResult:
    """One probe: ``ok`` when the answer was 200; ``detail`` says what came back otherwise."""

    ok: bool
    detail: str


class Probe(Protocol):
    """Asks ``url`` once."""

    def __call__(self, url: str) -> ProbeResult:
        """One request, bounded in time."""
        ...


class HttpProbe:
    """urllib with a timeout; TLS verified against the system's trust store (or ``ca_file``)."""

    def __init__(self, timeout: float = PROBE_TIMEOUT_SECONDS, ca_file: str | None = None) -> None:
        """``ca_file`` adds a CA bundle (a private CA in front of the domain)."""
        self._timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_file)

    def __call__(self, url: str) -> ProbeResult:
        """200 is up; any other status, a timeout or a refused connection is down."""
        request = urllib.request.Request(url, headers={"User-Agent": "rudder-ha-drill"})  # noqa: S310 (http/https only)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._context) as answer:  # noqa: S310
                return ProbeResult(answer.status == 200, f"HTTP {answer.status}")
        except urllib.error.HTTPError as exc:
            return ProbeResult(False, f"HTTP {exc.code}")
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return ProbeResult(False, f"no answer ({reason})")

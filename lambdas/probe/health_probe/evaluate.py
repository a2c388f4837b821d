"""Turns one /health answer (or its absence) into Up/Degraded.

Rules:

* **Who answered.** A response carrying ``Server: awselb/...`` comes from the load balancer
  itself (no healthy target, target timeout, fixed response...). Without that header, a 502/503/504
  whose body is HTML (``Content-Type: text/html`` or a body starting with ``<``) is also taken
  as the load balancer's. rudder-server sets no ``Server`` header and answers its 503 in plain
  text.
* **Up = 1** when rudder-server itself answered ``200`` or ``503``: the process is reachable
  through the load balancer. Everything else is Up = 0: no answer (timeout, refused, TLS or
  DNS failure), any answer from the load balancer itself, or any other status (3xx, 4xx,
  other 5xx).
* **Degraded = 1** when rudder answered 503 (its database ping failed), or answered 200 with
  ``db`` != ``UP``, ``routingEvents`` == ``FALSE``, ``acceptingEvents`` == ``FALSE`` or
  ``mode`` == ``DEGRADED`` (older servers), or with a body that is not a JSON object (invalid,
  truncated past the size cap, wrong type) since health cannot then be confirmed. Values are
  compared case-insensitively. Degraded is 0 whenever Up is 0: "down" is reported by Up alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .fetch import HttpAnswer, NoAnswer

HEALTH_FIELDS = ("appType", "server", "db", "acceptingEvents", "routingEvents", "mode", "backendConfigMode", "lastSync")
_BODY_EXCERPT = 200


@dataclass(frozen=True)
class Verdict:
    """Outcome of one probe."""

    up: bool
    degraded: bool
    answered_by: str
    status: int | None
    latency_ms: float | None
    reasons: tuple[str, ...] = ()
    health: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """True unless rudder is up and not degraded."""
        return not self.up or self.degraded


def _excerpt(body: bytes) -> str:
    """A short, printable piece of a body for the log."""
    return body[:_BODY_EXCERPT].decode("utf-8", "replace").strip()


def from_load_balancer(answer: HttpAnswer) -> bool:
    """Tell whether the load balancer, not rudder-server, produced ``answer``."""
    if answer.headers.get("server", "").lower().startswith("awselb"):
        return True
    html = "text/html" in answer.headers.get("content-type", "").lower() or answer.body.lstrip().startswith(b"<")
    return answer.status in (502, 503, 504) and html


def _health_fields(answer: HttpAnswer) -> tuple[dict[str, str], list[str]]:
    """Parse rudder's JSON health document; return its fields and any degradation reasons."""
    if answer.truncated:
        return {}, ["health body exceeds the size cap"]
    try:
        document = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}, ["health body is not valid JSON"]
    if not isinstance(document, dict):
        return {}, ["health body is not a JSON object"]
    health = {key: str(document[key]) for key in HEALTH_FIELDS if key in document}
    reasons = []
    if health.get("db", "").upper() != "UP":
        reasons.append(f"db is {health.get('db', 'missing')!r}")
    for key in ("routingEvents", "acceptingEvents"):
        if health.get(key, "").upper() == "FALSE":
            reasons.append(f"{key} is FALSE")
    if health.get("mode", "").upper() == "DEGRADED":
        reasons.append("mode is DEGRADED")
    return health, reasons


def evaluate(result: HttpAnswer | NoAnswer) -> Verdict:
    """Apply the module's rules to one probe result."""
    if isinstance(result, NoAnswer):
        return Verdict(False, False, "none", None, None, (f"no answer: {result.kind}",))
    if from_load_balancer(result):
        reason = f"load balancer answered HTTP {result.status}: {_excerpt(result.body)}"
        return Verdict(False, False, "load_balancer", result.status, result.latency_ms, (reason,))
    if result.status == 503:
        reason = f"rudder answered HTTP 503: {_excerpt(result.body)}"
        return Verdict(True, True, "rudder", 503, result.latency_ms, (reason,))
    if result.status != 200:
        reason = f"unexpected HTTP {result.status}"
        return Verdict(False, False, "unknown", result.status, result.latency_ms, (reason,))
    health, reasons = _health_fields(result)
    return Verdict(True, bool(reasons), "rudder", 200, result.latency_ms, tuple(reasons), health)

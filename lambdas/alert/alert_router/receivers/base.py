"""The receiver interface and the HTTP status rules all receivers share."""

from __future__ import annotations

import abc
from typing import Any

from ..http_client import HttpResponse
from ..model import Alert
from ..retry import Outcome

MAX_RETRY_AFTER_SECONDS = 60.0


def _retry_after(response: HttpResponse) -> float | None:
    """Parse a ``Retry-After: <seconds>`` header (HTTP-date forms are ignored)."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def classify_status(response: HttpResponse) -> Outcome:
    """2xx succeeds; 408, 429 and 5xx are retryable; anything else (400, 403, 404...) is final."""
    status = response.status
    if 200 <= status < 300:
        return Outcome(ok=True, status=status)
    retryable = status in (408, 429) or status >= 500
    return Outcome(
        ok=False,
        retryable=retryable,
        status=status,
        error=f"HTTP {status}",
        retry_after=_retry_after(response) if retryable else None,
    )


class Receiver(abc.ABC):
    """Something that accepts alerts over an HTTP JSON POST."""

    name: str
    #: The only hosts this receiver's URL may name (``https`` on port 443); anything else is refused unsent.
    allowed_hosts: frozenset[str]

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """Where to POST (may embed a secret: never log it)."""

    @abc.abstractmethod
    def build(self, alert: Alert) -> dict[str, Any] | None:
        """Return the JSON body for ``alert``, or None when this receiver skips such alerts."""

    def classify(self, response: HttpResponse) -> Outcome:
        """Decide whether ``response`` means delivered, retry, or give up."""
        return classify_status(response)

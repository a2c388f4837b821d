"""Minimal JSON-over-HTTPS POST with urllib: TLS verified, no redirects, bounded reads."""

from __future__ import annotations

import http.client
import ipaddress
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "rudder-ha-alert-router/1.0"


class TransportError(Exception):
    """No HTTP answer arrived (timeout, refused connection, TLS failure...); always retryable.

    The message is a short category, never the URL (which may embed a secret).
    """


class InvalidUrlError(ValueError):
    """A receiver URL that is not ``https://`` (plain ``http://`` is allowed for loopback only)."""


@dataclass(frozen=True)
class HttpResponse:
    """Status, lower-cased headers and the first bytes of the body of one answer."""

    status: int
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: a webhook that redirects is misconfigured, and POST bodies must not move."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        """Return None so urllib surfaces the 3xx as an HTTPError."""
        return None


def _is_loopback(host: str) -> bool:
    """Tell whether ``host`` is a loopback name or address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Raise :class:`InvalidUrlError` unless ``url`` is https, or http on a loopback address."""
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise InvalidUrlError("receiver URL must be an absolute https URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidUrlError("receiver URL must use https")


def _describe(exc: BaseException) -> str:
    """Categorize a transport failure without echoing its message."""
    reason: object = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return "timeout"
    if isinstance(reason, ssl.SSLError):
        return "tls error"
    if isinstance(reason, BaseException):
        return f"connection error ({type(reason).__name__})"
    return "connection error"


_OPENER = urllib.request.build_opener(_NoRedirects(), urllib.request.HTTPSHandler(context=ssl.create_default_context()))


def post_json(url: str, payload: dict[str, Any], timeout: float) -> HttpResponse:
    """POST ``payload`` as JSON; return any HTTP answer, raise :class:`TransportError` otherwise."""
    check_url(url)
    request = urllib.request.Request(  # noqa: S310 - scheme checked by check_url above
        url,
        data=json.dumps(payload).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(MAX_RESPONSE_BYTES)
            headers = {k.lower(): v for k, v in response.headers.items()}
            return HttpResponse(response.status, body.decode("utf-8", "replace"), headers)
    except urllib.error.HTTPError as error:
        try:
            body = error.read(MAX_RESPONSE_BYTES)
        except (OSError, http.client.HTTPException):
            body = b""
        headers = {k.lower(): v for k, v in (error.headers or {}).items()}
        return HttpResponse(error.code, body.decode("utf-8", "replace"), headers)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise TransportError(_describe(exc)) from None

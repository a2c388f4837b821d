"""Exceptions shared across the alert router."""

from __future__ import annotations


class UnsupportedMessageError(ValueError):
    """An SNS record or message the router cannot turn into an alert; it is logged and dropped."""

    def __init__(self, reason: str) -> None:
        """Keep a short, log-safe ``reason``."""
        super().__init__(reason)
        self.reason = reason


class AlertDeliveryError(RuntimeError):
    """Every configured receiver failed for at least one alert of the invocation.

    Raised so that Lambda's asynchronous retries and the function's on-failure destination take
    over; partial failures never raise.
    """

"""Recognizes an SNS message's shape and hands it to the matching parser."""

from __future__ import annotations

import json
from datetime import datetime

from .config import Settings
from .errors import UnsupportedMessageError
from .model import Alert
from .parsers.cloudwatch import is_cloudwatch_alarm, parse_cloudwatch_alarm
from .parsers.drain import is_drain_message, parse_drain_message
from .parsers.eventbridge import is_eventbridge_event, parse_eventbridge_event


def normalize(message: str, settings: Settings, received_at: datetime) -> Alert:
    """Parse one SNS ``Message`` string into an :class:`Alert`.

    Raises :class:`UnsupportedMessageError` for non-JSON text, non-object JSON, unknown shapes
    and known shapes missing required fields.
    """
    try:
        document = json.loads(message)
    except ValueError as exc:
        raise UnsupportedMessageError("message is not JSON") from exc
    if not isinstance(document, dict):
        raise UnsupportedMessageError("message is not a JSON object")
    if is_drain_message(document):
        return parse_drain_message(document, settings, received_at)
    if is_cloudwatch_alarm(document):
        return parse_cloudwatch_alarm(document, settings, received_at)
    if is_eventbridge_event(document):
        return parse_eventbridge_event(document, settings, received_at)
    raise UnsupportedMessageError("unknown message shape")

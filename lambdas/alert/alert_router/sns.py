"""Unpacks the SNS-to-Lambda event envelope into individual messages."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import UnsupportedMessageError
from .parsers.common import parse_timestamp


@dataclass(frozen=True)
class SnsMessage:
    """One SNS notification: its text and the metadata worth logging."""

    index: int
    message_id: str
    topic_arn: str
    message: str
    timestamp: datetime


def _records(event: object) -> list[Any]:
    """Return the event's ``Records`` list, or raise when the envelope is malformed."""
    if not isinstance(event, dict):
        raise UnsupportedMessageError("event is not a JSON object")
    records = event.get("Records")
    if not isinstance(records, list):
        raise UnsupportedMessageError("event has no Records list")
    return records


def parse_record(index: int, record: object) -> SnsMessage:
    """Extract the SNS message of one record, or raise :class:`UnsupportedMessageError`."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict):
        raise UnsupportedMessageError("record has no Sns object")
    message = sns.get("Message")
    if not isinstance(message, str) or not message.strip():
        raise UnsupportedMessageError("record has no Sns.Message string")
    return SnsMessage(
        index=index,
        message_id=str(sns.get("MessageId") or ""),
        topic_arn=str(sns.get("TopicArn") or ""),
        message=message,
        timestamp=parse_timestamp(sns.get("Timestamp"), datetime.now(UTC)),
    )


def iter_records(event: object) -> Iterator[tuple[int, object]]:
    """Yield ``(index, record)`` for each record; raises when the envelope itself is malformed."""
    yield from enumerate(_records(event))

"""Scheduling of the next drain step: a delayed message to the function's own SQS queue."""

from __future__ import annotations

from typing import Any

from .heartbeat import MAX_DELAY_SECONDS
from .messages import Continuation


class StepScheduler:
    """Sends continuation messages with ``DelaySeconds`` (0..900, the SQS limit)."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        """Send to ``queue_url`` with the given SQS client."""
        self._sqs = sqs
        self._queue_url = queue_url

    def schedule(self, continuation: Continuation, delay_seconds: int) -> str:
        """Enqueue ``continuation`` to arrive after ``delay_seconds``; return the message id."""
        delay = max(0, min(int(delay_seconds), MAX_DELAY_SECONDS))
        response = self._sqs.send_message(
            QueueUrl=self._queue_url,
            MessageBody=continuation.to_body(),
            DelaySeconds=delay,
        )
        return str(response.get("MessageId", ""))

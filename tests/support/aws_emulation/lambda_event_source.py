"""The Lambda SQS event source mapping on virtual time.

Reproduces how Lambda polls a queue and invokes a function: batches of visible messages in the
SQS event format, partial batch responses (``batchItemFailures``), a failed invocation failing
the whole batch, and throttling; between deliveries the virtual clock jumps to the next visible
message or timer. Details in :class:`LambdaDriver`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tests.support.aws_emulation.published_events import sqs_record_template
from tests.support.aws_emulation.sqs_queue import QueuedMessage

if TYPE_CHECKING:
    from tests.support.aws_emulation.emulation import AwsEmulation


class FakeLambdaContext:
    """The parts of the Lambda context object the handler reads."""

    def __init__(self, timeout_seconds: float, request_id: str) -> None:
        """A context with a fixed remaining time."""
        self.function_name = "rudder-ha-drain"
        self.aws_request_id = request_id
        self._remaining_ms = int(timeout_seconds * 1000)

    def get_remaining_time_in_millis(self) -> int:
        """Remaining time (the emulated invocation takes no virtual time while running)."""
        return self._remaining_ms


@dataclasses.dataclass
class InvocationRecord:
    """One handler invocation by the driver."""

    at: float
    message_ids: list[str]
    failures: list[str]
    error: str | None = None


Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class LambdaDriver:
    """Delivers the virtual queue to a handler as the Lambda SQS event source mapping does.

    Reproduces: batches of up to ``batch_size`` visible messages; the event format (``Records``
    with ``messageId``, ``receiptHandle``, ``body``, ``attributes.ApproximateReceiveCount``...);
    partial batch responses (``batchItemFailures``: those messages stay in the queue and come
    back after the visibility timeout, the others are deleted); a handler exception fails the
    whole batch; throttling (messages received while the function is throttled return to the
    queue after the visibility timeout, with their receive count increased). Between deliveries
    the virtual clock jumps to the next visible message or timer.
    """

    def __init__(
        self,
        emu: AwsEmulation,
        handler: Handler,
        *,
        batch_size: int = 1,
        function_timeout: float = 60.0,
        invocation_seconds: float = 0.2,
    ) -> None:
        """Drive ``handler`` from ``emu.queue``."""
        self.emu = emu
        self.handler = handler
        self.batch_size = batch_size
        self.function_timeout = function_timeout
        self.invocation_seconds = invocation_seconds
        self.invocations: list[InvocationRecord] = []
        self.throttled_until: float = 0.0
        #: Messages of the invocation in progress (for tests that interleave a concurrent one).
        self.current: list[QueuedMessage] = []

    def throttle(self, seconds: float) -> None:
        """Throttle the function for ``seconds`` from now."""
        self.throttled_until = self.emu.clock.now() + seconds

    def deliver_once(self) -> InvocationRecord | None:
        """Invoke the handler once with the currently visible messages (None if none)."""
        queue = self.emu.queue
        messages = queue.receive(self.batch_size)
        if not messages:
            return None
        now = self.emu.clock.now()
        if now < self.throttled_until:
            # Received by the poller, but the invoke is throttled: they come back later.
            ids = [m.message_id for m in messages]
            throttled = InvocationRecord(now, ids, ids, "throttled")
            self.invocations.append(throttled)
            return throttled
        event = {"Records": [self.sqs_record(message) for message in messages]}
        record = InvocationRecord(now, [m.message_id for m in messages], [])
        self.current = messages
        try:
            response = self.handler(event, FakeLambdaContext(self.function_timeout, str(uuid.uuid4())))
        except Exception as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            record.failures = list(record.message_ids)
        else:
            failures = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
            record.failures = [m.message_id for m in messages if m.message_id in failures]
            for message in messages:
                if message.message_id not in failures:
                    queue.delete(message)
        finally:
            self.current = []
        self.invocations.append(record)
        self.emu.clock.advance(self.invocation_seconds)
        return record

    def invoke_concurrently(self, message: QueuedMessage) -> dict[str, Any]:
        """Invoke the handler right now with ``message`` (e.g. from inside another invocation)."""
        event = {"Records": [self.sqs_record(message)]}
        return self.handler(event, FakeLambdaContext(self.function_timeout, str(uuid.uuid4())))

    def run(
        self,
        *,
        until: Callable[[], bool] | None = None,
        max_seconds: float = 86_400.0,
        max_invocations: int = 100_000,
    ) -> None:
        """Deliver messages and advance time until ``until()`` holds, time runs out or nothing is left.

        ``until`` is evaluated before the first and after every invocation; use ``max_seconds``
        for conditions on time alone.
        """
        clock = self.emu.clock
        deadline = clock.now() + max_seconds
        count = 0
        if until is not None and until():
            return
        while count < max_invocations:
            visible_at = self.emu.queue.next_visible_at()
            timer_at = clock.next_timer_at()
            if visible_at is not None and visible_at <= clock.now():
                if self.deliver_once() is not None:
                    count += 1
                    # Only invocations change what ``until`` looks at (drain records, API calls).
                    if until is not None and until():
                        return
                continue
            candidates = [t for t in (visible_at, timer_at) if t is not None]
            if not candidates:
                return
            target = min(candidates)
            if target > deadline:
                clock.advance_to(deadline)
                return
            clock.advance_to(target)
        raise RuntimeError(f"driver stopped after {max_invocations} invocations")

    def sqs_record(self, message: QueuedMessage) -> dict[str, Any]:
        """One SQS event record: AWS's published record (``sqs-record-template.json``) filled from the message."""
        record = sqs_record_template()
        record.update(
            {
                "messageId": message.message_id,
                "receiptHandle": message.receipt_handle,
                "body": message.body,
                "messageAttributes": {},
                # SQS hashes the UTF-8 body; surrogatepass lets tests carry a body SQS would refuse.
                "md5OfBody": hashlib.md5(message.body.encode("utf-8", "surrogatepass")).hexdigest(),
                "eventSourceARN": self.emu.queue.arn,
                "awsRegion": self.emu.region,
            }
        )
        record["attributes"] = {
            **record["attributes"],
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(int(message.sent_at * 1000)),
            "ApproximateFirstReceiveTimestamp": str(int((message.first_received_at or message.sent_at) * 1000)),
        }
        return record

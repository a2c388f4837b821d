"""SQS standard-queue delivery semantics on virtual time.

Reproduces ``SendMessage`` ``DelaySeconds`` (0..900), the visibility timeout and redelivery of
messages that were not deleted, ``ChangeMessageVisibility`` of in-flight messages,
``ApproximateReceiveCount``, the redrive policy's dead-letter queue and at-least-once delivery
(duplicates). moto keeps the real queue; its delays run on wall-clock time, hence
:class:`VirtualQueue`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import uuid
from typing import TYPE_CHECKING, Any

from tests.support.aws_emulation.api_calls import EmulatedError

if TYPE_CHECKING:
    from tests.support.aws_emulation.emulation import AwsEmulation


@dataclasses.dataclass
class QueuedMessage:
    """A message in the virtual queue."""

    message_id: str
    body: str
    sent_at: float
    visible_at: float
    receive_count: int = 0
    receipt_handle: str = ""
    first_received_at: float | None = None


class VirtualQueue:
    """The drain queue with SQS standard-queue semantics on the virtual clock.

    Reproduces: ``SendMessage`` ``DelaySeconds`` 0..900 (``InvalidParameterValue`` otherwise) -
    the message is invisible until then; a received message is invisible for the visibility
    timeout and comes back if not deleted (a failed batch item); ``ChangeMessageVisibility`` of
    an in-flight message (``ReceiptHandleIsInvalid`` / ``MessageNotInflight`` otherwise);
    ``ApproximateReceiveCount``;
    after ``max_receive_count`` receives the redrive policy moves it to the dead-letter queue;
    at-least-once delivery (tests can duplicate a message). moto keeps the real queue (so its
    URL and attributes exist), but its delays run on wall-clock time, hence this part.
    """

    def __init__(
        self, emu: AwsEmulation, url: str, arn: str, *, visibility_timeout: float = 360.0, max_receive_count: int = 5
    ) -> None:
        """Emulate the queue at ``url``."""
        self._emu = emu
        self.url = url
        self.arn = arn
        self.visibility_timeout = visibility_timeout
        self.max_receive_count = max_receive_count
        self.messages: list[QueuedMessage] = []
        self.dead_letters: list[QueuedMessage] = []
        self.sent: list[QueuedMessage] = []
        self.deleted = 0
        self._order = itertools.count()

    def send(self, body: str, delay_seconds: int = 0) -> QueuedMessage:
        """Enqueue a message."""
        if not 0 <= int(delay_seconds) <= 900:
            raise EmulatedError(
                "InvalidParameterValue",
                f"Value {delay_seconds} for parameter DelaySeconds is invalid. "
                "Reason: must be between 0 and 900, if provided.",
            )
        now = self._emu.clock.now()
        message = QueuedMessage(str(uuid.uuid4()), body, now, now + int(delay_seconds))
        self.messages.append(message)
        self.sent.append(message)
        return message

    def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """SendMessage (routed here for this queue's URL)."""
        message = self.send(params["MessageBody"], int(params.get("DelaySeconds", 0)))
        return {"MessageId": message.message_id, "MD5OfMessageBody": ""}

    def change_message_visibility(self, params: dict[str, Any]) -> dict[str, Any]:
        """ChangeMessageVisibility of a received (in-flight) message."""
        timeout = int(params["VisibilityTimeout"])
        if not 0 <= timeout <= 43_200:
            raise EmulatedError("InvalidParameterValue", f"Value {timeout} for parameter VisibilityTimeout is invalid.")
        handle = params["ReceiptHandle"]
        for message in self.messages:
            if message.receipt_handle == handle:
                now = self._emu.clock.now()
                if message.visible_at <= now:
                    raise EmulatedError("MessageNotInflight", "The message referred to isn't in flight.")
                message.visible_at = now + timeout
                return {}
        raise EmulatedError("ReceiptHandleIsInvalid", f"The input receipt handle {handle} is not valid.")

    def duplicate(self, message: QueuedMessage, *, delay_seconds: float = 0.0) -> QueuedMessage:
        """Deliver a message once more (same MessageId), as SQS may."""
        copy_ = QueuedMessage(message.message_id, message.body, message.sent_at, self._emu.clock.now() + delay_seconds)
        self.messages.append(copy_)
        return copy_

    def next_visible_at(self) -> float | None:
        """When the earliest message becomes visible."""
        return min((message.visible_at for message in self.messages), default=None)

    def receive(self, max_messages: int) -> list[QueuedMessage]:
        """Receive up to ``max_messages`` visible messages (oldest visible first)."""
        now = self._emu.clock.now()
        visible = sorted((m for m in self.messages if m.visible_at <= now), key=lambda m: (m.visible_at, m.sent_at))
        received: list[QueuedMessage] = []
        for message in visible:
            if len(received) >= max_messages:
                break
            if message.receive_count >= self.max_receive_count:
                self.messages.remove(message)
                self.dead_letters.append(message)
                continue
            message.receive_count += 1
            message.receipt_handle = f"rh-{next(self._order)}"
            message.first_received_at = message.first_received_at or now
            message.visible_at = now + self.visibility_timeout
            received.append(message)
        return received

    def delete(self, message: QueuedMessage) -> None:
        """DeleteMessage (by receipt handle)."""
        if message in self.messages:
            self.messages.remove(message)
            self.deleted += 1

    def bodies(self) -> list[dict[str, Any]]:
        """JSON bodies of the messages still queued."""
        out = []
        for message in self.messages:
            try:
                out.append(json.loads(message.body))
            except ValueError:
                out.append({"raw": message.body})
        return out

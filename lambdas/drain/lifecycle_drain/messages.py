"""Parsing of the SQS message bodies the drain Lambda receives.

Two kinds of messages arrive on the drain queue:

* Lifecycle events. Normally the EventBridge envelope of an ``EC2 Instance-terminate Lifecycle
  Action`` (``source`` ``aws.autoscaling``, fields in ``detail``); the flat notification an Auto
  Scaling lifecycle hook sends straight to an SQS notification target is accepted too. Fields:
  ``LifecycleActionToken``, ``AutoScalingGroupName``, ``LifecycleHookName``, ``EC2InstanceId``,
  ``LifecycleTransition`` (``autoscaling:EC2_INSTANCE_TERMINATING``), optional
  ``NotificationMetadata`` and, with warm pools, optional ``Origin`` / ``Destination``
  (``EC2`` | ``AutoScalingGroup`` | ``WarmPool``).
* Continuations this function sends itself (``{"kind": "rudder-ha.drain.step", ...}``) to run
  the next bounded step of a drain after ``DelaySeconds``.
* Run Command status changes (``source`` ``aws.ssm``, ``EC2 Command Invocation Status-change
  Notification``; the command-level ``EC2 Command Status-change Notification`` is read too, its
  instance taken from ``resources``): a finished drain check wakes its drain at once
  (:class:`CommandSignal`). Only a wake-up: the verdict is always read back with
  ``GetCommandInvocation``, never taken from the event. Statuses that are not final
  (``Pending``, ``InProgress``, ``Delayed``, ``Cancelling``) are :class:`Ignored`.

Parsing never raises: anything else becomes :class:`Ignored` (well-formed but not ours to act
on, e.g. the hook's ``autoscaling:TEST_NOTIFICATION`` or a launch transition) or
:class:`Rejected` (malformed). Both are logged and dropped by the caller, since retrying
permanently bad input would only cycle it to the dead-letter queue.

The body is bounded before it is parsed: more than :data:`MAX_BODY_BYTES` (UTF-8) is
``body_too_large``, arrays/objects nested deeper than :data:`MAX_JSON_DEPTH` are
``body_too_deep`` (``json`` would otherwise raise ``RecursionError``), text that is not valid
Unicode (a lone surrogate, raw or ``\\u``-escaped, which no AWS API would accept back) is
``body_not_utf8``, and any other failure while parsing is ``unparsable_body``. A real lifecycle
event is about 1 KiB, nested two levels deep.

Free-form values are capped before anything stores them: ``NotificationMetadata`` (at most
1023 characters in a real hook) longer than :data:`MAX_METADATA_BYTES` UTF-8 bytes is
*truncated* to that size, at a character boundary and ending in a ``[truncated ...]`` marker
(:attr:`LifecycleEvent.metadata_original_bytes` keeps the original size for the log). It is not
refused: the rest of the event is valid, and dropping it would leave the instance undrained
until the hook times out. Every other stored field is a name, id or token with a fixed format
and length limit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .clock import parse_iso8601

TERMINATE_DETAIL_TYPE = "EC2 Instance-terminate Lifecycle Action"
LAUNCH_DETAIL_TYPE = "EC2 Instance-launch Lifecycle Action"
AUTOSCALING_SOURCE = "aws.autoscaling"
TERMINATING = "autoscaling:EC2_INSTANCE_TERMINATING"
TEST_NOTIFICATION = "autoscaling:TEST_NOTIFICATION"
SSM_SOURCE = "aws.ssm"
COMMAND_INVOCATION_DETAIL_TYPE = "EC2 Command Invocation Status-change Notification"
COMMAND_DETAIL_TYPE = "EC2 Command Status-change Notification"
FINAL_COMMAND_STATUSES = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})
"""Statuses after which a command invocation never changes again (its result can be read)."""
CONTINUATION_KIND = "rudder-ha.drain.step"
CONTINUATION_VERSION = 1

ORIGIN_WARM_POOL = "WarmPool"
ORIGIN_GROUP = "AutoScalingGroup"
ORIGIN_EC2 = "EC2"
KNOWN_LOCATIONS = frozenset({ORIGIN_WARM_POOL, ORIGIN_GROUP, ORIGIN_EC2})

# Formats the Auto Scaling API accepts (a value it would reject could never be completed, and
# botocore would refuse the call on every retry): tokens are exactly 36 characters, hook names
# match [A-Za-z0-9\-_/]+ (max 255).
_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")
_TOKEN = re.compile(r"^[A-Za-z0-9-]{36}$")
_HOOK_NAME = re.compile(r"^[A-Za-z0-9\-_/]{1,255}$")
# SSM: command ids are UUIDs (36 characters); document names match [a-zA-Z0-9_\-.]{3,128}.
_COMMAND_ID = re.compile(r"^[0-9a-fA-F-]{36}$")
_DOCUMENT_NAME = re.compile(r"^[A-Za-z0-9_\-.:/]{3,128}$")
_INSTANCE_ARN = re.compile(r"^arn:[a-z-]+:ec2:[a-z0-9-]*:[0-9]*:instance/(i-[0-9a-f]{8,17})$")
_NAME_MAX = 255
_MAX_SEQ = 10_000_000

MAX_BODY_BYTES = 256 * 1024
"""Largest body parsed (UTF-8 bytes): the SQS message limit of the queue's creation; real events are ~1 KiB."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays/objects parsed; a lifecycle event or a continuation is 2-3 deep."""
MAX_METADATA_BYTES = 4096
"""``NotificationMetadata`` is truncated to this many UTF-8 bytes before it is stored."""
_TRUNCATION_MARKER = " [truncated from {size} bytes]"
_EVENT_ID_MAX = 128
_LOG_KEY_MAX = 64
# A JSON string (escapes included) or one bracket: strings are skipped when measuring the depth.
_DEPTH_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)


@dataclass(frozen=True)
class LifecycleEvent:
    """A terminating lifecycle action to drain."""

    token: str
    asg_name: str
    hook_name: str
    instance_id: str
    transition: str
    notification_metadata: str | None = None
    origin: str | None = None
    destination: str | None = None
    event_time: float | None = None
    event_id: str | None = None
    #: Size in UTF-8 bytes of a ``NotificationMetadata`` that was truncated (None when kept whole).
    metadata_original_bytes: int | None = None


@dataclass(frozen=True)
class Continuation:
    """The engine's own "run step ``seq`` of drain ``pk``" message."""

    pk: str
    token: str
    instance_id: str
    asg_name: str
    seq: int

    def to_body(self) -> str:
        """The SQS message body."""
        return json.dumps(
            {
                "kind": CONTINUATION_KIND,
                "v": CONTINUATION_VERSION,
                "pk": self.pk,
                "token": self.token,
                "instance_id": self.instance_id,
                "asg_name": self.asg_name,
                "seq": self.seq,
            },
            separators=(",", ":"),
        )


@dataclass(frozen=True)
class CommandSignal:
    """A Run Command invocation reached a final status: wake the drain waiting on it, if any."""

    command_id: str
    instance_id: str
    document_name: str
    status: str
    event_id: str | None = None

    @property
    def wake_key(self) -> str:
        """The key under which a drain step waits for this command (see :func:`command_wake_key`)."""
        return command_wake_key(self.command_id)


def command_wake_key(command_id: str) -> str:
    """The wake-up key of an SSM command: a step waiting on it stores this key."""
    return f"ssm-command#{command_id}"


@dataclass(frozen=True)
class Ignored:
    """A well-formed message that needs no action (logged at info level)."""

    reason: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rejected:
    """A malformed or unknown message (logged at warning level)."""

    reason: str
    fields: dict[str, Any] = field(default_factory=dict)


Parsed = LifecycleEvent | Continuation | CommandSignal | Ignored | Rejected


def parse_body(body: object) -> Parsed:
    """Classify one SQS message body; never raises (any failure is :class:`Rejected`)."""
    if not isinstance(body, str):
        return Rejected("body_not_text", {"body_type": type(body).__name__})
    try:
        return _parse_text(body)
    except Exception as exc:  # RecursionError, MemoryError, a bug: malformed input, never a retry
        return Rejected("unparsable_body", {"error": type(exc).__name__})


def _parse_text(body: str) -> Parsed:
    """Bound, decode and classify a text body (see the module docstring for the limits)."""
    if len(body) > MAX_BODY_BYTES:  # a character is at least one byte: too large whatever it holds
        return Rejected("body_too_large", {"body_chars": len(body), "limit_bytes": MAX_BODY_BYTES})
    try:
        size = len(body.encode("utf-8"))
    except UnicodeEncodeError as exc:
        return Rejected("body_not_utf8", {"position": exc.start})
    if size > MAX_BODY_BYTES:
        return Rejected("body_too_large", {"body_bytes": size, "limit_bytes": MAX_BODY_BYTES})
    if _nesting_exceeds(body, MAX_JSON_DEPTH):
        return Rejected("body_too_deep", {"limit_depth": MAX_JSON_DEPTH, "body_bytes": size})
    try:
        document = json.loads(body)
    except ValueError:
        return Rejected("body_not_json", {"body_prefix": body[:120]})
    if not _valid_unicode(document):
        return Rejected("body_not_utf8", {"detail": "escaped lone surrogate"})
    if not isinstance(document, dict):
        return Rejected("body_not_json_object", {"json_type": type(document).__name__})
    if document.get("kind") == CONTINUATION_KIND:
        return _parse_continuation(document)
    if "detail-type" in document or "detail" in document:
        return _parse_eventbridge(document)
    if "LifecycleTransition" in document or "Event" in document or "LifecycleActionToken" in document:
        return _parse_hook_fields(document, envelope_time=None, event_id=document.get("RequestId"))
    return Rejected("unknown_message_shape", {"keys": sorted(str(key)[:_LOG_KEY_MAX] for key in document)[:20]})


def _nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays/objects in ``text`` nest deeper than ``limit`` (brackets inside strings do not count).

    Linear and recursion-free, so it can run before ``json.loads``, which recurses once per level.
    """
    depth = 0
    for match in _DEPTH_TOKENS.finditer(text):
        lexeme = match.group()
        if lexeme in ("[", "{"):
            depth += 1
            if depth > limit:
                return True
        elif lexeme in ("]", "}"):
            depth -= 1
    return False


def _valid_unicode(document: object) -> bool:
    """Whether every string of a parsed document can be encoded as UTF-8 (``\\udc80`` cannot)."""
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_eventbridge(document: dict[str, Any]) -> Parsed:
    """An EventBridge envelope."""
    source = document.get("source")
    detail_type = document.get("detail-type")
    detail = document.get("detail")
    if source == SSM_SOURCE:
        return _parse_command_event(document, detail_type, detail)
    if source != AUTOSCALING_SOURCE:
        return Rejected("unexpected_event_source", {"source": _short(source)})
    if not isinstance(detail, dict):
        return Rejected("event_detail_not_object", {"detail_type": _short(detail_type)})
    if detail.get("LifecycleTransition") == TEST_NOTIFICATION or detail.get("Event") == TEST_NOTIFICATION:
        return Ignored("test_notification", {"asg_name": _short(detail.get("AutoScalingGroupName"))})
    if detail_type != TERMINATE_DETAIL_TYPE:
        return Ignored("not_a_terminate_lifecycle_action", {"detail_type": _short(detail_type)})
    envelope_time = document.get("time")
    when = parse_iso8601(envelope_time) if isinstance(envelope_time, str) else None
    event_id = document.get("id") if isinstance(document.get("id"), str) else None
    return _parse_hook_fields(detail, envelope_time=when, event_id=event_id)


def _parse_command_event(document: dict[str, Any], detail_type: object, detail: object) -> Parsed:
    """A Run Command status-change event (see the module docstring)."""
    if detail_type not in (COMMAND_INVOCATION_DETAIL_TYPE, COMMAND_DETAIL_TYPE):
        return Ignored("not_a_command_status_change", {"detail_type": _short(detail_type)})
    if not isinstance(detail, dict):
        return Rejected("event_detail_not_object", {"detail_type": _short(detail_type)})
    status = detail.get("status")
    if not isinstance(status, str) or not status or len(status) > 32:
        return Rejected("invalid_command_event", {"problems": ["status must be a short string"]})
    if status not in FINAL_COMMAND_STATUSES:
        return Ignored("command_not_finished", {"status": status})
    problems: list[str] = []
    command_id = _field(detail, "command-id", problems, _COMMAND_ID)
    document_name = _field(detail, "document-name", problems, _DOCUMENT_NAME)
    if detail_type == COMMAND_INVOCATION_DETAIL_TYPE:
        instance_id = _field(detail, "instance-id", problems, _INSTANCE_ID)
    else:
        instance_id = _single_instance(document.get("resources"), problems)
    if problems:
        return Rejected("invalid_command_event", {"problems": problems})
    event_id = document.get("id")
    return CommandSignal(
        command_id=command_id,
        instance_id=instance_id,
        document_name=document_name,
        status=status,
        event_id=event_id[:_EVENT_ID_MAX] if isinstance(event_id, str) else None,
    )


def _field(fields: dict[str, Any], name: str, problems: list[str], pattern: re.Pattern[str]) -> str:
    """A required string field of an SSM event matching ``pattern``."""
    value = fields.get(name)
    if not isinstance(value, str) or not pattern.match(value):
        problems.append(f"{name} is missing or has an unexpected format")
        return ""
    return value


def _single_instance(resources: object, problems: list[str]) -> str:
    """The one instance a command-level event names in ``resources`` (a drain check targets one)."""
    ids = []
    if isinstance(resources, list):
        for item in resources[:64]:
            match = _INSTANCE_ARN.match(item) if isinstance(item, str) else None
            if match:
                ids.append(match.group(1))
    if len(ids) != 1:
        problems.append("resources must name exactly one instance")
        return ""
    return ids[0]


def _parse_hook_fields(fields: dict[str, Any], *, envelope_time: float | None, event_id: object) -> Parsed:
    """The lifecycle action fields (EventBridge ``detail`` or a direct hook notification)."""
    if fields.get("Event") == TEST_NOTIFICATION or fields.get("LifecycleTransition") == TEST_NOTIFICATION:
        return Ignored("test_notification", {"asg_name": _short(fields.get("AutoScalingGroupName"))})
    transition = fields.get("LifecycleTransition")
    if not isinstance(transition, str):
        return Rejected("missing_lifecycle_transition")
    if transition != TERMINATING:
        return Ignored("wrong_transition", {"transition": _short(transition)})

    problems: list[str] = []
    token = _string(fields, "LifecycleActionToken", problems, pattern=_TOKEN)
    asg_name = _string(fields, "AutoScalingGroupName", problems)
    hook_name = _string(fields, "LifecycleHookName", problems, pattern=_HOOK_NAME)
    instance_id = _string(fields, "EC2InstanceId", problems, pattern=_INSTANCE_ID)
    metadata, metadata_original_bytes = _capped_metadata(fields.get("NotificationMetadata"))
    origin = _location(fields, "Origin", problems)
    destination = _location(fields, "Destination", problems)
    if problems:
        return Rejected("invalid_lifecycle_event", {"problems": problems})
    return LifecycleEvent(
        token=token,
        asg_name=asg_name,
        hook_name=hook_name,
        instance_id=instance_id,
        transition=transition,
        notification_metadata=metadata,
        origin=origin,
        destination=destination,
        event_time=envelope_time,
        event_id=event_id[:_EVENT_ID_MAX] if isinstance(event_id, str) else None,
        metadata_original_bytes=metadata_original_bytes,
    )


def _capped_metadata(value: object) -> tuple[str | None, int | None]:
    """``NotificationMetadata`` as text of at most :data:`MAX_METADATA_BYTES` UTF-8 bytes.

    Returns the text and, when it had to be truncated, the original size in bytes. A non-string
    value is kept as its JSON text.
    """
    if value is None:
        return None, None
    text = value if isinstance(value, str) else json.dumps(value)
    encoded = text.encode("utf-8")
    if len(encoded) <= MAX_METADATA_BYTES:
        return text, None
    marker = _TRUNCATION_MARKER.format(size=len(encoded))
    kept = encoded[: MAX_METADATA_BYTES - len(marker.encode("utf-8"))].decode("utf-8", "ignore")
    return kept + marker, len(encoded)


def _parse_continuation(document: dict[str, Any]) -> Parsed:
    """A continuation message."""
    if document.get("v") != CONTINUATION_VERSION:
        return Rejected("unsupported_continuation_version", {"v": _short(document.get("v"))})
    problems: list[str] = []
    pk = _string(document, "pk", problems)
    token = _string(document, "token", problems, pattern=_TOKEN)
    instance_id = _string(document, "instance_id", problems, pattern=_INSTANCE_ID)
    asg_name = _string(document, "asg_name", problems)
    seq = document.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq <= _MAX_SEQ:
        problems.append("seq must be a positive integer")
        seq = 0
    if problems:
        return Rejected("invalid_continuation", {"problems": problems})
    return Continuation(pk=pk, token=token, instance_id=instance_id, asg_name=asg_name, seq=seq)


def _string(fields: dict[str, Any], name: str, problems: list[str], pattern: re.Pattern[str] | None = None) -> str:
    """A required, non-empty string field (checked against ``pattern`` when given)."""
    value = fields.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} must be a non-empty string")
        return ""
    if len(value) > _NAME_MAX:
        problems.append(f"{name} is too long")
        return ""
    if pattern is not None and not pattern.match(value):
        problems.append(f"{name} has an unexpected format")
        return ""
    return value


def _location(fields: dict[str, Any], name: str, problems: list[str]) -> str | None:
    """An optional warm-pool location field (``Origin`` / ``Destination``).

    A string outside :data:`KNOWN_LOCATIONS` is kept as it is rather than rejected: strategies
    treat anything but ``WarmPool`` as an instance that served traffic (the safe default), and
    dropping the event would leave the hook to time out undrained.
    """
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > 64:
        problems.append(f"{name} must be a short string")
        return None
    return value


def _short(value: object) -> str | None:
    """A log-safe, shortened rendering of an untrusted value."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text[:120]

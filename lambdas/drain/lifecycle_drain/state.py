"""Persisted drain state: one DynamoDB item per lifecycle action.

Item design (table ``DRAIN_TABLE_NAME``, partition key ``pk``, TTL attribute ``expires_at``):

==========================  ====  ==========================================================
attribute                   type  meaning
==========================  ====  ==========================================================
``pk``                      S     ``action#<LifecycleActionToken>``: one item per lifecycle
                                  action, so a replayed or duplicate event finds its drain
``token``                   S     the lifecycle action token
``instance_id``             S     the instance being drained
``asg_name``/``hook_name``  S     its Auto Scaling group and lifecycle hook
``origin``/``destination``  S     warm-pool fields of the event (absent when not sent)
``strategy``                S     drain strategy name (``ec2-data-plane``)
``status``                  S     ``ACTIVE`` or ``DONE``
``outcome``                 S     DONE only: ``CONTINUE`` | ``ABANDON`` | ``GONE`` |
                                  ``ALREADY_ENDED`` | ``NOT_ACTIVE``
``seq``                     N     number of the step that may run next; continuation
                                  messages carry it, any other number is stale or early
``step_state``              S     ``SCHEDULED`` (step ``seq`` waits for its message) or
                                  ``RUNNING`` (an invocation claimed it until ``lease_until``)
``lease_until``             N     epoch seconds; an expired lease may be taken over
``version``                 N     optimistic-concurrency counter: every write is conditional
                                  on the version read and increments it
``started_at``              N     when the lifecycle action started (event time)
``deadline_at``             N     ``started_at + DRAIN_DEADLINE_SECONDS``
``heartbeat_timeout``       N     the hook's HeartbeatTimeout (DescribeLifecycleHooks)
``global_timeout``          N     the hook's GlobalTimeout
``default_result``          S     the hook's DefaultResult
``last_heartbeat_at``       N     last successful heartbeat (or the action start)
``heartbeat_count``         N     heartbeats recorded
``deadline_alerted_at``     N     set once the deadline alert was published
``completion_notified``     BOOL  ``drain_completed`` published after an alert
``global_timeout_warned``   BOOL  "global timeout imminent" logged
``completion_requested``    S     ``CONTINUE``/``ABANDON`` decided and about to be sent;
                                  a retried step re-sends it instead of re-checking
``wake_key``                S     the signal that may run step ``seq`` before its delayed
                                  message (``ssm-command#<id>``: the check command it waits on)
``strategy_state``          S     JSON owned by the strategy (phase, SSM command, last check)
``last_progress``           S     JSON of the last step's progress (for operators)
``attempts``                N     claims so far (retries included)
``created_at``/``updated_at``/``done_at``  N
``expires_at``              N     TTL: global timeout + retention while active, done_at +
                                  retention when done
==========================  ====  ==========================================================

A second kind of item leads a wake-up signal to its drain: ``pk`` ``wake#<wake_key>``, ``drain_pk``
(the drain record's key) and ``expires_at`` (TTL). It is written once per key, before the step that
waits on it commits, and never changed; a signal whose key has no such item belongs to no drain of
this deployment.

Writes of drain records are whole-item ``PutItem`` calls conditioned on ``attribute_not_exists(pk)`` (create) or
``version = :expected`` (every later write), so two invocations can never both act on the same
version: the loser gets :class:`ConflictError`. The one exception is :meth:`DrainStore.release`,
an ``UpdateItem`` conditioned on the caller's own claim (step, ``RUNNING``, lease), which hands a
failed step back for an immediate retry.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from typing import Any

from .aws import is_client_error

PK_PREFIX = "action#"
WAKE_PREFIX = "wake#"


class Status(enum.StrEnum):
    """Whether a drain is still running."""

    ACTIVE = "ACTIVE"
    DONE = "DONE"


class StepState(enum.StrEnum):
    """Whether the current step is waiting for its message or claimed by an invocation."""

    SCHEDULED = "SCHEDULED"
    RUNNING = "RUNNING"


class Outcome(enum.StrEnum):
    """How a drain ended."""

    CONTINUE = "CONTINUE"  # drained; lifecycle action completed with CONTINUE
    ABANDON = "ABANDON"  # deadline passed with ABANDON_AFTER_DEADLINE; completed with ABANDON
    GONE = "GONE"  # the instance disappeared (terminated, not found, left the group)
    ALREADY_ENDED = "ALREADY_ENDED"  # the lifecycle action was completed/timed out elsewhere
    NOT_ACTIVE = "NOT_ACTIVE"  # the token was never active when first seen (replayed event)


class ConflictError(Exception):
    """A conditional write lost against another writer (or the item already exists)."""


def record_key(token: str) -> str:
    """Partition key of the drain record of a lifecycle action."""
    return f"{PK_PREFIX}{token}"


@dataclass(frozen=True)
class DrainRecord:
    """The persisted state of one drain (see the module docstring for the attributes)."""

    pk: str
    token: str
    instance_id: str
    asg_name: str
    hook_name: str
    strategy: str
    started_at: float
    deadline_at: float
    created_at: float
    updated_at: float
    expires_at: int
    origin: str | None = None
    destination: str | None = None
    notification_metadata: str | None = None
    status: Status = Status.ACTIVE
    outcome: Outcome | None = None
    seq: int = 0
    step_state: StepState = StepState.SCHEDULED
    lease_until: float = 0.0
    version: int = 0
    attempts: int = 0
    heartbeat_timeout: int = 0
    global_timeout: int = 0
    default_result: str = ""
    last_heartbeat_at: float = 0.0
    heartbeat_count: int = 0
    deadline_alerted_at: float | None = None
    completion_notified: bool = False
    global_timeout_warned: bool = False
    done_at: float | None = None
    completion_requested: str | None = None
    wake_key: str | None = None
    strategy_state: dict[str, Any] = field(default_factory=dict)
    last_progress: dict[str, Any] = field(default_factory=dict)

    @property
    def global_deadline(self) -> float:
        """When the hook's global timeout ends the wait state (0 when unknown yet)."""
        return self.started_at + self.global_timeout if self.global_timeout else 0.0

    def evolve(self, **changes: Any) -> DrainRecord:
        """A copy with ``changes`` applied (the version is bumped only by :meth:`DrainStore.save`)."""
        return dataclasses.replace(self, **changes)

    # -- DynamoDB codec ----------------------------------------------------

    def to_item(self) -> dict[str, dict[str, Any]]:
        """The DynamoDB item (low-level attribute-value format)."""
        item: dict[str, dict[str, Any]] = {
            "pk": {"S": self.pk},
            "token": {"S": self.token},
            "instance_id": {"S": self.instance_id},
            "asg_name": {"S": self.asg_name},
            "hook_name": {"S": self.hook_name},
            "strategy": {"S": self.strategy},
            "status": {"S": self.status.value},
            "seq": _num(self.seq),
            "step_state": {"S": self.step_state.value},
            "lease_until": _num(self.lease_until),
            "version": _num(self.version),
            "attempts": _num(self.attempts),
            "started_at": _num(self.started_at),
            "deadline_at": _num(self.deadline_at),
            "created_at": _num(self.created_at),
            "updated_at": _num(self.updated_at),
            "expires_at": _num(self.expires_at),
            "heartbeat_timeout": _num(self.heartbeat_timeout),
            "global_timeout": _num(self.global_timeout),
            "last_heartbeat_at": _num(self.last_heartbeat_at),
            "heartbeat_count": _num(self.heartbeat_count),
            "completion_notified": {"BOOL": self.completion_notified},
            "global_timeout_warned": {"BOOL": self.global_timeout_warned},
            "strategy_state": {"S": json.dumps(self.strategy_state, sort_keys=True)},
            "last_progress": {"S": json.dumps(self.last_progress, sort_keys=True)},
        }
        optional: dict[str, dict[str, Any] | None] = {
            "origin": {"S": self.origin} if self.origin else None,
            "destination": {"S": self.destination} if self.destination else None,
            "notification_metadata": ({"S": self.notification_metadata} if self.notification_metadata else None),
            "outcome": {"S": self.outcome.value} if self.outcome else None,
            "default_result": {"S": self.default_result} if self.default_result else None,
            "deadline_alerted_at": (_num(self.deadline_alerted_at) if self.deadline_alerted_at is not None else None),
            "done_at": _num(self.done_at) if self.done_at is not None else None,
            "completion_requested": ({"S": self.completion_requested} if self.completion_requested else None),
            "wake_key": {"S": self.wake_key} if self.wake_key else None,
        }
        item.update({key: value for key, value in optional.items() if value is not None})
        return item

    @classmethod
    def from_item(cls, item: dict[str, dict[str, Any]]) -> DrainRecord:
        """Decode a DynamoDB item written by :meth:`to_item`."""

        def s(name: str, default: str | None = None) -> str | None:
            value = item.get(name)
            return value["S"] if value and "S" in value else default

        def n(name: str, default: float = 0.0) -> float:
            value = item.get(name)
            return float(value["N"]) if value and "N" in value else default

        def b(name: str) -> bool:
            value = item.get(name)
            return bool(value.get("BOOL")) if value else False

        outcome = s("outcome")
        alerted = item.get("deadline_alerted_at")
        done_at = item.get("done_at")
        return cls(
            pk=s("pk") or "",
            token=s("token") or "",
            instance_id=s("instance_id") or "",
            asg_name=s("asg_name") or "",
            hook_name=s("hook_name") or "",
            strategy=s("strategy") or "",
            started_at=n("started_at"),
            deadline_at=n("deadline_at"),
            created_at=n("created_at"),
            updated_at=n("updated_at"),
            expires_at=int(n("expires_at")),
            origin=s("origin"),
            destination=s("destination"),
            notification_metadata=s("notification_metadata"),
            status=Status(s("status") or Status.ACTIVE.value),
            outcome=Outcome(outcome) if outcome else None,
            seq=int(n("seq")),
            step_state=StepState(s("step_state") or StepState.SCHEDULED.value),
            lease_until=n("lease_until"),
            version=int(n("version")),
            attempts=int(n("attempts")),
            heartbeat_timeout=int(n("heartbeat_timeout")),
            global_timeout=int(n("global_timeout")),
            default_result=s("default_result") or "",
            last_heartbeat_at=n("last_heartbeat_at"),
            heartbeat_count=int(n("heartbeat_count")),
            deadline_alerted_at=float(alerted["N"]) if alerted else None,
            completion_notified=b("completion_notified"),
            global_timeout_warned=b("global_timeout_warned"),
            done_at=float(done_at["N"]) if done_at else None,
            completion_requested=s("completion_requested"),
            wake_key=s("wake_key"),
            strategy_state=json.loads(s("strategy_state") or "{}"),
            last_progress=json.loads(s("last_progress") or "{}"),
        )


def _num(value: float | int) -> dict[str, str]:
    """A DynamoDB number attribute (integers stay integral, floats keep millisecond precision)."""
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, int) or float(value).is_integer():
        return {"N": str(int(value))}
    return {"N": f"{value:.3f}"}


class DrainStore:
    """Reads and conditionally writes drain records."""

    def __init__(self, dynamodb: Any, table_name: str) -> None:
        """Use the low-level DynamoDB client ``dynamodb`` on ``table_name``."""
        self._dynamodb = dynamodb
        self._table = table_name

    def get(self, pk: str) -> DrainRecord | None:
        """The record (strongly consistent read), or None."""
        response = self._dynamodb.get_item(TableName=self._table, Key={"pk": {"S": pk}}, ConsistentRead=True)
        item = response.get("Item")
        return DrainRecord.from_item(item) if item else None

    def link_wake_key(self, wake_key: str, drain_pk: str, expires_at: int) -> None:
        """Record that signal ``wake_key`` belongs to drain ``drain_pk`` (see the module docstring)."""
        self._dynamodb.put_item(
            TableName=self._table,
            Item={
                "pk": {"S": f"{WAKE_PREFIX}{wake_key}"},
                "drain_pk": {"S": drain_pk},
                "expires_at": _num(expires_at),
            },
        )

    def drain_for_wake_key(self, wake_key: str) -> str | None:
        """The key of the drain record a signal belongs to, or None."""
        response = self._dynamodb.get_item(
            TableName=self._table, Key={"pk": {"S": f"{WAKE_PREFIX}{wake_key}"}}, ConsistentRead=True
        )
        item = response.get("Item") or {}
        value = item.get("drain_pk")
        return value["S"] if isinstance(value, dict) and isinstance(value.get("S"), str) else None

    def create(self, record: DrainRecord) -> DrainRecord:
        """Write a new record (version 1); :class:`ConflictError` when one exists already."""
        created = record.evolve(version=1)
        self._put(created, "attribute_not_exists(pk)", {})
        return created

    def save(self, record: DrainRecord) -> DrainRecord:
        """Write ``record`` if the stored version is still ``record.version``; return it bumped.

        Raises :class:`ConflictError` when another writer got there first.
        """
        saved = record.evolve(version=record.version + 1)
        self._put(saved, "version = :expected", {":expected": _num(record.version)})
        return saved

    def release(self, record: DrainRecord) -> bool:
        """Give up the claim of step ``record.seq`` after a failed step, so a retry can run it now.

        Conditional on the claim still being ours (same step, RUNNING, same lease); returns
        whether it was released. Without it the retry would wait for the lease to expire.
        """
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key={"pk": {"S": record.pk}},
                UpdateExpression="SET #state = :scheduled, #lease = :zero, #version = #version + :one",
                ConditionExpression="#seq = :seq AND #state = :running AND #lease = :lease",
                ExpressionAttributeNames={
                    "#state": "step_state",
                    "#lease": "lease_until",
                    "#version": "version",
                    "#seq": "seq",
                },
                ExpressionAttributeValues={
                    ":scheduled": {"S": StepState.SCHEDULED.value},
                    ":running": {"S": StepState.RUNNING.value},
                    ":zero": _num(0),
                    ":one": _num(1),
                    ":seq": _num(record.seq),
                    ":lease": _num(record.lease_until),
                },
            )
        except Exception as exc:
            if is_client_error(exc, "ConditionalCheckFailedException"):
                return False
            raise
        return True

    def _put(self, record: DrainRecord, condition: str, values: dict[str, Any]) -> None:
        """Conditional PutItem, mapping a failed condition to :class:`ConflictError`."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Item": record.to_item(),
            "ConditionExpression": condition,
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._dynamodb.put_item(**kwargs)
        except Exception as exc:
            if is_client_error(exc, "ConditionalCheckFailedException"):
                raise ConflictError(record.pk) from exc
            raise

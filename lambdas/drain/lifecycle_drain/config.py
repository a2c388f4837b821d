"""Configuration of the drain Lambda, read from its environment.

Environment variables
---------------------
``DRAIN_TABLE_NAME`` (required)
    DynamoDB table holding one drain record per lifecycle action (partition key ``pk``, string;
    TTL attribute ``expires_at``).
``DRAIN_QUEUE_URL`` (required)
    URL of the SQS queue that triggers this function; continuation messages are sent to it with
    ``DelaySeconds``.
``DRAIN_CHECK_DOCUMENT`` (required unless ``DRAIN_STRATEGY`` is ``eks``)
    Name of the SSM command document that runs ``rudder-drain-check`` on the instance and exits
    with its exit code (0 drained, 75 pending, 69 cannot tell).
``ALERT_TOPIC_ARN`` (required)
    SNS topic for ``drain_deadline_exceeded`` / ``drain_completed`` messages.
``ENVIRONMENT`` (required)
    Name of the deployment environment; copied into every alert.
``DRAIN_ASG_NAMES`` (required)
    Comma-separated names of the Auto Scaling groups this function drains (the groups whose
    terminating lifecycle events the stack routes to its queue). A lifecycle event for any other
    group is dropped before anything is read or written, with a warning naming the group.
``DRAIN_DEADLINE_SECONDS`` (default 3600)
    A drain still running this long after its lifecycle action started raises one alert.
``POLL_INTERVAL_SECONDS`` (default 30, 1..900)
    Delay between two drain checks (SQS ``DelaySeconds``; 900 is the SQS maximum).
``ABANDON_AFTER_DEADLINE`` (default false)
    ``true``: once the deadline passes, complete the lifecycle action with ``ABANDON`` instead of
    waiting. The instance is then terminated with events possibly still undelivered in its
    jobsdb: THIS MAY LOSE EVENTS. ``false``: keep waiting (heartbeating) up to the hook's global
    timeout.
``SSM_COMMAND_TIMEOUT_SECONDS`` (default 60, 30..2592000)
    Delivery timeout of the SSM command; a check that has not finished this long (plus a grace
    period) after it was sent counts as "cannot tell" and is sent again.
``DRAIN_CHECK_WAIT_SECONDS`` (default 0, 0..172800)
    0: the check document answers at once (one ``rudder-drain-check``) and the drain asks again
    every poll interval. N > 0: the document waits on the instance (``rudder-drain-wait
    --max-seconds N``) and exits the moment the jobsdb is drained; its status change
    (EventBridge "EC2 Command Invocation Status-change Notification", routed to the drain queue)
    wakes the drain at once, and ``FALLBACK_POLL_SECONDS`` is only the safety net.
``FALLBACK_POLL_SECONDS`` (default 420, 1..900)
    With a waiting check: how long a drain waits for the command's status-change event before it
    reads the command itself (an event lost or late costs at most this long). Such a step also
    heartbeats; keep ``FALLBACK_POLL_SECONDS`` + the queue's visibility timeout + 120 s within the
    hook's ``HeartbeatTimeout``, so a crashed step is redelivered before the hook expires.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .lifecycle import MAX_GLOBAL_TIMEOUT

MAX_SQS_DELAY_SECONDS = 900
MIN_SSM_DELIVERY_TIMEOUT_SECONDS = 30
MAX_SSM_DELIVERY_TIMEOUT_SECONDS = 2_592_000
MAX_CHECK_WAIT_SECONDS = 172_800
"""The longest execution timeout SSM allows an ``aws:runShellScript`` step (48 h)."""

ASG_NAME_MAX = 255
"""Longest Auto Scaling group name AWS accepts."""

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})


def read_integer(env: Mapping[str, str], problems: list[str], name: str, default: int, low: int, high: int) -> int:
    """An integer setting in ``low..high``; a missing one is ``default``, a bad one is noted in ``problems``."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name} must be an integer, got {raw!r}")
        return default
    if not low <= value <= high:
        problems.append(f"{name} must be between {low} and {high}, got {value}")
        return default
    return value


def read_asg_names(env: Mapping[str, str], problems: list[str], name: str = "DRAIN_ASG_NAMES") -> frozenset[str]:
    """The comma-separated group names of ``name`` (blank items ignored); none is a problem."""
    names = [item.strip() for item in env.get(name, "").split(",") if item.strip()]
    if not names:
        problems.append(f"{name} is required (comma-separated Auto Scaling group names)")
    for item in names:
        if len(item) > ASG_NAME_MAX:
            problems.append(f"{name} holds a name longer than {ASG_NAME_MAX} characters")
    return frozenset(names)


class ConfigError(ValueError):
    """The function's environment is incomplete or invalid (a deployment error, never retried away)."""


@dataclass(frozen=True)
class DrainConfig:
    """Settings of one deployment of the drain function.

    The first twelve fields come from the environment; the rest are tuning constants with
    defaults that tests may override.
    """

    table_name: str
    queue_url: str
    check_document: str
    alert_topic_arn: str
    environment: str
    #: The Auto Scaling groups this deployment drains (``DRAIN_ASG_NAMES``); events of others are dropped.
    asg_names: frozenset[str]
    deadline_seconds: int = 3600
    poll_interval_seconds: int = 30
    abandon_after_deadline: bool = False
    ssm_command_timeout_seconds: int = 60
    #: Longest the check document waits on the instance (0: it answers at once; see the module docstring).
    check_wait_seconds: int = 0
    #: With a waiting check: delay before the drain reads an outstanding command without an event.
    fallback_poll_seconds: int = 420
    #: Latency allowance between "step scheduled" and "step runs" (SQS delay jitter, Lambda
    #: polling, throttling). A heartbeat is sent when the hook would otherwise time out before
    #: the next step plus this margin.
    heartbeat_margin_seconds: int = 120
    #: How late a crashed or throttled invocation's message comes back (the drain queue's visibility
    #: timeout). A step that waits for a wake-up signal keeps this in reserve on the hook (see
    #: :mod:`lifecycle_drain.heartbeat`).
    crash_redelivery_seconds: int = 360
    #: Delay before reading the result of a check just sent (SSM delivery + script run time).
    check_result_delay_seconds: int = 5
    #: How long a claimed step is protected from being run by another invocation, on top of the
    #: invocation's remaining time. Keep the queue's visibility timeout above the function
    #: timeout plus this.
    lease_margin_seconds: int = 30
    #: Used as the function timeout when the Lambda context does not tell the remaining time.
    default_function_timeout_seconds: int = 60
    #: A record reported as a batch item failure is made visible again after
    #: ``min(retry_max_seconds, retry_base_seconds * 2 ** (receives - 1))`` (ChangeMessageVisibility)
    #: instead of the queue's visibility timeout, which is sized for the function timeout and may
    #: be longer than the hook's heartbeat reserve.
    retry_base_seconds: int = 20
    retry_max_seconds: int = 300
    #: How long finished drain records are kept (DynamoDB TTL), so late duplicates still find
    #: them; longer than the maximum SQS retention (14 days).
    record_retention_seconds: int = 15 * 24 * 3600

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DrainConfig:
        """Read and validate the environment; raise :class:`ConfigError` listing every problem."""
        problems: list[str] = []

        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                problems.append(f"{name} is required")
            return value

        def integer(name: str, default: int, low: int, high: int) -> int:
            return read_integer(env, problems, name, default, low, high)

        def boolean(name: str, default: bool) -> bool:
            raw = env.get(name)
            if raw is None:
                return default
            text = raw.strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            problems.append(f"{name} must be true or false, got {raw!r}")
            return default

        config = cls(
            table_name=required("DRAIN_TABLE_NAME"),
            queue_url=required("DRAIN_QUEUE_URL"),
            # Only the EC2 strategy runs the on-node check; an eks drain evicts pods instead.
            check_document=required("DRAIN_CHECK_DOCUMENT")
            if env.get("DRAIN_STRATEGY", "ec2").strip().lower() != "eks"
            else env.get("DRAIN_CHECK_DOCUMENT", "").strip(),
            alert_topic_arn=required("ALERT_TOPIC_ARN"),
            environment=required("ENVIRONMENT"),
            asg_names=read_asg_names(env, problems),
            deadline_seconds=integer("DRAIN_DEADLINE_SECONDS", 3600, 1, MAX_GLOBAL_TIMEOUT),
            poll_interval_seconds=integer("POLL_INTERVAL_SECONDS", 30, 1, MAX_SQS_DELAY_SECONDS),
            abandon_after_deadline=boolean("ABANDON_AFTER_DEADLINE", False),
            ssm_command_timeout_seconds=integer(
                "SSM_COMMAND_TIMEOUT_SECONDS",
                60,
                MIN_SSM_DELIVERY_TIMEOUT_SECONDS,
                MAX_SSM_DELIVERY_TIMEOUT_SECONDS,
            ),
            check_wait_seconds=integer("DRAIN_CHECK_WAIT_SECONDS", 0, 0, MAX_CHECK_WAIT_SECONDS),
            fallback_poll_seconds=integer("FALLBACK_POLL_SECONDS", 420, 1, MAX_SQS_DELAY_SECONDS),
        )
        if problems:
            raise ConfigError("invalid drain configuration: " + "; ".join(problems))
        return config

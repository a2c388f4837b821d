"""Drain-before-terminate Lambda for RudderStack data-plane instances (entry point).

Trigger: an SQS queue (event source mapping, small batch size, ``ReportBatchItemFailures``) fed
by an EventBridge rule matching ``EC2 Instance-terminate Lifecycle Action`` for this
environment's Auto Scaling groups, by a second rule matching the final ``EC2 Command Invocation
Status-change Notification`` of this environment's check document (wake-ups), and by this
function's own delayed continuation messages.

For every terminating lifecycle action the function takes the instance out of all target groups
of its group, waits out ELB draining, then runs ``rudder-drain-check`` on the instance through
SSM until the jobsdb holds nothing pending, heartbeating the hook meanwhile, and finally
completes the action with CONTINUE. See :mod:`lifecycle_drain.engine` (generic engine),
:mod:`lifecycle_drain.ec2.strategy` (what draining an EC2 data-plane node means) and
:mod:`lifecycle_drain.state` (DynamoDB item design).

Environment variables (details in :mod:`lifecycle_drain.config`):

* ``DRAIN_TABLE_NAME`` - DynamoDB table (pk ``pk`` string, TTL ``expires_at``). Required.
* ``DRAIN_QUEUE_URL`` - the trigger queue, for continuation messages. Required.
* ``DRAIN_STRATEGY`` - ``ec2`` (default: target groups + on-node check) or ``eks`` (cordon and
  evict the node's pods; see README.md for its ``EKS_*`` variables).
* ``DRAIN_CHECK_DOCUMENT`` - SSM document running the on-node check. Required with ``ec2``.
* ``ALERT_TOPIC_ARN`` - SNS topic for deadline / completion alerts. Required.
* ``ENVIRONMENT`` - environment name put in alerts. Required.
* ``DRAIN_ASG_NAMES`` - comma-separated Auto Scaling groups this function drains; lifecycle
  events of any other group are logged and dropped without a write. Required.
* ``DRAIN_DEADLINE_SECONDS`` - alert once a drain runs longer (default 3600).
* ``POLL_INTERVAL_SECONDS`` - delay between checks, 1..900 (default 30).
* ``ABANDON_AFTER_DEADLINE`` - ``true`` completes with ABANDON after the deadline; this may
  lose events still in the jobsdb (default false: wait up to the hook's global timeout).
* ``SSM_COMMAND_TIMEOUT_SECONDS`` - SSM delivery timeout of one check (default 60).
* ``DRAIN_CHECK_WAIT_SECONDS`` - 0 (default): the check answers at once and is polled. N > 0: the
  check waits on the instance up to N s and exits the moment the jobsdb is drained; its Run Command
  status-change event (EventBridge -> this queue) wakes the drain at once (README.md).
* ``FALLBACK_POLL_SECONDS`` - with a waiting check, how often the command is read when no event
  came (default 420).

The module is the zip root's ``handler.py``; the code lives in the ``lifecycle_drain`` package beside it.
"""

from __future__ import annotations

from typing import Any

from lifecycle_drain import runtime

_RUNTIME: runtime.Runtime | None = None


def handler(event: Any, context: Any) -> dict[str, list[dict[str, str]]]:
    """Lambda entry point: process an SQS batch and report failed items."""
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = runtime.build_runtime()
    return runtime.handle_sqs_event(event, _RUNTIME, context)

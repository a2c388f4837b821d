"""Composition of the drain Lambda and handling of one SQS batch.

:func:`build_runtime` wires configuration, clients, clock, store, engine and the EC2 data-plane
strategy; tests pass an emulated client factory and a virtual clock. :func:`handle_sqs_event`
processes an SQS event (event source mapping with ``ReportBatchItemFailures``): each record is
handled on its own; records whose handling hit an AWS or unexpected error, or that must be
re-judged later (see :mod:`lifecycle_drain.engine`), are returned in ``batchItemFailures`` so SQS
redelivers only them. Permanently bad input is logged and acknowledged, never failed.

A failed record is not left to the queue's visibility timeout (six times the function timeout,
often longer than the lifecycle hook's heartbeat reserve): its visibility is shortened to an
exponential backoff (20 s, 40 s, 80 s, ... capped at 300 s by receive count) with
``ChangeMessageVisibility``, best effort.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .alerts import AlertPublisher
from .aws import AwsClients, ClientFactory, default_client_factory, error_code
from .clock import Clock, SystemClock
from .config import DrainConfig
from .ec2.instances import InstanceInspector
from .ec2.ssm_check import DrainCheck
from .ec2.strategy import STRATEGY_NAME, Ec2DataPlaneStrategy
from .ec2.target_groups import TargetGroups
from .eks.config import STRATEGY_EKS, selected_strategy
from .eks.strategy import build_eks_strategy
from .engine import Disposition, DrainEngine
from .lifecycle import LifecycleHooks
from .logs import JsonLogger
from .messages import LifecycleEvent
from .scheduler import StepScheduler
from .state import DrainStore
from .strategy import DrainStrategy

#: Records are not started when less than this much invocation time is left; they are
#: returned as failures and redelivered instead.
MIN_REMAINING_SECONDS = 15.0


@dataclass
class Runtime:
    """Everything an invocation needs, built once per execution environment."""

    config: DrainConfig
    engine: DrainEngine
    clients: AwsClients
    clock: Clock
    log: JsonLogger


def build_runtime(
    env: Mapping[str, str] | None = None,
    *,
    client_factory: ClientFactory | None = None,
    clock: Clock | None = None,
    config: DrainConfig | None = None,
    log: JsonLogger | None = None,
) -> Runtime:
    """Build the runtime from the environment (or an explicit ``config``)."""
    cfg = config if config is not None else DrainConfig.from_env(os.environ if env is None else env)
    clients = AwsClients(client_factory or default_client_factory())
    the_clock: Clock = clock if clock is not None else SystemClock()
    logger = (log or JsonLogger()).bind(environment=cfg.environment)
    ec2_strategy = Ec2DataPlaneStrategy(
        instances=InstanceInspector(clients.ec2, clients.autoscaling),
        target_groups=TargetGroups(clients.elbv2),
        check=DrainCheck(clients.ssm, cfg.check_document, cfg.ssm_command_timeout_seconds),
        result_delay_seconds=min(cfg.check_result_delay_seconds, cfg.poll_interval_seconds),
        check_wait_seconds=cfg.check_wait_seconds,
        fallback_poll_seconds=cfg.fallback_poll_seconds,
    )
    strategies: dict[str, DrainStrategy] = {ec2_strategy.name: ec2_strategy}
    selected = STRATEGY_NAME
    environ = os.environ if env is None else env
    if selected_strategy(environ) == STRATEGY_EKS:
        eks_strategy = build_eks_strategy(environ, clients, the_clock)
        strategies[eks_strategy.name] = eks_strategy
        selected = eks_strategy.name

    def select_strategy(event: LifecycleEvent) -> str:
        """New drains use the strategy chosen by ``DRAIN_STRATEGY`` (``ec2`` by default, or ``eks``)."""
        return selected

    engine = DrainEngine(
        config=cfg,
        store=DrainStore(clients.dynamodb, cfg.table_name),
        hooks=LifecycleHooks(clients.autoscaling),
        scheduler=StepScheduler(clients.sqs, cfg.queue_url),
        alerts=AlertPublisher(clients.sns, cfg.alert_topic_arn, cfg.environment),
        strategies=strategies,
        select_strategy=select_strategy,
        clock=the_clock,
        log=logger,
    )
    return Runtime(config=cfg, engine=engine, clients=clients, clock=the_clock, log=logger)


def _remaining_seconds(context: Any, default: float) -> float:
    """Remaining invocation time according to the Lambda context (``default`` without one)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    if callable(getter):
        try:
            return max(0.0, float(getter()) / 1000.0)
        except (TypeError, ValueError):
            return default
    return default


def handle_sqs_event(event: Any, runtime: Runtime, context: Any = None) -> dict[str, list[dict[str, str]]]:
    """Process one SQS batch; return the partial-batch response."""
    failures: list[dict[str, str]] = []
    log = runtime.log
    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        log.warning("not_an_sqs_event", event_type=type(event).__name__)
        return {"batchItemFailures": failures}
    for record in records:
        if not isinstance(record, dict):
            log.warning("sqs_record_not_object")
            continue
        message_id = str(record.get("messageId") or "")
        remaining = _remaining_seconds(context, float(runtime.config.default_function_timeout_seconds))
        if remaining < MIN_REMAINING_SECONDS:
            log.warning("deferring_record_low_time", message_id=message_id, remaining_seconds=remaining)
            if message_id:
                failures.append({"itemIdentifier": message_id})
            continue
        attributes = record.get("attributes")
        receive_count = attributes.get("ApproximateReceiveCount") if isinstance(attributes, dict) else None
        try:
            disposition = runtime.engine.handle_body(
                record.get("body"), lease_seconds=remaining + runtime.config.lease_margin_seconds
            )
        except Exception as exc:  # transient AWS errors and bugs alike: let SQS retry (then DLQ)
            log.error(
                "record_failed",
                message_id=message_id,
                receive_count=receive_count,
                error_type=type(exc).__name__,
                error_code=error_code(exc) or None,
                error=str(exc)[:500],
            )
            disposition = Disposition.RETRY
        if disposition is Disposition.RETRY and message_id:
            failures.append({"itemIdentifier": message_id})
            _shorten_visibility(runtime, record, receive_count)
    return {"batchItemFailures": failures}


def retry_delay_seconds(config: DrainConfig, receive_count: int) -> int:
    """Backoff before a failed record is delivered again."""
    exponent = max(0, min(receive_count - 1, 16))
    return min(config.retry_max_seconds, config.retry_base_seconds * 2**exponent)


def _shorten_visibility(runtime: Runtime, record: dict[str, Any], receive_count: object) -> None:
    """Make a failed record visible again after the backoff (falls back to the queue's timeout)."""
    handle = record.get("receiptHandle")
    if not isinstance(handle, str) or not handle:
        return
    try:
        count = int(str(receive_count))
    except ValueError:
        count = 1
    delay = retry_delay_seconds(runtime.config, count)
    try:
        runtime.clients.sqs.change_message_visibility(
            QueueUrl=runtime.config.queue_url, ReceiptHandle=handle, VisibilityTimeout=delay
        )
    except Exception as exc:  # best effort: the queue's visibility timeout still applies
        runtime.log.warning(
            "retry_backoff_not_applied", message_id=record.get("messageId"), error_code=error_code(exc) or None
        )

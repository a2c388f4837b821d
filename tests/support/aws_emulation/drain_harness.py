"""The drain Lambda wired to the emulation: its handler bound to the emulated clients and clock,
driven from the emulated queue, and what tests read back (drain records, log lines).

Reproduces no AWS behaviour itself; it puts the Lambda under test into the emulated account the
way the deployment does (its environment comes from :meth:`DataPlane.lambda_env`).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Mapping
from typing import Any

import pytest

from tests.support.aws_emulation.autoscaling_lifecycle import LifecycleAction
from tests.support.aws_emulation.emulation import AwsEmulation
from tests.support.aws_emulation.lambda_event_source import Handler, LambdaDriver
from tests.support.aws_emulation.provisioning import DataPlane, provision_data_plane
from tests.support.aws_emulation.ssm_check_runners import ScriptedCheckRunner
from tests.support.lambda_loader import DRAIN_LOGGER, load_drain_lambda


def make_handler(emu: AwsEmulation, env: Mapping[str, str], **config_overrides: Any) -> tuple[Handler, Any]:
    """A handler bound to the emulation's clients and clock; returns ``(handler, runtime)``.

    ``config_overrides`` replace tuning fields of the Lambda's ``DrainConfig`` (e.g.
    ``heartbeat_margin_seconds``).
    """
    runtime_module = load_drain_lambda()
    config_module = importlib.import_module("lifecycle_drain.config")
    config = config_module.DrainConfig.from_env(env)
    if config_overrides:
        config = dataclasses.replace(config, **config_overrides)
    runtime = runtime_module.build_runtime(config=config, client_factory=emu.client, clock=emu.clock)

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return runtime_module.handle_sqs_event(event, runtime, context)

    return handler, runtime


@dataclasses.dataclass
class DrainHarness:
    """One emulated environment with the drain Lambda wired to it."""

    emu: AwsEmulation
    plane: DataPlane
    handler: Handler
    runtime: Any
    driver: LambdaDriver

    def record(self, token: str) -> Any:
        """The Lambda's drain record for a token (a ``lifecycle_drain.state.DrainRecord``), or None."""
        state = importlib.import_module("lifecycle_drain.state")
        item = (
            self.emu.internal("dynamodb")
            .get_item(TableName=self.plane.table_name, Key={"pk": {"S": state.record_key(token)}}, ConsistentRead=True)
            .get("Item")
        )
        return state.DrainRecord.from_item(item) if item else None

    def finished(self, token: str) -> bool:
        """Whether the drain of ``token`` is DONE."""
        record = self.record(token)
        return record is not None and record.status.value == "DONE"

    def run_until_finished(self, token: str, max_seconds: float) -> Any:
        """Drive until the drain of ``token`` is DONE (or time runs out); return its record."""
        self.driver.run(until=lambda: self.finished(token), max_seconds=max_seconds)
        return self.record(token)

    def start(self, instance_id: str | None = None, **kwargs: Any) -> LifecycleAction:
        """Begin terminating an instance (the first one by default)."""
        return self.emu.lifecycle.begin_termination(
            instance_id or self.plane.instance_ids[0], self.plane.asg_name, **kwargs
        )


def build_harness(
    emu: AwsEmulation,
    *,
    env: Mapping[str, str] | None = None,
    config: Mapping[str, Any] | None = None,
    batch_size: int = 1,
    **provision: Any,
) -> DrainHarness:
    """Provision a data plane and wire the Lambda (env overrides, DrainConfig overrides) to it."""
    plane = provision_data_plane(emu, **provision)
    handler, runtime = make_handler(emu, plane.lambda_env(**dict(env or {})), **dict(config or {}))
    driver = LambdaDriver(emu, handler, batch_size=batch_size)
    return DrainHarness(emu, plane, handler, runtime, driver)


def drain_log_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The drain Lambda's log lines, parsed (each must be one JSON object)."""
    return [json.loads(record.getMessage()) for record in caplog.records if record.name == DRAIN_LOGGER]


def script_checks(emu: AwsEmulation, *, drained_at: float | None, pending: int = 3) -> None:
    """Drain-check results: ``pending`` jobs until ``drained_at``, drained afterwards (never if None)."""

    def outcome(instance_id: str, now: float) -> tuple[str, int | None]:
        if drained_at is not None and now >= drained_at:
            return "drained", 0
        return "pending", pending

    emu.ssm.runner = ScriptedCheckRunner(emu.clock, outcome)

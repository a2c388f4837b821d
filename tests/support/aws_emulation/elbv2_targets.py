"""ELBv2 target registration states on virtual time (moto jumps from registered straight to "unused").

Reproduces ``RegisterTargets`` / ``DeregisterTargets`` / ``DescribeTargetHealth``: ``initial``
then ``healthy`` (``unused`` when no load balancer uses the group), ``draining`` for the group's
deregistration delay after deregistration, then gone; ``Target.NotRegistered`` and
``TargetGroupNotFound`` answers. Details in :class:`TargetGroupEmulation`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from tests.support.aws_emulation.api_calls import EmulatedError

if TYPE_CHECKING:
    from tests.support.aws_emulation.emulation import AwsEmulation


@dataclasses.dataclass
class TargetRecord:
    """One registration (target id + port) in a target group."""

    target_group_arn: str
    target_id: str
    port: int
    registered_at: float
    state_override: str | None = None
    draining_until: float | None = None
    timer: int | None = None


class TargetGroupEmulation:
    """ELBv2 target registration states (moto jumps from registered straight to "unused").

    Reproduces: a registered target is ``initial`` for its first health checks, then
    ``healthy`` (``unused`` / ``Target.NotInUse`` when no load balancer uses the group);
    ``DeregisterTargets`` puts it into ``draining`` (``Target.DeregistrationInProgress``) for the
    group's ``deregistration_delay.timeout_seconds`` (read from moto), after which it is no
    longer listed; ``DescribeTargetHealth`` without ``Targets`` lists registered targets only,
    with ``Targets`` it answers ``unused`` / ``Target.NotRegistered`` for unknown ones; an
    unknown group answers ``TargetGroupNotFound``; a terminated instance is deregistered
    (draining, then gone).
    """

    def __init__(self, emu: AwsEmulation, *, initial_seconds: float = 15.0) -> None:
        """Attach to the emulation."""
        self._emu = emu
        self.initial_seconds = initial_seconds
        self.targets: dict[str, dict[tuple[str, int], TargetRecord]] = {}
        self.deregistrations: list[tuple[float, str, str, int]] = []

    def _group(self, arn: str) -> dict[str, Any]:
        """The moto description of a target group (TargetGroupNotFound if unknown)."""
        try:
            groups = self._emu.internal("elbv2").describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
        except Exception as exc:
            raise EmulatedError("TargetGroupNotFound", f"One or more target groups not found: {arn}") from exc
        if not groups:
            raise EmulatedError("TargetGroupNotFound", f"One or more target groups not found: {arn}")
        return groups[0]

    def _delay(self, arn: str) -> float:
        """The group's deregistration delay."""
        attributes = self._emu.internal("elbv2").describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
        for attribute in attributes:
            if attribute["Key"] == "deregistration_delay.timeout_seconds":
                return float(attribute["Value"])
        return 300.0

    # -- test-facing -------------------------------------------------------------------

    def register(self, arn: str, target_id: str, port: int | None = None, *, healthy_now: bool = False) -> None:
        """Register a target (optionally already past its initial health checks)."""
        self.register_targets(
            {"TargetGroupArn": arn, "Targets": [{"Id": target_id, **({"Port": port} if port else {})}]}
        )
        if healthy_now:
            for record in self.targets[arn].values():
                if record.target_id == target_id:
                    record.registered_at = self._emu.clock.now() - self.initial_seconds

    def set_health(self, arn: str, target_id: str, state: str | None) -> None:
        """Force a health state (e.g. ``unhealthy``) for a registered target (None to clear)."""
        for record in self.targets.get(arn, {}).values():
            if record.target_id == target_id:
                record.state_override = state

    def registrations_of(self, target_id: str) -> list[TargetRecord]:
        """All current registrations of a target."""
        return [record for group in self.targets.values() for record in group.values() if record.target_id == target_id]

    def remove_instance(self, instance_id: str) -> None:
        """A terminated instance: its registrations drain, then disappear."""
        for arn, group in self.targets.items():
            for record in list(group.values()):
                if record.target_id == instance_id and record.draining_until is None:
                    self._start_draining(arn, record)

    # -- API ---------------------------------------------------------------------------

    def register_targets(self, params: dict[str, Any]) -> dict[str, Any]:
        """RegisterTargets."""
        arn = params["TargetGroupArn"]
        group = self._group(arn)
        now = self._emu.clock.now()
        bucket = self.targets.setdefault(arn, {})
        for target in params.get("Targets", []):
            port = int(target.get("Port") or group.get("Port") or 80)
            key = (target["Id"], port)
            existing = bucket.get(key)
            if existing is not None:
                self._emu.clock.cancel(existing.timer)
            bucket[key] = TargetRecord(arn, target["Id"], port, registered_at=now)
        return {}

    def deregister_targets(self, params: dict[str, Any]) -> dict[str, Any]:
        """DeregisterTargets: registered targets start draining."""
        arn = params["TargetGroupArn"]
        self._group(arn)
        bucket = self.targets.setdefault(arn, {})
        for target in params.get("Targets", []):
            matches = [
                record
                for record in bucket.values()
                if record.target_id == target["Id"] and ("Port" not in target or record.port == int(target["Port"]))
            ]
            for record in matches:
                if record.draining_until is None:
                    self.deregistrations.append((self._emu.clock.now(), arn, record.target_id, record.port))
                    self._start_draining(arn, record)
        return {}

    def describe_target_health(self, params: dict[str, Any]) -> dict[str, Any]:
        """DescribeTargetHealth."""
        arn = params["TargetGroupArn"]
        group = self._group(arn)
        bucket = self.targets.get(arn, {})
        in_use = bool(group.get("LoadBalancerArns"))
        descriptions: list[dict[str, Any]] = []
        if params.get("Targets"):
            for target in params["Targets"]:
                matches = [
                    record
                    for record in bucket.values()
                    if record.target_id == target["Id"] and ("Port" not in target or record.port == int(target["Port"]))
                ]
                if matches:
                    descriptions.extend(self._describe(record, in_use) for record in matches)
                else:
                    port = int(target.get("Port") or group.get("Port") or 80)
                    descriptions.append(
                        {
                            "Target": {"Id": target["Id"], "Port": port},
                            "HealthCheckPort": str(port),
                            "TargetHealth": {
                                "State": "unused",
                                "Reason": "Target.NotRegistered",
                                "Description": "Target is not registered to the target group",
                            },
                        }
                    )
        else:
            descriptions = [self._describe(record, in_use) for record in bucket.values()]
        return {"TargetHealthDescriptions": descriptions}

    # -- internals ----------------------------------------------------------------------

    def _describe(self, record: TargetRecord, in_use: bool) -> dict[str, Any]:
        """One TargetHealthDescription."""
        now = self._emu.clock.now()
        if record.draining_until is not None:
            health = {
                "State": "draining",
                "Reason": "Target.DeregistrationInProgress",
                "Description": "Target deregistration is in progress",
            }
        elif record.state_override:
            health = {"State": record.state_override, "Reason": "Target.FailedHealthChecks", "Description": "forced"}
        elif not in_use:
            health = {
                "State": "unused",
                "Reason": "Target.NotInUse",
                "Description": "Target group is not configured to receive traffic from the load balancer",
            }
        elif now < record.registered_at + self.initial_seconds:
            health = {
                "State": "initial",
                "Reason": "Elb.InitialHealthChecking",
                "Description": "Initial health checks in progress",
            }
        else:
            health = {"State": "healthy"}
        return {
            "Target": {"Id": record.target_id, "Port": record.port},
            "HealthCheckPort": str(record.port),
            "TargetHealth": health,
        }

    def _start_draining(self, arn: str, record: TargetRecord) -> None:
        """Begin the deregistration delay of one registration."""
        delay = self._delay(arn)
        record.draining_until = self._emu.clock.now() + delay
        key = (record.target_id, record.port)

        def remove() -> None:
            current = self.targets.get(arn, {}).get(key)
            if current is record:
                del self.targets[arn][key]

        record.timer = self._emu.clock.call_at(record.draining_until, remove, f"drained {record.target_id}")

"""Taking the instance out of every ELBv2 target group of its Auto Scaling group.

``DescribeTargetHealth`` without a ``Targets`` filter lists every *registered* target of a group
(any port) with its state: ``initial``, ``healthy``, ``unhealthy``, ``unhealthy.draining``,
``unused``, ``unavailable`` or ``draining``. A deregistered target stays listed as ``draining``
for the group's deregistration delay and then disappears. So: deregister every registration of
the instance that is not already ``draining``, and wait until none is listed any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..aws import is_client_error

DRAINING = "draining"


@dataclass(frozen=True)
class Registration:
    """One registration of the instance in a target group."""

    target_group_arn: str
    port: int | None
    state: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (logs, progress details)."""
        return {
            "target_group_arn": self.target_group_arn,
            "port": self.port,
            "state": self.state,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SweepResult:
    """Outcome of one pass over the target groups."""

    deregistered: tuple[Registration, ...] = ()
    draining: tuple[Registration, ...] = ()
    missing_target_groups: tuple[str, ...] = ()

    @property
    def clear(self) -> bool:
        """The instance is in no target group (not even draining)."""
        return not self.deregistered and not self.draining

    @property
    def was_registered(self) -> bool:
        """The instance was found in at least one target group."""
        return bool(self.deregistered or self.draining)


class TargetGroups:
    """Describe and deregister an instance's target registrations."""

    def __init__(self, elbv2: Any) -> None:
        """Use the given ELBv2 client."""
        self._elbv2 = elbv2

    def registrations(self, target_group_arn: str, instance_id: str) -> list[Registration] | None:
        """The instance's registrations in one target group; None when the group does not exist."""
        try:
            response = self._elbv2.describe_target_health(TargetGroupArn=target_group_arn)
        except Exception as exc:
            if is_client_error(exc, "TargetGroupNotFound", "TargetGroupNotFoundException"):
                return None
            raise
        found: list[Registration] = []
        for description in response.get("TargetHealthDescriptions", []):
            target = description.get("Target", {})
            if target.get("Id") != instance_id:
                continue
            health = description.get("TargetHealth", {})
            port = target.get("Port")
            found.append(
                Registration(
                    target_group_arn=target_group_arn,
                    port=int(port) if port is not None else None,
                    state=str(health.get("State", "")),
                    reason=health.get("Reason"),
                )
            )
        return found

    def sweep(self, target_group_arns: tuple[str, ...] | list[str], instance_id: str) -> SweepResult:
        """Deregister every non-draining registration; report what is still draining."""
        deregistered: list[Registration] = []
        draining: list[Registration] = []
        missing: list[str] = []
        for arn in target_group_arns:
            found = self.registrations(arn, instance_id)
            if found is None:
                missing.append(arn)
                continue
            to_remove = [item for item in found if item.state != DRAINING]
            draining.extend(item for item in found if item.state == DRAINING)
            if to_remove:
                self._deregister(arn, instance_id, to_remove)
                deregistered.extend(to_remove)
        return SweepResult(tuple(deregistered), tuple(draining), tuple(missing))

    def _deregister(self, arn: str, instance_id: str, registrations: list[Registration]) -> None:
        """DeregisterTargets for the given registrations (already-gone targets are fine)."""
        targets: list[dict[str, Any]] = []
        for item in registrations:
            target: dict[str, Any] = {"Id": instance_id}
            if item.port is not None:
                target["Port"] = item.port
            targets.append(target)
        try:
            self._elbv2.deregister_targets(TargetGroupArn=arn, Targets=targets)
        except Exception as exc:
            if is_client_error(exc, "InvalidTarget", "TargetGroupNotFound", "TargetGroupNotFoundException"):
                return
            raise

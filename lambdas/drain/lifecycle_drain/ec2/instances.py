"""Is the instance still there? Auto Scaling group view and EC2 instance state.

An instance counts as gone when EC2 no longer knows it (``InvalidInstanceID.NotFound``), when it
is ``shutting-down`` or ``terminated``, when its Auto Scaling group no longer exists, or when the
group no longer lists it (neither among its instances nor, for warm-pool transitions, in its
warm pool). Any of these means there is nothing left to drain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..aws import is_client_error

GONE_EC2_STATES = frozenset({"shutting-down", "terminated"})
_MAX_WARM_POOL_PAGES = 20


@dataclass(frozen=True)
class GroupView:
    """What DescribeAutoScalingGroups says about one group."""

    name: str
    exists: bool
    target_group_arns: tuple[str, ...] = ()
    instance_states: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Presence:
    """Whether the instance still exists as a member of its group."""

    present: bool
    reason: str
    ec2_state: str | None = None
    lifecycle_state: str | None = None


class InstanceInspector:
    """Reads instance and group state (Describe* calls only)."""

    def __init__(self, ec2: Any, autoscaling: Any) -> None:
        """Use the given EC2 and Auto Scaling clients."""
        self._ec2 = ec2
        self._autoscaling = autoscaling

    def group(self, asg_name: str) -> GroupView:
        """The group's target groups (TargetGroupARNs and elbv2 TrafficSources) and instances."""
        response = self._autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])
        for group in response.get("AutoScalingGroups", []):
            if group.get("AutoScalingGroupName") != asg_name:
                continue
            arns: list[str] = [arn for arn in group.get("TargetGroupARNs", []) if isinstance(arn, str)]
            for source in group.get("TrafficSources", []) or []:
                identifier = source.get("Identifier")
                kind = source.get("Type")
                is_elbv2 = kind == "elbv2" or (kind is None and ":targetgroup/" in str(identifier))
                if isinstance(identifier, str) and is_elbv2 and identifier not in arns:
                    arns.append(identifier)
            states = {
                str(item.get("InstanceId")): str(item.get("LifecycleState", ""))
                for item in group.get("Instances", [])
                if item.get("InstanceId")
            }
            return GroupView(name=asg_name, exists=True, target_group_arns=tuple(arns), instance_states=states)
        return GroupView(name=asg_name, exists=False)

    def ec2_state(self, instance_id: str) -> str | None:
        """The instance's EC2 state name, or None when EC2 does not know it."""
        try:
            response = self._ec2.describe_instances(InstanceIds=[instance_id])
        except Exception as exc:
            if is_client_error(exc, "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
                return None
            raise
        for reservation in response.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                if instance.get("InstanceId") == instance_id:
                    return str(instance.get("State", {}).get("Name", ""))
        return None

    def warm_pool_states(self, asg_name: str) -> dict[str, str]:
        """Lifecycle states of the group's warm-pool instances (empty without a warm pool)."""
        states: dict[str, str] = {}
        token: str | None = None
        for _ in range(_MAX_WARM_POOL_PAGES):
            kwargs: dict[str, Any] = {"AutoScalingGroupName": asg_name}
            if token:
                kwargs["NextToken"] = token
            try:
                response = self._autoscaling.describe_warm_pool(**kwargs)
            except Exception as exc:
                if is_client_error(exc, "ValidationError", "ResourceContention"):
                    return states
                raise
            for item in response.get("Instances", []) or []:
                if item.get("InstanceId"):
                    states[str(item["InstanceId"])] = str(item.get("LifecycleState", ""))
            token = response.get("NextToken")
            if not token:
                break
        return states

    def presence(self, instance_id: str, group: GroupView, *, warm_pool_involved: bool) -> Presence:
        """Decide whether the instance is still there (see the module docstring)."""
        state = self.ec2_state(instance_id)
        if state is None:
            return Presence(False, "instance_not_found")
        if state in GONE_EC2_STATES:
            return Presence(False, f"instance_{state.replace('-', '_')}", ec2_state=state)
        if not group.exists:
            return Presence(False, "auto_scaling_group_not_found", ec2_state=state)
        if instance_id in group.instance_states:
            return Presence(True, "in_group", ec2_state=state, lifecycle_state=group.instance_states[instance_id])
        if warm_pool_involved:
            pool = self.warm_pool_states(group.name)
            if instance_id in pool:
                return Presence(True, "in_warm_pool", ec2_state=state, lifecycle_state=pool[instance_id])
        return Presence(False, "not_in_auto_scaling_group", ec2_state=state)

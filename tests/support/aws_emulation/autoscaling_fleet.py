"""Auto Scaling group membership that moto does not track.

Reproduces, by patching moto's describe answers: the ``LifecycleState`` of an instance in a
lifecycle wait state (``Terminating:Wait``, ``Terminating:Proceed``, ``Warmed:*``), warm-pool
instances (listed by ``DescribeWarmPool``, not among the group's ``Instances``), instances that
left the group, and the ``TrafficSources`` attached to a group. Details in :class:`FleetOverlay`.
"""

from __future__ import annotations

from typing import Any

from tests.support.aws_emulation.account import REGION


class FleetOverlay:
    """Auto Scaling membership details moto does not model.

    Reproduces: the ``LifecycleState`` of an instance in a lifecycle wait state
    (``Terminating:Wait``, ``Terminating:Proceed``), warm-pool instances (listed by
    ``DescribeWarmPool``, not among the group's ``Instances``), instances that left the group,
    and ``TrafficSources`` attached to a group (moto's group description has none).
    """

    def __init__(self) -> None:
        """Nothing overridden."""
        self.lifecycle_state: dict[str, str] = {}
        self.removed: set[str] = set()
        self.warm_pool: dict[str, dict[str, str]] = {}
        self.traffic_sources: dict[str, list[dict[str, str]]] = {}

    def in_warm_pool(self, instance_id: str) -> str | None:
        """The group name whose warm pool holds the instance."""
        for group, members in self.warm_pool.items():
            if instance_id in members:
                return group
        return None

    def patch_groups(self, parsed: dict[str, Any]) -> None:
        """Apply the overlay to a DescribeAutoScalingGroups response."""
        for group in parsed.get("AutoScalingGroups", []):
            name = group.get("AutoScalingGroupName")
            pool = self.warm_pool.get(name, {})
            kept = []
            for item in group.get("Instances", []):
                instance_id = item.get("InstanceId")
                if instance_id in self.removed or instance_id in pool:
                    continue
                if instance_id in self.lifecycle_state:
                    item["LifecycleState"] = self.lifecycle_state[instance_id]
                kept.append(item)
            group["Instances"] = kept
            sources = self.traffic_sources.get(name)
            if sources:
                group["TrafficSources"] = [dict(source) for source in sources]

    def patch_warm_pool(self, parsed: dict[str, Any], group_name: str) -> None:
        """Fill a DescribeWarmPool response with the overlay's warm-pool instances."""
        parsed["Instances"] = [
            {
                "InstanceId": instance_id,
                "InstanceType": "t3.large",
                "AvailabilityZone": f"{REGION}a",
                "LifecycleState": self.lifecycle_state.get(instance_id, state),
                "HealthStatus": "Healthy",
            }
            for instance_id, state in self.warm_pool.get(group_name, {}).items()
            if instance_id not in self.removed
        ]

    def patch_instances(self, parsed: dict[str, Any]) -> None:
        """Apply the overlay to a DescribeAutoScalingInstances response."""
        parsed["AutoScalingInstances"] = [
            {**item, "LifecycleState": self.lifecycle_state.get(item["InstanceId"], item["LifecycleState"])}
            for item in parsed.get("AutoScalingInstances", [])
            if item["InstanceId"] not in self.removed
        ]

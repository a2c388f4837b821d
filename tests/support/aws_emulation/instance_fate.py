"""What happens to an instance across EC2, Auto Scaling and ELBv2 when it terminates, vanishes,
or moves in and out of its group's warm pool.

Reproduces: a terminated group member leaves its group (the desired capacity shrinks), its
targets drain and then disappear; an instance terminated directly in EC2 drains the same way; a
warm-pool instance is detached from the group and stopped, and started and attached again when
it returns. The Auto Scaling overlay (:mod:`~tests.support.aws_emulation.autoscaling_fleet`)
keeps what moto cannot (lifecycle states, warm-pool membership).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.aws_emulation.account import ACCOUNT_ID

if TYPE_CHECKING:
    from tests.support.aws_emulation.emulation import AwsEmulation


class InstanceFate:
    """Ends and moves instances in moto and in the emulated parts (see the module docstring)."""

    def __init__(self, emu: AwsEmulation) -> None:
        """Attach to the emulation."""
        self._emu = emu

    def ec2_state(self, instance_id: str) -> str | None:
        """EC2 state name of an instance (None if unknown).

        Read from moto's EC2 backend directly (serialising a DescribeInstances answer is slow and
        the emulation asks often); falls back to the API if moto's internals change.
        """
        try:
            from moto.ec2.models import ec2_backends

            instance = ec2_backends[ACCOUNT_ID][self._emu.region].get_instance(instance_id)
            return str(instance._state.name)
        except Exception:  # unknown instance, or moto internals moved: ask the API
            pass
        try:
            reservations = self._emu.internal("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
        except Exception:
            return None
        for reservation in reservations:
            for instance in reservation["Instances"]:
                return str(instance["State"]["Name"])
        return None

    def _in_moto_group(self, instance_id: str) -> str | None:
        """The moto group still holding the instance."""
        found = self._emu.internal("autoscaling").describe_auto_scaling_instances(InstanceIds=[instance_id])
        items = found.get("AutoScalingInstances", [])
        return items[0]["AutoScalingGroupName"] if items else None

    def terminate_instance(self, instance_id: str) -> None:
        """The instance terminates (after its lifecycle action, or abruptly)."""
        if self._in_moto_group(instance_id):
            self._emu.internal("autoscaling").terminate_instance_in_auto_scaling_group(
                InstanceId=instance_id, ShouldDecrementDesiredCapacity=True
            )
        elif self.ec2_state(instance_id) not in (None, "terminated"):
            self._emu.internal("ec2").terminate_instances(InstanceIds=[instance_id])
        self._emu.fleet.removed.add(instance_id)
        self._emu.fleet.lifecycle_state.pop(instance_id, None)
        for members in self._emu.fleet.warm_pool.values():
            members.pop(instance_id, None)
        self._emu.elbv2.remove_instance(instance_id)

    def vanish_instance(self, instance_id: str) -> None:
        """Someone terminates the instance directly in EC2 (not through its group)."""
        self._emu.internal("ec2").terminate_instances(InstanceIds=[instance_id])
        self._emu.fleet.removed.add(instance_id)
        self._emu.elbv2.remove_instance(instance_id)

    def move_to_warm_pool(self, instance_id: str, asg_name: str, state: str = "Warmed:Stopped") -> None:
        """The instance leaves the group for its warm pool (stopped)."""
        if self._in_moto_group(instance_id):
            self._emu.internal("autoscaling").detach_instances(
                InstanceIds=[instance_id], AutoScalingGroupName=asg_name, ShouldDecrementDesiredCapacity=True
            )
        if self.ec2_state(instance_id) == "running" and state.endswith("Stopped"):
            self._emu.internal("ec2").stop_instances(InstanceIds=[instance_id])
        self._emu.fleet.warm_pool.setdefault(asg_name, {})[instance_id] = state
        self._emu.fleet.lifecycle_state.pop(instance_id, None)

    def return_to_group(self, instance_id: str, asg_name: str) -> None:
        """A warm-pool instance is started and put back in service in its group."""
        if self.ec2_state(instance_id) == "stopped":
            self._emu.internal("ec2").start_instances(InstanceIds=[instance_id])
        self._emu.fleet.warm_pool.get(asg_name, {}).pop(instance_id, None)
        self._emu.fleet.lifecycle_state.pop(instance_id, None)
        self._emu.fleet.removed.discard(instance_id)
        if not self._in_moto_group(instance_id):
            self._emu.internal("autoscaling").attach_instances(InstanceIds=[instance_id], AutoScalingGroupName=asg_name)

"""One deployed single-node environment for the drill's tests: moto holds the VPC, the load balancer,
the target group, the instances and the FIS templates; :mod:`.health_replacement` and :mod:`.fis` answer
what moto cannot, all on one :class:`~tests.support.aws_emulation.clock.VirtualClock`.

Reproduces no AWS behaviour by itself (see those two modules); it wires them to boto3 clients through
:mod:`.answered_operations` and can answer chosen calls with ``ThrottlingException`` (the documented
error of a rate-exceeded call) to exercise the drill's backoff.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.parts.load_balancer import spec as lb_spec
from rudder_ha.parts.single_node_group import spec as group_spec
from tests.support.aws_emulation.answered_operations import AnsweredError, answer_operations
from tests.support.aws_emulation.clock import VirtualClock
from tests.support.aws_emulation.fis import FisEmulation
from tests.support.aws_emulation.health_replacement import HealthCheck, HealthReplacement, Timings

ACCOUNT = "123456789012"


class DrillClock:
    """The drill's clock on virtual time: sleeping advances the emulation (timers fire in order)."""

    def __init__(self, clock: VirtualClock) -> None:
        """Wraps ``clock``."""
        self.virtual = clock
        self.slept = 0.0

    def now(self) -> float:
        """Virtual now."""
        return self.virtual.now()

    def sleep(self, seconds: float) -> None:
        """Advances virtual time."""
        self.slept += max(0.0, seconds)
        self.virtual.advance(max(0.0, seconds))


@dataclass
class DrillWorld:
    """The emulated environment and its client factory."""

    config: EnvironmentConfig
    clock: VirtualClock
    plane: HealthReplacement
    fis: FisEmulation
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    throttled: Counter[tuple[str, str]] = field(default_factory=Counter)
    """``(service, operation) -> how many of the next calls answer ThrottlingException``."""
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        """A boto3 client (one per service) wired to the emulation."""
        if service not in self._clients:
            client = boto3.client(service, region_name=self.config.region)  # type: ignore[call-overload]
            operations = {
                "autoscaling": {
                    "DescribeAutoScalingGroups": self.plane.describe_groups,
                    "DescribeScalingActivities": self.plane.describe_activities,
                    "TerminateInstanceInAutoScalingGroup": self.plane.terminate_in_group,
                },
                "elbv2": {"DescribeTargetHealth": self.plane.describe_target_health},
                "ec2": {"TerminateInstances": self.plane.terminate_instances},
                "ssm": {"SendCommand": self.plane.send_command, "GetCommandInvocation": self.plane.get_invocation},
                "fis": {
                    "StartExperiment": self.fis.start,
                    "GetExperiment": self.fis.get,
                    "StopExperiment": self.fis.stop,
                },
            }.get(service, {})
            counted = {name: self._counted(service, name, fn) for name, fn in operations.items()}
            self._clients[service] = answer_operations(client, counted)
        return self._clients[service]

    def _counted(self, service: str, operation: str, answer: Any) -> Any:
        def call(params: dict[str, Any]) -> Any:
            self.calls[(service, operation)] += 1
            if self.throttled[(service, operation)] > 0:
                self.throttled[(service, operation)] -= 1
                raise AnsweredError("ThrottlingException", "Rate exceeded")
            return answer(params)

        return call


def build_world(
    config: EnvironmentConfig,
    *,
    timings: Timings | None = None,
    start_zone: str | None = None,
    clock: VirtualClock | None = None,
) -> DrillWorld:
    """Creates ``config``'s deployed resources in moto (call inside ``mock_aws``) with one healthy instance."""
    clock = clock or VirtualClock()
    region = config.region
    ec2 = boto3.client("ec2", region_name=region)
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        zone: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{index}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for index, zone in enumerate(config.network.availability_zones)
    }
    elbv2 = boto3.client("elbv2", region_name=region)
    prefix = config.name_prefix
    elbv2.create_load_balancer(
        Name=prefix, Subnets=list(subnets.values()), Type="application", Scheme="internet-facing"
    )
    hc = config.health_check
    tg_arn = elbv2.create_target_group(
        Name=lb_spec.target_group_name(prefix),
        Protocol="HTTP",
        Port=8080,
        VpcId=vpc,
        HealthCheckPath="/health",
        HealthCheckIntervalSeconds=hc.interval_seconds,
        HealthCheckTimeoutSeconds=hc.timeout_seconds,
        HealthyThresholdCount=hc.healthy_threshold,
        UnhealthyThresholdCount=hc.unhealthy_threshold,
    )["TargetGroups"][0]["TargetGroupArn"]
    image = ec2.describe_images(Filters=[{"Name": "architecture", "Values": ["x86_64"]}])["Images"][0]["ImageId"]
    name = group_spec.data_plane_name(prefix)
    failover = config.autoscaling.failover
    plane = HealthReplacement(
        clock,
        ec2,
        group_name=name,
        group_arn=f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:{uuid.uuid4()}:autoScalingGroupName/{name}",
        target_group_arn=tg_arn,
        subnets=subnets,
        image_id=image,
        health_check=HealthCheck(
            interval=hc.interval_seconds,
            healthy_threshold=hc.healthy_threshold,
            unhealthy_threshold=hc.unhealthy_threshold,
            deregistration_delay=hc.deregistration_delay_seconds,
        ),
        timings=timings or Timings(),
        grace_period=config.autoscaling.health_check_grace_period_seconds,
        lease_ttl=float(failover.lease_ttl_seconds) if failover.hot_standby else None,
    )
    zones = config.network.availability_zones
    plane.start_steady(start_zone or zones[0], standby_zone=zones[1] if len(zones) > 1 else zones[0])
    fis = FisEmulation(clock, boto3.client("fis", region_name=region), plane)
    return DrillWorld(config=config, clock=clock, plane=plane, fis=fis)

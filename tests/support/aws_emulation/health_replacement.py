"""A one-instance Auto Scaling group behind an ALB target group, failing and being replaced on virtual time.

moto keeps the VPC, the load balancer, the target group and the EC2 instances; it has no health checks,
no health replacement and no Run Command effects. This module adds them for the drill's tests and
reproduces these documented behaviours:

* ELB health checks (ELB user guide, "Health checks for your target groups"): every
  ``HealthCheckIntervalSeconds`` each registered target is checked; a new target is ``initial`` until
  ``HealthyThresholdCount`` consecutive checks pass, then ``healthy``; ``UnhealthyThresholdCount``
  consecutive failures make it ``unhealthy`` (``Target.FailedHealthChecks``; a frozen or cut-off backend
  fails by ``Target.Timeout``); a target whose instance is stopped or terminated is ``unused``
  (``Target.InvalidState``); a deregistered target is ``draining`` for the deregistration delay, then gone.
* Routing: the load balancer sends requests to healthy targets; when none is healthy it fails open to
  every registered target (ALB user guide, "Target group health"); no target at all answers 503.
* Auto Scaling health checks with type ELB (EC2 Auto Scaling user guide, "Health checks"): an InService
  instance whose EC2 state is not running, or which the load balancer reports unhealthy after the grace
  period, is marked Unhealthy and replaced; with the instance maintenance policy min 0 % / max 100 % the
  replacement is launched while the old instance terminates ("Instance maintenance policies").
* Termination (``TerminateInstanceInAutoScalingGroup`` or a health replacement): the instance is
  deregistered, waits in ``Terminating:Wait`` while the terminating lifecycle hook's drain runs (the drain
  completes the action after ``drain_seconds``), then ``Terminating:Proceed`` and terminated; an instance
  already gone from EC2 skips the hook.
* Launch: the replacement is ``Pending`` until running (a warm-pool start or a cold launch), then
  ``InService`` and registered; its backend answers ``/health`` after provisioning and application start.
  Launches avoid Availability Zones where launches fail (an insufficient-capacity error injected by FIS).
  Every launch and termination is a scaling activity with its ``StartTime``.
* Run Command (``AWS-RunShellScript``): an invocation does not exist for a moment after ``SendCommand``
  (``InvocationDoesNotExist``), is ``InProgress``, then ``Success``; ``docker pause rudder-backend`` freezes
  the backend. An instance that is not running or cut off from the network makes the command fail.

* Hot standby (the project's ``autoscaling.failover.mode: hot_standby``, README "Failover"): a group of
  two under EC2 health checks; the holder of the jobsdb lease serves, the standby is booted and fails
  ``/health``. The holder's agent renews the lease every sixth of its TTL while it runs and reaches the
  network, and yields it after 3 failed ``/health`` checks of its own backend, reporting itself
  Unhealthy (``SetInstanceHealth``); the standby polls every sixth of the TTL and takes a free or expired
  lease, then starts its backend; a terminating holder's drain releases the lease. The group replaces an
  instance that is not running or reported Unhealthy, and a new instance joins as a standby.

How long things take is the test's choice (:class:`Timings`); AWS publishes none of these durations.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.aws_emulation.answered_operations import AnsweredError
from tests.support.aws_emulation.clock import VirtualClock, iso

PAUSE_BACKEND = "docker pause rudder-backend"


@dataclass(frozen=True)
class Timings:
    """Durations of the emulated data plane (seconds)."""

    asg_health_period: float = 10.0
    launch: float = 25.0
    boot_to_serving: float = 20.0
    drain: float = 60.0
    terminate: float = 5.0
    invocation_appears: float = 0.5
    command_runs: float = 2.0
    takeover: float = 21.0
    """Hot standby: from taking the lease to the backend answering (fence handover, pre-start, app start)."""


@dataclass(frozen=True)
class HealthCheck:
    """The target group's health check settings."""

    interval: float = 5.0
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2
    deregistration_delay: float = 30.0


@dataclass
class Instance:
    """One instance of the group, as EC2, Auto Scaling, the target group and its backend see it."""

    instance_id: str
    zone: str
    subnet_id: str
    launched_at: float
    in_service_at: float = 0.0
    ec2_state: str = "running"
    lifecycle: str = "Pending"
    health: str = "Healthy"
    backend: str = "starting"
    """``starting``, ``serving`` or ``frozen``."""
    target: str | None = None
    """Target state: None (not registered), ``initial``, ``healthy``, ``unhealthy``, ``draining``, ``unused``."""
    reason: str = ""
    passes: int = 0
    failures: int = 0
    watch_failures: int = 0
    """Hot standby: the holder's agent's failed checks of its own backend in a row."""


@dataclass
class Invocation:
    """One Run Command invocation."""

    command_id: str
    instance_id: str
    commands: list[str]
    sent_at: float
    status: str = "InProgress"
    stderr: str = ""
    ended: float | None = None


@dataclass
class Activity:
    """One scaling activity."""

    description: str
    start: float
    activity_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class HealthReplacement:
    """The emulated group, target group and Run Command (see the module docstring)."""

    def __init__(
        self,
        clock: VirtualClock,
        ec2: Any,
        *,
        group_name: str,
        group_arn: str,
        target_group_arn: str,
        subnets: dict[str, str],
        image_id: str,
        health_check: HealthCheck,
        timings: Timings,
        grace_period: float,
        hook: bool = True,
        lease_ttl: float | None = None,
    ) -> None:
        """``ec2`` is a plain moto EC2 client (instances are created and terminated there too);
        ``subnets`` maps each zone to the group's subnet in it."""
        self.clock = clock
        self._ec2 = ec2
        self.group_name = group_name
        self.group_arn = group_arn
        self.target_group_arn = target_group_arn
        self.subnets = subnets
        self.image_id = image_id
        self.hc = health_check
        self.timings = timings
        self.grace_period = grace_period
        self.lease_ttl = lease_ttl
        """Set for a hot standby (the jobsdb lease's TTL); None: a group of one replaced on ELB health."""
        self.holder_id: str | None = None
        self.lease_expires = 0.0
        """The group's health check grace period: an instance's ELB health is ignored for this long after it
        is InService (EC2 Auto Scaling user guide, "Set the health check grace period")."""
        self.hook = hook
        self.instances: dict[str, Instance] = {}
        self.activities: list[Activity] = []
        self.invocations: dict[tuple[str, str], Invocation] = {}
        self.cut_off_subnets: set[str] = set()
        self.no_launch_zones: set[str] = set()
        self.health_checks_paused = False
        self.replacements_paused = False
        """A test can stop the group replacing instances (to reach a drill's deadline): no health replacement,
        and a termination through the group launches nothing."""
        self.history: list[tuple[float, str, str]] = []
        """``(time, event, instance id)``: what happened when, to check a drill's measurements against."""

    def _log(self, event: str, instance: Instance) -> None:
        self.history.append((self.clock.now(), event, instance.instance_id))

    def first(self, event: str, instance_id: str | None = None) -> float:
        """When ``event`` first happened (to ``instance_id``, if given); KeyError if it never did."""
        for at, name, who in self.history:
            if name == event and instance_id in (None, who):
                return at
        raise KeyError(event)

    # -- setup ------------------------------------------------------------------------------------

    @property
    def hot_standby(self) -> bool:
        """Whether this is a hot-standby pair."""
        return self.lease_ttl is not None

    def start_steady(self, zone: str, standby_zone: str | None = None) -> Instance:
        """One instance already InService, healthy and serving in ``zone`` (and, with a hot standby, the
        standby waiting in ``standby_zone``); starts the periodic checks. Returns the serving instance."""
        instance = self._create(zone)
        instance.lifecycle, instance.backend, instance.target = "InService", "serving", "healthy"
        self.clock.call_later(self.hc.interval, self._health_tick, "elb health checks")
        self.clock.call_later(self.timings.asg_health_period, self._asg_tick, "asg health checks")
        if self.lease_ttl is not None:
            standby = self._create(standby_zone or zone)
            standby.lifecycle, standby.backend = "InService", "standby"
            standby.target, standby.reason = "unhealthy", "Target.ResponseCodeMismatch"
            self.holder_id, self.lease_expires = instance.instance_id, self.clock.now() + self.lease_ttl
            self.clock.call_later(self.lease_ttl / 6, self._lease_tick, "lease renewals and polls")
        return instance

    # -- the jobsdb lease (hot standby) -------------------------------------------------------------

    def _agent_alive(self, instance: Instance) -> bool:
        return instance.ec2_state == "running" and self.reachable(instance) and instance.lifecycle != "Terminated"

    def _lease_tick(self) -> None:
        assert self.lease_ttl is not None
        now = self.clock.now()
        holder = self.instances.get(self.holder_id or "")
        if holder is not None and self._agent_alive(holder):
            if holder.backend == "frozen":
                holder.watch_failures += 1
                if holder.watch_failures >= 3:
                    self._log("lease yielded", holder)
                    self.holder_id = None
                    holder.health = "Unhealthy"  # autoscaling:SetInstanceHealth from the holder's agent
            else:
                holder.watch_failures = 0
            if self.holder_id is not None:
                self.lease_expires = now + self.lease_ttl
        if self.holder_id is None or now >= self.lease_expires:
            waiting = [
                i
                for i in self.in_group()
                if i.lifecycle == "InService" and i.backend == "standby" and self._agent_alive(i)
            ]
            if waiting:
                if holder is not None and holder.backend in ("serving", "frozen", "starting"):
                    holder.backend = "fenced"  # its login revoked, its sessions ended
                taker = waiting[0]
                self.holder_id, self.lease_expires = taker.instance_id, now + self.lease_ttl
                taker.backend = "starting"
                self._log("lease taken", taker)
                self.clock.call_later(self.timings.takeover, lambda: self._serving(taker), "backend answers")
        self.clock.call_later(self.lease_ttl / 6, self._lease_tick, "lease renewals and polls")

    def _create(self, zone: str) -> Instance:
        subnet = self.subnets[zone]
        made = self._ec2.run_instances(ImageId=self.image_id, MinCount=1, MaxCount=1, SubnetId=subnet)
        instance_id = made["Instances"][0]["InstanceId"]
        instance = Instance(instance_id, zone, subnet, self.clock.now())
        self.instances[instance_id] = instance
        return instance

    # -- what things look like ---------------------------------------------------------------------

    def in_group(self) -> list[Instance]:
        """Instances the group lists (not yet terminated)."""
        return [i for i in self.instances.values() if i.lifecycle != "Terminated"]

    def reachable(self, instance: Instance) -> bool:
        """Whether the network reaches the instance."""
        return instance.subnet_id not in self.cut_off_subnets

    def answers(self, instance: Instance) -> bool:
        """Whether ``GET /health`` on the instance answers 200."""
        return instance.ec2_state == "running" and instance.backend == "serving" and self.reachable(instance)

    def endpoint_status(self) -> int:
        """The HTTP status ``GET /health`` gets through the load balancer now."""
        registered = [i for i in self.instances.values() if i.target in ("initial", "healthy", "unhealthy")]
        healthy = [i for i in registered if i.target == "healthy"]
        candidates = healthy or registered  # fail open when none is healthy
        if not candidates:
            return 503
        chosen = candidates[0]
        if self.answers(chosen):
            return 200
        return 502 if chosen.ec2_state != "running" else 504

    # -- periodic checks ----------------------------------------------------------------------------

    def _health_tick(self) -> None:
        if not self.health_checks_paused:
            for instance in self.instances.values():
                self._check_target(instance)
        self.clock.call_later(self.hc.interval, self._health_tick, "elb health checks")

    def _check_target(self, instance: Instance) -> None:
        if instance.target not in ("initial", "healthy", "unhealthy"):
            return
        if instance.ec2_state != "running":
            instance.target, instance.reason = "unused", "Target.InvalidState"
            self._log("target unused", instance)
            return
        if self.answers(instance):
            instance.passes, instance.failures = instance.passes + 1, 0
            if instance.target != "healthy" and instance.passes >= self.hc.healthy_threshold:
                instance.target, instance.reason = "healthy", ""
                self._log("target healthy", instance)
            return
        instance.failures, instance.passes = instance.failures + 1, 0
        if instance.target != "unhealthy" and instance.failures >= self.hc.unhealthy_threshold:
            instance.target, instance.reason = "unhealthy", "Target.Timeout"
            self._log("target unhealthy", instance)

    def _asg_tick(self) -> None:
        now = self.clock.now()
        if not self.replacements_paused:
            for instance in list(self.in_group()):
                if instance.lifecycle != "InService":
                    continue
                lost = instance.ec2_state != "running"
                failing = instance.target == "unhealthy" and now >= instance.in_service_at + self.grace_period
                if self.hot_standby:  # EC2 health checks, and what the holder's agent reported
                    failing = instance.health == "Unhealthy"
                if lost or failing:
                    instance.health = "Unhealthy"
                    self.replace(instance, cause="an instance was taken out of service in response to a health check")
        self.clock.call_later(self.timings.asg_health_period, self._asg_tick, "asg health checks")

    # -- termination and launch ------------------------------------------------------------------

    def replace(self, old: Instance, cause: str) -> Activity:
        """Terminates ``old`` (through its hook) and launches a replacement at the same time; returns the
        termination's activity."""
        ending = Activity(f"Terminating EC2 instance: {old.instance_id} ({cause})", self.clock.now())
        self.activities.append(ending)
        if old.target in ("initial", "healthy", "unhealthy"):
            old.target, old.reason = "draining", "Target.DeregistrationInProgress"
            self._log("target draining", old)
            self.clock.call_later(self.hc.deregistration_delay, lambda: self._forget_target(old), "deregistered")
        if self.hook and old.ec2_state == "running":
            old.lifecycle = "Terminating:Wait"
            if self.holder_id == old.instance_id and self._agent_alive(old):
                old.backend = "stopped"  # the drain stops the backend and releases the lease
                self.holder_id = None
                self._log("lease released", old)
            self.clock.call_later(self.timings.drain, lambda: self._proceed(old), "drain completes the hook")
        else:
            old.lifecycle = "Terminating"
            self.clock.call_later(self.timings.terminate, lambda: self._terminated(old), "terminated")
        if not self.replacements_paused:
            self._launch(avoid=old.zone)
        return ending

    def _forget_target(self, instance: Instance) -> None:
        if instance.target == "draining":
            instance.target, instance.reason = None, ""

    def _proceed(self, instance: Instance) -> None:
        instance.lifecycle = "Terminating:Proceed"
        self.clock.call_later(self.timings.terminate, lambda: self._terminated(instance), "terminated")

    def _terminated(self, instance: Instance) -> None:
        if instance.ec2_state != "terminated":
            self._ec2.terminate_instances(InstanceIds=[instance.instance_id])
        instance.ec2_state, instance.lifecycle = "terminated", "Terminated"
        self._log("terminated", instance)

    def _launch(self, avoid: str) -> None:
        zones = [z for z in self.subnets if z not in self.no_launch_zones]
        if not zones:
            self.activities.append(
                Activity("Launching a new EC2 instance. Status Reason: no capacity", self.clock.now())
            )
            return
        busy = {i.zone for i in self.in_group() if not i.lifecycle.startswith("Terminating")}
        zones.sort(key=lambda z: (z in busy, z == avoid))
        instance = self._create(zones[0])
        self.activities.append(Activity(f"Launching a new EC2 instance: {instance.instance_id}", self.clock.now()))
        self._log("launched", instance)
        self.clock.call_later(self.timings.launch, lambda: self._in_service(instance), "in service")

    def _in_service(self, instance: Instance) -> None:
        instance.lifecycle, instance.target, instance.reason = "InService", "initial", "Elb.RegistrationInProgress"
        instance.in_service_at = self.clock.now()
        self._log("in service", instance)
        self.clock.call_later(self.timings.boot_to_serving, lambda: self._serving(instance), "backend answers")

    def _serving(self, instance: Instance) -> None:
        if instance.backend != "starting":
            return
        if self.hot_standby and self.holder_id != instance.instance_id:
            instance.backend = "standby"  # booted; its acquire waits for the lease
            return
        instance.backend = "serving"
        self._log("backend serving", instance)

    # -- AWS operations answered here -------------------------------------------------------------------

    def describe_groups(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """``DescribeAutoScalingGroups`` for the emulated group (other names: left to moto)."""
        if self.group_name not in params.get("AutoScalingGroupNames", [self.group_name]):
            return None
        members = [
            {
                "InstanceId": i.instance_id,
                "AvailabilityZone": i.zone,
                "LifecycleState": i.lifecycle,
                "HealthStatus": i.health,
                "ProtectedFromScaleIn": False,
            }
            for i in self.in_group()
        ]
        group = {
            "AutoScalingGroupName": self.group_name,
            "AutoScalingGroupARN": self.group_arn,
            "MinSize": 1,
            "MaxSize": 1,
            "DesiredCapacity": 1,
            "DefaultCooldown": 300,
            "AvailabilityZones": sorted(self.subnets),
            "HealthCheckType": "ELB",
            "CreatedTime": datetime.fromtimestamp(0, tz=UTC),
            "Instances": members,
            "TargetGroupARNs": [self.target_group_arn],
            "VPCZoneIdentifier": ",".join(self.subnets.values()),
        }
        return {"AutoScalingGroups": [group]}

    def describe_activities(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """``DescribeScalingActivities``: newest first."""
        if params.get("AutoScalingGroupName") != self.group_name:
            return None
        newest = sorted(self.activities, key=lambda a: a.start, reverse=True)[: params.get("MaxRecords", 100)]
        return {
            "Activities": [
                {
                    "ActivityId": a.activity_id,
                    "AutoScalingGroupName": self.group_name,
                    "Description": a.description,
                    "Cause": "emulated",
                    "StartTime": datetime.fromtimestamp(a.start, tz=UTC),
                    "StatusCode": "Successful",
                    "Progress": 100,
                }
                for a in newest
            ]
        }

    def terminate_in_group(self, params: dict[str, Any]) -> dict[str, Any]:
        """``TerminateInstanceInAutoScalingGroup`` without lowering the desired capacity."""
        instance = self.instances.get(params["InstanceId"])
        if instance is None or instance.lifecycle == "Terminated":
            raise AnsweredError(
                "ValidationError",
                f"Instance Id not found - No managed instance found for instance ID: {params['InstanceId']}",
            )
        if params.get("ShouldDecrementDesiredCapacity"):
            raise AnsweredError(
                "ValidationError",
                "Currently, desiredSize equals minSize (1). Terminating instance without replacement will "
                "violate group's min size constraint.",
            )
        ending = self.replace(instance, cause="terminated through the group")
        return {
            "Activity": {
                "ActivityId": ending.activity_id,
                "AutoScalingGroupName": self.group_name,
                "Description": ending.description,
                "Cause": "user request",
                "StartTime": datetime.fromtimestamp(ending.start, tz=UTC),
                "StatusCode": "InProgress",
            }
        }

    def terminate_instances(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """``ec2:TerminateInstances`` of the group's instances (others: left to moto)."""
        ids = params.get("InstanceIds", [])
        if not ids or any(i not in self.instances for i in ids):
            return None
        out = []
        for instance_id in ids:
            instance = self.instances[instance_id]
            before = instance.ec2_state
            self._ec2.terminate_instances(InstanceIds=[instance_id])
            instance.ec2_state = "terminated"
            self._log("terminated", instance)
            out.append(
                {
                    "InstanceId": instance_id,
                    "CurrentState": {"Code": 32, "Name": "shutting-down"},
                    "PreviousState": {"Code": 16, "Name": before},
                }
            )
        return {"TerminatingInstances": out}

    def describe_target_health(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """``DescribeTargetHealth`` of the emulated target group."""
        if params.get("TargetGroupArn") != self.target_group_arn:
            return None
        described = []
        for instance in self.instances.values():
            if instance.target is None:
                continue
            health: dict[str, Any] = {"State": instance.target}
            if instance.reason:
                health["Reason"] = instance.reason
            described.append(
                {
                    "Target": {"Id": instance.instance_id, "Port": 8080},
                    "HealthCheckPort": "8080",
                    "TargetHealth": health,
                }
            )
        return {"TargetHealthDescriptions": described}

    def send_command(self, params: dict[str, Any]) -> dict[str, Any]:
        """``SendCommand`` of ``AWS-RunShellScript`` to the group's instances."""
        if params.get("DocumentName") != "AWS-RunShellScript":
            raise AnsweredError("InvalidDocument", f"document {params.get('DocumentName')} is not emulated")
        command_id = str(uuid.uuid4())
        commands = list(params.get("Parameters", {}).get("commands", []))
        for instance_id in params.get("InstanceIds", []):
            if instance_id not in self.instances:
                raise AnsweredError("InvalidInstanceId", f"{instance_id} is not a managed instance")
            invocation = Invocation(command_id, instance_id, commands, self.clock.now())
            self.invocations[(command_id, instance_id)] = invocation
            self.clock.call_later(self.timings.command_runs, lambda inv=invocation: self._run(inv), "command runs")
        return {
            "Command": {
                "CommandId": command_id,
                "DocumentName": "AWS-RunShellScript",
                "Status": "Pending",
                "InstanceIds": params.get("InstanceIds", []),
            }
        }

    def _run(self, invocation: Invocation) -> None:
        instance = self.instances[invocation.instance_id]
        invocation.ended = self.clock.now()
        if instance.ec2_state != "running" or not self.reachable(instance):
            invocation.status, invocation.stderr = "Failed", "the instance is not reachable"
        elif invocation.commands == [PAUSE_BACKEND]:
            instance.backend = "frozen"
            self._log("backend frozen", instance)
            invocation.status = "Success"
        else:
            invocation.status, invocation.stderr = "Failed", f"{invocation.commands}: not emulated"

    def get_invocation(self, params: dict[str, Any]) -> dict[str, Any]:
        """``GetCommandInvocation``."""
        invocation = self.invocations.get((params["CommandId"], params["InstanceId"]))
        if invocation is None or self.clock.now() < invocation.sent_at + self.timings.invocation_appears:
            raise AnsweredError("InvocationDoesNotExist", "An error occurred (InvocationDoesNotExist)")
        return {
            "CommandId": invocation.command_id,
            "InstanceId": invocation.instance_id,
            "Status": invocation.status,
            "StatusDetails": invocation.status,
            "StandardOutputContent": "",
            "StandardErrorContent": invocation.stderr,
            **({"ExecutionEndDateTime": iso(invocation.ended)} if invocation.ended is not None else {}),
        }

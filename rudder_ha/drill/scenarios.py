"""Checking the environment is steady, and injecting each scenario's failure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.drill import fis
from rudder_ha.drill.clock import Backoff, Clock
from rudder_ha.drill.deployment import Deployment, DrillRefused, Member, members, target_states
from rudder_ha.drill.probe import Probe

HANG_COMMAND = "docker pause rudder-backend"
"""Freezes the backend's container (the cgroup freezer): the process stays, the port stays bound, nothing
answers, so only the load balancer's health check can notice. systemd sees nothing to restart."""
RUN_SHELL_DOCUMENT = "AWS-RunShellScript"
COMMAND_DEADLINE_SECONDS = 120.0
EXPERIMENT_START_DEADLINE_SECONDS = 180.0


@dataclass(frozen=True)
class Injection:
    """What was done, to which instance, and when it took effect (``at``, within ``uncertainty``)."""

    instance: Member
    at: float
    uncertainty: float
    source: str
    experiment_id: str | None = None


def steady_instance(
    deployment: Deployment, clients: Any, probe: Probe, group_size: int = 1
) -> tuple[Member, frozenset[str], frozenset[str]]:
    """The instance serving traffic (the only one the target group reports healthy), every instance id of the
    group, and the other InService instances (a hot standby's standby); raises DrillRefused unless the group
    has ``group_size`` InService instances, exactly one of them healthy, and ``/health`` answers 200."""
    group = members(clients, deployment.group_name)
    serving = [m for m in group if m.lifecycle_state == "InService"]
    if len(serving) != group_size or len(group) != group_size:
        listed = ", ".join(f"{m.instance_id} {m.lifecycle_state}" for m in group) or "no instances"
        raise DrillRefused(
            f"{deployment.group_name} is not steady ({listed}); rerun once {group_size} instance(s) are InService"
        )
    states = target_states(clients, deployment.target_group_arn)
    healthy = [m for m in serving if states.get(m.instance_id) == "healthy"]
    if len(healthy) != 1:
        seen = ", ".join(f"{m.instance_id} {states.get(m.instance_id, 'not registered')}" for m in serving)
        raise DrillRefused(
            f"the target group should report exactly one healthy instance ({seen}); rerun once it is healthy"
        )
    answer = probe(deployment.health_url)
    if not answer.ok:
        raise DrillRefused(
            f"{deployment.health_url} does not answer 200 ({answer.detail}); pass --endpoint URL when the domain "
            "does not point at this load balancer yet"
        )
    others = frozenset(m.instance_id for m in serving if m is not healthy[0])
    return healthy[0], frozenset(m.instance_id for m in group), others


def aws_time(value: Any) -> float | None:
    """Epoch seconds of an AWS timestamp (a datetime, or ISO-8601 text as Run Command gives), else None."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _wait(clock: Clock, deadline_seconds: float, what: str, ready: Any) -> tuple[float, float, Any]:
    """Polls ``ready()`` (returning None while not ready) with backoff until ``deadline_seconds``."""
    backoff = Backoff(base=1.0, ceiling=5.0, interval=1.0)
    start = last = clock.now()
    while True:
        found = ready()
        now = clock.now()
        if found is not None:
            return now, now - last, found
        if now - start >= deadline_seconds:
            raise DrillRefused(f"gave up after {deadline_seconds:.0f} s waiting until {what}")
        last = now
        clock.sleep(min(backoff.unchanged(), max(0.0, start + deadline_seconds - now)))


def inject_instance_loss(clients: Any, clock: Clock, target: Member) -> Injection:
    """Loses the instance through its group (issue 15): the group terminates it without lowering the desired
    capacity, so the terminating lifecycle hook and the drain run before it goes, and the group launches a
    replacement. The same call as :func:`inject_scale_in`; the scenarios differ in what they are read as."""
    return inject_scale_in(clients, clock, target)


def inject_scale_in(clients: Any, clock: Clock, target: Member) -> Injection:
    """Terminates the instance through its group without lowering the desired capacity: the terminating
    lifecycle hook and the drain run, and the group launches a replacement (what a scale-in or an instance
    refresh does to the instance it removes)."""
    clients("autoscaling").terminate_instance_in_auto_scaling_group(
        InstanceId=target.instance_id, ShouldDecrementDesiredCapacity=False
    )
    return Injection(target, clock.now(), 0.0, "autoscaling:TerminateInstanceInAutoScalingGroup returned")


def inject_hang(clients: Any, clock: Clock, target: Member, environment: str) -> Injection:
    """Freezes the backend through Run Command and waits for the command to succeed."""
    ssm = clients("ssm")
    sent = ssm.send_command(
        InstanceIds=[target.instance_id],
        DocumentName=RUN_SHELL_DOCUMENT,
        Parameters={"commands": [HANG_COMMAND]},
        Comment=f"rudder-ha drill hang ({environment})"[:100],
        TimeoutSeconds=60,
    )
    command_id = sent["Command"]["CommandId"]

    def finished() -> dict[str, Any] | None:
        try:
            answer = ssm.get_command_invocation(CommandId=command_id, InstanceId=target.instance_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvocationDoesNotExist":
                return None  # documented: the invocation can take a moment to appear
            raise
        return answer if answer["Status"] not in ("Pending", "InProgress", "Delayed") else None

    at, error, answer = _wait(clock, COMMAND_DEADLINE_SECONDS, f"Run Command {command_id} finished", finished)
    if answer["Status"] != "Success":
        detail = (answer.get("StandardErrorContent") or answer.get("StatusDetails") or "").strip()[:200]
        raise DrillRefused(f"the hang was not injected: Run Command {command_id} ended {answer['Status']}: {detail}")
    ended = aws_time(answer.get("ExecutionEndDateTime"))
    if ended is not None and at - error <= ended <= at:
        return Injection(target, ended, 0.0, f"ssm:GetCommandInvocation {command_id} ExecutionEndDateTime")
    return Injection(target, at, error, f"ssm:GetCommandInvocation {command_id} Success")


def inject_az_loss(
    config: EnvironmentConfig,
    deployment: Deployment,
    clients: Any,
    clock: Clock,
    target: Member,
    *,
    role_arn: str | None,
    duration_minutes: int,
) -> Injection:
    """Starts the FIS experiment that loses the instance's zone: the stack's template for that zone
    (``drill.az_loss_experiment: true``), found by its tags; without one, a template the drill creates with
    ``role_arn`` (the fallback for environments that do not define it), else refused."""
    zone = target.availability_zone
    client = clients("fis")
    template_id = fis.find_template(client, config, zone)
    if template_id is None:
        if role_arn is None:
            raise DrillRefused(
                f"no FIS experiment template tagged {fis.TAG_ENVIRONMENT}={config.environment}, "
                f"{fis.TAG_ZONE}={zone}; set drill.az_loss_experiment: true in {config.source} and deploy (the "
                "stack then defines it), or pass --fis-role-arn ARN (a role FIS assumes) so the drill creates it"
            )
        template_id = _create_template(config, deployment, clients, zone, role_arn, duration_minutes)
    started = client.start_experiment(clientToken=str(uuid.uuid4()), experimentTemplateId=template_id)
    experiment_id = started["experiment"]["id"]

    def running() -> str | None:
        state = client.get_experiment(id=experiment_id)["experiment"]["state"]
        if state["status"] in ("failed", "stopped", "completed", "cancelled"):
            raise DrillRefused(f"FIS experiment {experiment_id} ended {state['status']}: {state.get('reason', '')}")
        return "running" if state["status"] == "running" else None

    at, error, _ = _wait(clock, EXPERIMENT_START_DEADLINE_SECONDS, f"FIS experiment {experiment_id} runs", running)
    actions = client.get_experiment(id=experiment_id)["experiment"].get("actions", {})
    starts = [aws_time(a.get("startTime")) for a in actions.values()]
    known = [t for t in starts if t is not None and at - error <= t <= at]
    if known:
        return Injection(target, min(known), 0.0, f"fis:GetExperiment {experiment_id} action startTime", experiment_id)
    return Injection(target, at, error, f"fis:GetExperiment {experiment_id} running", experiment_id)


def _create_template(
    config: EnvironmentConfig, deployment: Deployment, clients: Any, zone: str, role_arn: str, minutes: int
) -> str:
    account = clients("sts").get_caller_identity()["Account"]
    subnets = clients("ec2").describe_subnets(SubnetIds=list(deployment.subnet_ids))["Subnets"]
    in_zone = [s["SubnetId"] for s in subnets if s["AvailabilityZone"] == zone]
    others = {s["AvailabilityZone"] for s in subnets} - {zone}
    if not in_zone or not others:
        raise DrillRefused(
            f"{deployment.group_name} has no subnet outside {zone}: losing the zone would lose the group"
        )
    group = clients("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[deployment.group_name])
    document = fis.template_document(
        config,
        zone=zone,
        account=str(account),
        subnet_ids=in_zone,
        group_arn=str(group["AutoScalingGroups"][0]["AutoScalingGroupARN"]),
        role_arn=role_arn,
        duration_minutes=minutes,
    )
    created = clients("fis").create_experiment_template(clientToken=str(uuid.uuid4()), **document)
    return str(created["experimentTemplate"]["id"])

"""The measuring loop: ``/health`` every second, AWS with backoff, until recovery or a deadline.

Every wait is on a condition with a deadline: the loop ends when the replacement is healthy and
``/health`` answers again (and, when asked, the old instance has finished its drain), or when the
detection deadline or the overall deadline passes first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rudder_ha.drill.clock import Backoff, Clock
from rudder_ha.drill.deployment import Deployment, members, target_states
from rudder_ha.drill.probe import Probe
from rudder_ha.drill.timeline import MILESTONE_TEXT, Measured

PROBE_EVERY_SECONDS = 1.0
THROTTLING = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})
NOT_SERVING = frozenset({"unhealthy", "draining", "unused", "unavailable"})


@dataclass(frozen=True)
class Deadlines:
    """Seconds after injection by which detection, and everything, must have been seen."""

    detection: float
    overall: float


@dataclass(frozen=True)
class Watch:
    """What to watch: the instance that was hit, the instances there before (with a hot standby, the standby
    among them), whether to wait for the old instance's drain."""

    old_instance_id: str
    instances_before: frozenset[str]
    wait_for_drain: bool = False
    standby_ids: frozenset[str] = frozenset()

    @property
    def hot_standby(self) -> bool:
        """Whether a standby takes over (rather than a replacement)."""
        return bool(self.standby_ids)


def _epoch(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, datetime) else None


class Observer:
    """Fills a :class:`Measured` from AWS and the probe; see the module docstring."""

    def __init__(
        self,
        deployment: Deployment,
        clients: Any,
        clock: Clock,
        probe: Probe,
        measured: Measured,
        watch: Watch,
        deadlines: Deadlines,
        backoff: Backoff | None = None,
    ) -> None:
        """Nothing is called until :meth:`run`."""
        self._deployment = deployment
        self._clients = clients
        self._clock = clock
        self._probe = probe
        self._measured = measured
        self._watch = watch
        self._deadlines = deadlines
        self._backoff = backoff or Backoff()
        self._last_poll = measured.injected_at
        self._last_probe = measured.injected_at

    def _required(self) -> list[str]:
        if self._watch.hot_standby:
            needed = ["target_unhealthy", "standby_healthy"]
        else:
            needed = ["target_unhealthy", "replacement_launched", "replacement_in_service", "replacement_healthy"]
        needed.append("endpoint_recovered")
        if self._watch.wait_for_drain:
            needed.append("old_instance_terminated")
        return needed

    def _missing(self) -> list[str]:
        return [name for name in self._required() if name not in self._measured.milestones]

    def run(self) -> Measured:
        """Measures until done or a deadline; sets ``measured.outcome``."""
        start = self._measured.injected_at
        next_poll = start
        next_probe = start
        while True:
            now = self._clock.now()
            missing = self._missing()
            if not missing:
                self._measured.outcome = "recovered"
                return self._measured
            if "target_unhealthy" in missing and now - start >= self._deadlines.detection:
                return self._timed_out("target_unhealthy", self._deadlines.detection)
            if now - start >= self._deadlines.overall:
                return self._timed_out(missing[0], self._deadlines.overall)
            if now >= next_probe:
                if self._probe_once():
                    next_poll = now  # the endpoint changed: AWS has likely changed too
                    self._backoff.changed()
                next_probe = now + PROBE_EVERY_SECONDS
            if now >= next_poll:
                try:
                    changed = self._poll(self._clock.now())  # the probe may have taken a moment
                except ClientError as exc:
                    code = str(exc.response.get("Error", {}).get("Code", ""))
                    if code not in THROTTLING:
                        self._measured.outcome = f"failed: AWS answered {code} while watching; nothing more measured"
                        return self._measured
                    next_poll = now + self._backoff.throttled()
                except BotoCoreError as exc:
                    self._measured.notes.append(f"AWS unreachable at +{now - start:.0f} s ({type(exc).__name__})")
                    next_poll = now + self._backoff.throttled()
                else:
                    next_poll = now + (self._backoff.changed() if changed else self._backoff.unchanged())
            wake = min(next_poll, next_probe, start + self._deadlines.overall)
            self._clock.sleep(max(0.0, wake - self._clock.now()))

    def _timed_out(self, name: str, after: float) -> Measured:
        self._measured.outcome = f"timed out after {after:.0f} s waiting until {MILESTONE_TEXT[name]}"
        return self._measured

    def _probe_once(self) -> bool:
        """One probe; True when it saw a new milestone."""
        result = self._probe(self._deployment.health_url)
        seen = self._clock.now()
        m = self._measured
        error = seen - self._last_probe
        self._last_probe = seen
        if not result.ok:
            return m.see("endpoint_down", seen, error, f"probe: {result.detail}")
        if "endpoint_down" in m.milestones:
            return m.see("endpoint_recovered", seen, error, "probe: HTTP 200")
        taken_over = "replacement_healthy" in m.milestones or "standby_healthy" in m.milestones
        if taken_over and m.see("endpoint_recovered", seen, error, "probe: HTTP 200"):
            m.notes.append("/health never failed through the load balancer during the drill")
            return True
        return False

    def _poll(self, now: float) -> bool:
        """One round of AWS reads; True when a milestone was newly seen."""
        m, watch = self._measured, self._watch
        error = now - self._last_poll
        self._last_poll = now
        changed = False
        states = target_states(self._clients, self._deployment.target_group_arn)
        if states.get(watch.old_instance_id, "unused") in NOT_SERVING:
            changed |= m.see("target_unhealthy", now, error, "elbv2:DescribeTargetHealth")
        if any(states.get(standby) == "healthy" for standby in watch.standby_ids):
            changed |= m.see("standby_healthy", now, error, "elbv2:DescribeTargetHealth")
        group = members(self._clients, self._deployment.group_name)
        fresh = [g for g in group if g.instance_id not in watch.instances_before]
        if fresh:
            replacement = fresh[0]
            launched, source = self._launch_time(replacement.instance_id)
            changed |= m.see("replacement_launched", launched or now, 0.0 if launched else error, source)
            if replacement.lifecycle_state == "InService":
                changed |= m.see("replacement_in_service", now, error, "autoscaling:DescribeAutoScalingGroups")
            if states.get(replacement.instance_id) == "healthy":
                changed |= m.see("replacement_healthy", now, error, "elbv2:DescribeTargetHealth")
        if (
            watch.wait_for_drain
            and "old_instance_terminated" not in m.milestones
            and self._terminated(watch.old_instance_id)
        ):
            changed |= m.see("old_instance_terminated", now, error, "ec2:DescribeInstances")
        return changed

    def _launch_time(self, instance_id: str) -> tuple[float | None, str]:
        """The start of the scaling activity that launched ``instance_id`` (AWS's own timestamp), if listed."""
        if "replacement_launched" in self._measured.milestones:
            return None, ""
        answer = self._clients("autoscaling").describe_scaling_activities(
            AutoScalingGroupName=self._deployment.group_name, MaxRecords=20
        )
        for activity in answer.get("Activities", []):
            if instance_id in activity.get("Description", "") and "Launching" in activity.get("Description", ""):
                started = _epoch(activity.get("StartTime"))
                if started is not None and started >= self._measured.injected_at:
                    return started, "autoscaling scaling activity StartTime"
        return None, "autoscaling:DescribeAutoScalingGroups"

    def _terminated(self, instance_id: str) -> bool:
        try:
            answer = self._clients("ec2").describe_instances(InstanceIds=[instance_id])
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code", "")) == "InvalidInstanceID.NotFound":
                return True
            raise
        states = [i["State"]["Name"] for r in answer["Reservations"] for i in r["Instances"]]
        return not states or states[0] == "terminated"

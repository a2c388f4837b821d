"""The worst-case failover timeline of an environment, from its configuration.

Every figure says where it comes from: the environment's own settings, AWS documentation, or an
estimate (AWS publishes no figure; the estimate is stated so it can be checked against a drill).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from rudder_ha import charts
from rudder_ha.config import defaults
from rudder_ha.config.model import EnvironmentConfig

Kind = Literal["config", "documented", "estimate"]
GUIDE_DOWNTIME_SECONDS = 120
"""The HA guide: "There may be a 2 minute downtime before the new instance is ready"."""
FAILOVER_GOAL_SECONDS = 45
"""The project's own goal for the shipped prod's worst case (README "Failover")."""

# Estimates, each with what it stands for. AWS documents none of these durations.
ASG_NOTICES_ELB_UNHEALTHY = 10.0
"""Auto Scaling acts on the target group's health within seconds; 10 s is a conservative reading."""
LAUNCH_REQUEST = 3.0
"""The replacement's launch (or warm-pool start) request after the terminate decision."""
WARM_START = 25.0
"""A stopped, already-provisioned warm-pool instance: StartInstances until systemd runs the units."""
COLD_LAUNCH = 40.0
"""A new instance: RunInstances, boot, cloud-init writing the user data."""
BAKED_PROVISION = 5.0
"""provision.sh on a baked image: packages and images already there, units started."""
UNBAKED_PROVISION = 120.0
"""provision.sh from user data alone: dnf install plus pulling three container images."""
APP_START = 15.0
"""rudder-server opens its gateway once backend config and transformer features have loaded."""
FENCE_HANDOVER = 3.0
FENCE_HANDOVER_SOURCE = (
    "rudder-jobsdb-fence acquire once the lease is free: one transaction takes it and revokes the old login, "
    "the old sessions are ended and found gone twice 1 s apart, then the new login is enabled; a drill reads "
    'it in the journal, from the last "waiting" to "acquired generation"'
)
BACKEND_PRE_START = 3.0
BACKEND_PRE_START_SOURCE = (
    "the backend unit's steps after acquire: rudder-fetch-secrets (one SSM or Secrets Manager read), the event "
    "archive's credentials, the IMDS guard's check, removing the old container; a drill reads it in the journal, "
    'from "acquired generation" to "Started rudder-backend.service"'
)


@dataclass(frozen=True)
class Step:
    """One term of the timeline."""

    name: str
    seconds: float
    kind: Kind
    source: str


@dataclass(frozen=True)
class Timeline:
    """The steps from failure to a healthy replacement serving events."""

    environment: str
    steps: tuple[Step, ...]
    tradeoffs: tuple[str, ...]

    @property
    def total_seconds(self) -> float:
        """The worst case, summed."""
        return sum(s.seconds for s in self.steps)

    def bars(self) -> list[charts.Bar]:
        """The steps as chart bars, each starting where the one before it ended."""
        out, clock = [], 0.0
        for step in self.steps:
            out.append(charts.Bar(step.name, clock, step.seconds, f"[{step.kind}]"))
            clock += step.seconds
        return out

    def render(self, *, width: int | None = None, ascii_only: bool = False) -> str:
        """The timeline as the chart and text ``python -m rudder_ha rto`` prints."""
        return render(self, width=width, ascii_only=ascii_only)

    def to_dict(self) -> dict[str, Any]:
        """The timeline as ``python -m rudder_ha rto --json`` prints it (keys in a fixed order)."""
        return {
            "environment": self.environment,
            "goal_seconds": GUIDE_DOWNTIME_SECONDS,
            "total_seconds": float(self.total_seconds),
            "within_goal": self.total_seconds <= GUIDE_DOWNTIME_SECONDS,
            "steps": [
                {
                    "name": bar.label,
                    "seconds": float(bar.seconds),
                    "start": float(bar.start),
                    "end": float(bar.end),
                    "source_kind": step.kind,
                    "explanation": step.source,
                }
                for bar, step in zip(self.bars(), self.steps, strict=True)
            ],
            "tradeoffs": list(self.tradeoffs),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timeline:
        """The inverse of ``to_dict``."""
        return cls(
            environment=data["environment"],
            steps=tuple(Step(s["name"], s["seconds"], s["source_kind"], s["explanation"]) for s in data["steps"]),
            tradeoffs=tuple(data["tradeoffs"]),
        )


def _baked(config: EnvironmentConfig) -> bool:
    return config.image_pipeline.enabled or config.instance.ami.startswith("ami-")


def timeline(config: EnvironmentConfig) -> Timeline:
    """The worst-case failover timeline of ``config``."""
    if config.autoscaling.failover.hot_standby:
        return _hot_standby(config)
    return _replace(config)


def _serving(config: EnvironmentConfig) -> list[Step]:
    """From the lease in hand to the ALB routing to the new instance."""
    hc = config.health_check
    return [
        Step("application start", APP_START, "estimate", "rudder-server facts: gateway listens after config load"),
        Step(
            "healthy threshold",
            hc.interval_seconds * hc.healthy_threshold,
            "config",
            f"health_check: {hc.healthy_threshold} passing checks {hc.interval_seconds} s apart before the ALB "
            "routes to the new target",
        ),
    ]


def _hot_standby(config: EnvironmentConfig) -> Timeline:
    """autoscaling.failover.mode hot_standby: the standby, booted and waiting in acquire, takes the lease."""
    failover = config.autoscaling.failover
    ttl = float(failover.lease_ttl_seconds)
    poll = ttl / 6
    watch = defaults.HOT_STANDBY_HEALTH_FAILURES * poll + min(2.0, poll)
    steps = [
        Step(
            "the holder's lease runs out",
            max(ttl, watch),
            "config",
            f"autoscaling.failover.lease_ttl_seconds={failover.lease_ttl_seconds}: the worst case is a holder "
            "that goes silent (frozen, powered off, cut off) right after renewing; a backend that fails on a live "
            f"holder is handed over sooner: {defaults.HOT_STANDBY_HEALTH_FAILURES} failed /health checks "
            f"{poll:.1f} s apart, each allowed {min(2.0, poll):.1f} s ({watch:.1f} s), then the lease is yielded",
        ),
        Step(
            "the standby's next poll",
            poll,
            "config",
            f"the standby's acquire asks every sixth of the lease ({poll:.1f} s) and takes it once it has run out "
            "on the database clock; the ALB's view of the old target does not gate it",
        ),
        Step("jobsdb fence handover", FENCE_HANDOVER, "estimate", FENCE_HANDOVER_SOURCE),
        Step("backend pre-start", BACKEND_PRE_START, "estimate", BACKEND_PRE_START_SOURCE),
        *_serving(config),
    ]
    return Timeline(environment=config.environment, steps=tuple(steps), tradeoffs=_tradeoffs(config))


def _replace(config: EnvironmentConfig) -> Timeline:
    """autoscaling.failover.mode replace: the group replaces the failed instance of a group of one."""
    hc = config.health_check
    pool = config.autoscaling.warm_pool
    steps = [
        Step(
            "detection",
            hc.interval_seconds * hc.unhealthy_threshold + hc.timeout_seconds,
            "config",
            f"health_check: {hc.unhealthy_threshold} failed checks {hc.interval_seconds} s apart, the last one "
            f"timing out after {hc.timeout_seconds} s (ELB user guide, target group health checks)",
        ),
        Step(
            "the ASG noticing",
            ASG_NOTICES_ELB_UNHEALTHY,
            "estimate",
            "health_check_type ELB: Auto Scaling replaces a target the load balancer reports unhealthy "
            "(EC2 Auto Scaling user guide, health checks); AWS gives no delay",
        ),
        Step(
            "replacement requested",
            LAUNCH_REQUEST,
            "estimate",
            "instance maintenance policy min 0 % / max 100 %: terminate and launch at the same time "
            "(EC2 Auto Scaling user guide), so the drain of the old instance does not delay the new one",
        ),
    ]
    if pool.enabled:
        steps.append(
            Step(
                f"start from the warm pool ({pool.pool_state})",
                WARM_START if pool.pool_state != "Running" else 0.0,
                "estimate",
                "autoscaling.warm_pool: the instance was launched and provisioned ahead of time",
            )
        )
    else:
        steps.append(Step("cold launch and boot", COLD_LAUNCH, "estimate", "no warm pool configured"))
    if pool.enabled:
        steps.append(Step("provisioning", BAKED_PROVISION, "estimate", "done when the pool instance was prepared"))
    elif _baked(config):
        steps.append(
            Step("provisioning", BAKED_PROVISION, "estimate", "baked AMI: packages and images are on the image")
        )
    else:
        steps.append(
            Step("provisioning", UNBAKED_PROVISION, "estimate", "no baked AMI: packages and images are downloaded")
        )
    if config.jobsdb.on_rds:
        ttl = config.autoscaling.failover.lease_ttl_seconds
        elapsed = sum(s.seconds for s in steps)
        steps.append(
            Step(
                "jobsdb fence",
                max(0.0, ttl - elapsed),
                "config",
                f"autoscaling.failover.lease_ttl_seconds={ttl}: the old holder's lease expires {ttl} s after its "
                f"last renewal, {elapsed:.0f} s have passed by now (0 when the old instance released it during its "
                "drain)",
            )
        )
    steps += _serving(config)
    return Timeline(environment=config.environment, steps=tuple(steps), tradeoffs=_tradeoffs(config))


def _tradeoffs(config: EnvironmentConfig) -> tuple[str, ...]:
    """What each knob of the timeline trades."""
    hc = config.health_check
    failover = config.autoscaling.failover
    out = [
        f"health_check.interval_seconds={hc.interval_seconds} and unhealthy_threshold={hc.unhealthy_threshold}: "
        "faster detection, but a slow database ping or a GC pause longer than "
        f"{hc.interval_seconds * hc.unhealthy_threshold} s takes a working instance out of the ALB (safety for "
        "speed)." + ("" if failover.hot_standby else " With replace, the group also replaces it."),
        f"autoscaling.failover.mode={failover.mode}: hot_standby (rds mode) keeps a second, booted instance "
        "waiting for the jobsdb lease, so a failover skips detection by the ALB, the group and the boot; it costs "
        'a second instance (README "Failover") and the group uses EC2 health checks, the holder\'s agent '
        "reporting a failed backend. Never two writers either way: the fence enforces it.",
        "autoscaling.warm_pool: a pre-provisioned spare saves the cold launch"
        + (" of the replacement that restores the pair (not on the failover's path)" if failover.hot_standby else "")
        + "; costs its EBS volume (Stopped, Hibernated) or a whole instance (Running). No safety cost.",
        "image_pipeline: a baked AMI saves downloads at boot; an image older than the latest patches until the "
        "next scheduled build. No safety cost.",
        f"autoscaling.health_check_grace_period_seconds={config.autoscaling.health_check_grace_period_seconds}: "
        "does not delay a failover; set too short, it replaces instances that are still booting.",
    ]
    if config.jobsdb.on_rds:
        out.append(
            f"autoscaling.failover.lease_ttl_seconds={failover.lease_ttl_seconds}: shorter takes over sooner from "
            f"a silent holder, but a holder whose renewals fail for {failover.lease_ttl_seconds * 2 / 3:.1f} s "
            "stops its backend and may be fenced (never two writers: the database enforces it; only availability "
            "is at stake)."
        )
    return tuple(out)


def render(line: Timeline, *, width: int | None = None, ascii_only: bool = False) -> str:
    """The timeline as ``python -m rudder_ha rto`` prints it: the chart, then every figure's source and the knobs.

    ``width`` defaults to the terminal's (clamped); ``ascii_only`` draws with ``#``, ``|`` and ``-``.
    """
    out = [f"Worst-case failover for {line.environment} (the HA guide: {GUIDE_DOWNTIME_SECONDS} s)", ""]
    out += charts.waterfall(
        [line.bars()],
        goal=GUIDE_DOWNTIME_SECONDS,
        goal_label="the HA guide",
        width=charts.terminal_width() if width is None else width,
        ascii_only=ascii_only,
    )
    verdict = "within" if line.total_seconds <= GUIDE_DOWNTIME_SECONDS else "OVER"
    goal = "within" if line.total_seconds <= FAILOVER_GOAL_SECONDS else "over"
    out += [
        "",
        f"  total {line.total_seconds:.0f} s: {verdict} the guide's {GUIDE_DOWNTIME_SECONDS} s; {goal} the "
        f'{FAILOVER_GOAL_SECONDS} s failover goal (README "Failover")',
        "",
    ]
    out.append("Where each figure comes from:")
    clock = 0.0
    for step in line.steps:
        clock += step.seconds
        out.append(f"  +{step.seconds:5.1f} s  = {clock:6.1f} s  {step.name:<38} [{step.kind}] {step.source}")
    out += ["", "Knobs and what they trade:"]
    out += [f"  - {t}" for t in line.tradeoffs]
    return "\n".join(out)

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
        elapsed = sum(s.seconds for s in steps)
        wait = max(0.0, defaults.FENCE_LEASE_TTL_SECONDS - elapsed)
        steps.append(
            Step(
                "jobsdb fence",
                wait,
                "config",
                f"the old holder's lease expires {defaults.FENCE_LEASE_TTL_SECONDS} s after its last renewal, "
                f"{elapsed:.0f} s have passed by now (0 when the old instance released it during its drain)",
            )
        )
    steps += [
        Step("application start", APP_START, "estimate", "rudder-server facts: gateway listens after config load"),
        Step(
            "healthy threshold",
            hc.interval_seconds * hc.healthy_threshold,
            "config",
            f"health_check: {hc.healthy_threshold} passing checks {hc.interval_seconds} s apart before the ALB "
            "routes to the new target",
        ),
    ]
    tradeoffs = (
        f"health_check.interval_seconds={hc.interval_seconds} and unhealthy_threshold={hc.unhealthy_threshold}: "
        "faster detection, but a slow database ping or a GC pause longer than "
        f"{hc.interval_seconds * hc.unhealthy_threshold} s replaces a working instance (safety for speed).",
        "autoscaling.warm_pool: a pre-provisioned spare saves the cold launch; costs its EBS volume (Stopped) "
        "or a whole instance (Running). No safety cost.",
        "image_pipeline: a baked AMI saves downloads at boot; an image older than the latest patches until the "
        "next scheduled build. No safety cost.",
        f"autoscaling.health_check_grace_period_seconds={config.autoscaling.health_check_grace_period_seconds}: "
        "does not delay a failover; set too short, it replaces instances that are still booting.",
        f"the jobsdb fence's lease ({defaults.FENCE_LEASE_TTL_SECONDS} s): shorter takes over sooner from a dead "
        "instance, but fences a live holder whose renewals are delayed (never two writers: the database enforces "
        "it; only availability is at stake).",
    )
    return Timeline(environment=config.environment, steps=tuple(steps), tradeoffs=tradeoffs)


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
    out += ["", f"  total {line.total_seconds:.0f} s: {verdict} the guide's {GUIDE_DOWNTIME_SECONDS} s", ""]
    out.append("Where each figure comes from:")
    clock = 0.0
    for step in line.steps:
        clock += step.seconds
        out.append(f"  +{step.seconds:5.1f} s  = {clock:6.1f} s  {step.name:<38} [{step.kind}] {step.source}")
    out += ["", "Knobs and what they trade:"]
    out += [f"  - {t}" for t in line.tradeoffs]
    return "\n".join(out)

"""A drill's measured timeline: the milestones it saw, the phases between them, and how they compare with
the ``rto`` model's terms."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from rudder_ha import charts
from rudder_ha.topologies.single_node.rto import GUIDE_DOWNTIME_SECONDS, Timeline

MilestoneName = Literal[
    "injected",
    "target_unhealthy",
    "endpoint_down",
    "replacement_launched",
    "replacement_in_service",
    "replacement_healthy",
    "standby_healthy",
    "endpoint_recovered",
    "old_instance_terminated",
]
MILESTONE_TEXT: dict[str, str] = {
    "injected": "the failure was injected",
    "target_unhealthy": "the load balancer reported the old target not healthy",
    "endpoint_down": "/health first failed through the load balancer",
    "replacement_launched": "the group launched (or started) a replacement",
    "replacement_in_service": "the replacement was InService in the group",
    "replacement_healthy": "the load balancer reported the replacement healthy",
    "standby_healthy": "the standby took over: the load balancer reported it healthy",
    "endpoint_recovered": "/health answered 200 through the load balancer again",
    "old_instance_terminated": "the old instance was terminated (its drain finished)",
}


@dataclass(frozen=True)
class Milestone:
    """When something was seen: ``at`` (epoch seconds), within ``uncertainty`` seconds after it happened;
    ``source`` says who reported it (an AWS API, its own timestamp, or the probe)."""

    name: str
    at: float
    uncertainty: float
    source: str


@dataclass(frozen=True)
class Phase:
    """The time between two milestones, and the model terms that stand for it."""

    name: str
    start: str
    end: str
    model_prefixes: tuple[str, ...]


PHASES = (
    Phase("detection", "injected", "target_unhealthy", ("detection",)),
    Phase("replacement requested", "target_unhealthy", "replacement_launched", ("the ASG noticing", "replacement")),
    Phase("launch or warm start", "replacement_launched", "replacement_in_service", ("start from", "cold launch")),
    Phase(
        "boot to healthy",
        "replacement_in_service",
        "replacement_healthy",
        ("provisioning", "jobsdb fence", "application start", "healthy threshold"),
    ),
    Phase("healthy to serving", "replacement_healthy", "endpoint_recovered", ()),
)
"""The phases of ``autoscaling.failover.mode: replace``: the group replaces the one instance."""

HOT_STANDBY_PHASES = (
    Phase(
        "takeover",
        "injected",
        "standby_healthy",
        (
            "the holder's lease",
            "the standby's next poll",
            "jobsdb fence",
            "backend pre-start",
            "application start",
            "healthy threshold",
        ),
    ),
    Phase("healthy to serving", "standby_healthy", "endpoint_recovered", ()),
    Phase("the ALB notices the old holder", "injected", "target_unhealthy", ()),
    Phase("a new standby is launched", "injected", "replacement_launched", ()),
    Phase("the new standby is InService", "replacement_launched", "replacement_in_service", ()),
)
"""The phases of ``hot_standby``: the standby takes the lease (the model's terms); the ALB's view and the
group restoring the pair run beside it, off the failover's path."""


def iso(epoch: float) -> str:
    """ISO-8601 UTC text of a time."""
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Measured:
    """Everything a drill measured."""

    environment: str
    scenario: str
    hot_standby: bool = False
    milestones: dict[str, Milestone] = field(default_factory=dict)
    outcome: str = "running"
    """``recovered``, ``timed out: <what>``, or ``failed: <why>``."""
    notes: list[str] = field(default_factory=list)

    @property
    def injected_at(self) -> float:
        """When the failure was injected."""
        return self.milestones["injected"].at

    def offset(self, name: str) -> float | None:
        """Seconds from injection to milestone ``name`` (None when it was not seen)."""
        seen = self.milestones.get(name)
        return None if seen is None or "injected" not in self.milestones else seen.at - self.injected_at

    def see(self, name: str, at: float, uncertainty: float, source: str) -> bool:
        """Records ``name`` the first time it is seen; returns whether it was new."""
        if name in self.milestones:
            return False
        self.milestones[name] = Milestone(name, at, max(0.0, uncertainty), source)
        return True

    def phase_seconds(self, phase: Phase) -> tuple[float, float] | None:
        """``(start offset, seconds)`` of a phase whose two milestones were seen."""
        start, end = self.offset(phase.start), self.offset(phase.end)
        if start is None or end is None:
            return None
        return start, max(0.0, end - start)

    def phases(self) -> tuple[Phase, ...]:
        """The phases of this drill's failover mode."""
        return HOT_STANDBY_PHASES if self.hot_standby else PHASES

    def bars(self) -> list[charts.Bar]:
        """The measured phases as chart bars (a phase not measured is left out)."""
        out = []
        for phase in self.phases():
            span = self.phase_seconds(phase)
            if span is not None:
                error = self.milestones[phase.end].uncertainty + self.milestones[phase.start].uncertainty
                out.append(charts.Bar(phase.name, span[0], span[1], f"[measured ±{error:.0f} s]"))
        drained = self.offset("old_instance_terminated")
        if drained is not None:
            out.append(charts.Bar("drain of the old instance", 0.0, drained, "[measured]"))
        return out

    def recovery_seconds(self) -> float | None:
        """Injection to ``/health`` answering again (None when it never did)."""
        return self.offset("endpoint_recovered")


def model_seconds(model: Timeline, phase: Phase) -> float:
    """The model terms standing for ``phase``, summed."""
    return (
        sum(s.seconds for s in model.steps if s.name.startswith(phase.model_prefixes)) if phase.model_prefixes else 0.0
    )


def comparison(measured: Measured, model: Timeline) -> list[dict[str, Any]]:
    """Each phase: its model terms and seconds beside the measured seconds."""
    rows = []
    for phase in measured.phases():
        span = measured.phase_seconds(phase)
        rows.append(
            {
                "phase": phase.name,
                "from": phase.start,
                "to": phase.end,
                "model_terms": [
                    s.name for s in model.steps if phase.model_prefixes and s.name.startswith(phase.model_prefixes)
                ],
                "model_seconds": model_seconds(model, phase),
                "measured_seconds": None if span is None else round(span[1], 3),
            }
        )
    return rows


def to_dict(measured: Measured, model: Timeline) -> dict[str, Any]:
    """The drill as ``drill --json`` prints it (keys in a fixed order)."""
    recovered = measured.recovery_seconds()
    return {
        "environment": measured.environment,
        "scenario": measured.scenario,
        "failover_mode": "hot_standby" if measured.hot_standby else "replace",
        "outcome": measured.outcome,
        "injected_at": iso(measured.injected_at) if "injected" in measured.milestones else None,
        "recovery_seconds": None if recovered is None else round(recovered, 3),
        "model_total_seconds": float(model.total_seconds),
        "goal_seconds": GUIDE_DOWNTIME_SECONDS,
        "milestones": [
            {
                "name": m.name,
                "at": iso(m.at),
                "seconds": round(m.at - measured.injected_at, 3),
                "uncertainty_seconds": round(m.uncertainty, 3),
                "source": m.source,
                "meaning": MILESTONE_TEXT[m.name],
            }
            for m in sorted(measured.milestones.values(), key=lambda m: m.at)
        ],
        "phases": comparison(measured, model),
        "notes": list(measured.notes),
        "model": model.to_dict(),
    }


def render(measured: Measured, model: Timeline, *, width: int, ascii_only: bool = False) -> str:
    """The model's bars, the measured bars under them on one scale, then the phases term by term."""
    out = [f"Drill {measured.scenario} on {measured.environment}: {measured.outcome}", ""]
    out += charts.waterfall(
        [model.bars(), measured.bars()],
        titles=["model (rto, worst case)", f"measured ({measured.scenario})"],
        goal=GUIDE_DOWNTIME_SECONDS,
        goal_label="the HA guide",
        width=width,
        ascii_only=ascii_only,
    )
    out += ["", "Term by term:"]
    for row in comparison(measured, model):
        seen = "not seen" if row["measured_seconds"] is None else f"{row['measured_seconds']:6.1f} s"
        terms = " + ".join(row["model_terms"]) or "(not in the model)"
        out.append(
            f"  {row['phase']:<30} model {row['model_seconds']:6.1f} s  measured {seen:>9}  model terms: {terms}"
        )
    out += ["", "Milestones:"]
    for m in sorted(measured.milestones.values(), key=lambda m: m.at):
        offset = m.at - measured.injected_at
        out.append(f"  {iso(m.at)}  +{offset:7.1f} s (±{m.uncertainty:.0f})  {MILESTONE_TEXT[m.name]}  [{m.source}]")
    out += [f"  note: {n}" for n in measured.notes]
    return "\n".join(out)

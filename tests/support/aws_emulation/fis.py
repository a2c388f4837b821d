"""AWS Fault Injection Service experiments and their effects on the emulated data plane.

moto stores experiment templates (create, list with tags, get) but runs no actions. This module
answers ``StartExperiment``, ``GetExperiment`` and ``StopExperiment`` and reproduces the documented
behaviour of the two actions the az-loss drill uses (FIS user guide, "Actions reference"; API
reference, ExperimentState):

* an experiment is ``initiating``, then ``running`` while its actions run, then ``completed`` once the
  longest action's ``duration`` (ISO-8601, ``PT10M``) has passed; ``StopExperiment`` makes it
  ``stopping`` then ``stopped``, and every action's effect is rolled back;
* ``aws:network:disrupt-connectivity`` (scope ``all``) on ``aws:ec2:subnet`` targets cuts all traffic in
  and out of those subnets for its duration;
* ``aws:ec2:asg-insufficient-instance-capacity-error`` on ``aws:ec2:autoscaling-group`` targets makes
  the group's launches in ``availabilityZoneIdentifiers`` fail for its duration;
* an action FIS does not know fails the experiment (``failed``, with the reason).

The effects land on :class:`~tests.support.aws_emulation.health_replacement.HealthReplacement`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.support.aws_emulation.answered_operations import AnsweredError
from tests.support.aws_emulation.clock import VirtualClock
from tests.support.aws_emulation.health_replacement import HealthReplacement

INITIATING_SECONDS = 5.0
STOPPING_SECONDS = 2.0
KNOWN_ACTIONS = frozenset({"aws:network:disrupt-connectivity", "aws:ec2:asg-insufficient-instance-capacity-error"})


def duration_seconds(text: str) -> float:
    """``PT10M`` / ``PT90S`` / ``PT1H`` in seconds."""
    found = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", text)
    if not found or not any(found.groups()):
        raise AnsweredError("ValidationException", f"duration {text!r} is not an ISO-8601 duration")
    hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return hours * 3600.0 + minutes * 60.0 + seconds


@dataclass
class Experiment:
    """One started experiment."""

    experiment_id: str
    template_id: str
    template: dict[str, Any]
    started: float
    status: str = "initiating"
    reason: str = "Experiment is initiating."
    undo: list[Any] = field(default_factory=list)
    actions_started: float | None = None


class FisEmulation:
    """Experiments on virtual time (see the module docstring)."""

    def __init__(self, clock: VirtualClock, fis: Any, plane: HealthReplacement) -> None:
        """``fis`` is a plain moto FIS client (it holds the templates)."""
        self.clock = clock
        self._fis = fis
        self._plane = plane
        self.experiments: dict[str, Experiment] = {}

    def start(self, params: dict[str, Any]) -> dict[str, Any]:
        """``StartExperiment``."""
        try:
            template = self._fis.get_experiment_template(id=params["experimentTemplateId"])["experimentTemplate"]
        except Exception as exc:
            raise AnsweredError(
                "ResourceNotFoundException", f"template {params['experimentTemplateId']} not found"
            ) from exc
        experiment = Experiment(f"EXP{uuid.uuid4().hex[:17]}", template["id"], template, self.clock.now())
        self.experiments[experiment.experiment_id] = experiment
        self.clock.call_later(INITIATING_SECONDS, lambda: self._run(experiment), "fis actions start")
        return {"experiment": self._describe(experiment)}

    def _run(self, experiment: Experiment) -> None:
        if experiment.status != "initiating":
            return
        actions = experiment.template.get("actions", {})
        unknown = sorted({a["actionId"] for a in actions.values()} - KNOWN_ACTIONS)
        if unknown:
            experiment.status, experiment.reason = "failed", f"unsupported action {unknown[0]}"
            return
        longest = 0.0
        for action in actions.values():
            seconds = duration_seconds(action.get("parameters", {}).get("duration", "PT1M"))
            longest = max(longest, seconds)
            targets = [experiment.template["targets"][name] for name in action.get("targets", {}).values()]
            if action["actionId"] == "aws:network:disrupt-connectivity":
                subnets = {arn.rsplit("/", 1)[1] for t in targets for arn in t.get("resourceArns", [])}
                self._plane.cut_off_subnets |= subnets
                experiment.undo.append(lambda s=subnets: self._plane.cut_off_subnets.difference_update(s))
            else:
                zones = set(action["parameters"]["availabilityZoneIdentifiers"].split(","))
                self._plane.no_launch_zones |= zones
                experiment.undo.append(lambda z=zones: self._plane.no_launch_zones.difference_update(z))
        experiment.status, experiment.reason = "running", "Experiment is running."
        experiment.actions_started = self.clock.now()
        self.clock.call_later(longest, lambda: self._finish(experiment, "completed"), "fis actions end")

    def _finish(self, experiment: Experiment, status: str) -> None:
        if experiment.status not in ("running", "stopping", "initiating"):
            return
        for undo in experiment.undo:
            undo()
        experiment.undo.clear()
        experiment.status, experiment.reason = status, f"Experiment {status}."

    def get(self, params: dict[str, Any]) -> dict[str, Any]:
        """``GetExperiment``."""
        experiment = self.experiments.get(params["id"])
        if experiment is None:
            raise AnsweredError("ResourceNotFoundException", f"experiment {params['id']} not found")
        return {"experiment": self._describe(experiment)}

    def stop(self, params: dict[str, Any]) -> dict[str, Any]:
        """``StopExperiment``: effects rolled back, ``stopped`` shortly after."""
        experiment = self.experiments.get(params["id"])
        if experiment is None:
            raise AnsweredError("ResourceNotFoundException", f"experiment {params['id']} not found")
        if experiment.status in ("initiating", "running"):
            experiment.status, experiment.reason = "stopping", "Experiment is stopping."
            self.clock.call_later(STOPPING_SECONDS, lambda: self._finish(experiment, "stopped"), "fis stopped")
        return {"experiment": self._describe(experiment)}

    def _describe(self, experiment: Experiment) -> dict[str, Any]:
        return {
            "id": experiment.experiment_id,
            "experimentTemplateId": experiment.template_id,
            "state": {"status": experiment.status, "reason": experiment.reason},
            "startTime": datetime.fromtimestamp(experiment.started, tz=UTC),
            "actions": {
                name: {
                    "actionId": action["actionId"],
                    "startTime": datetime.fromtimestamp(experiment.actions_started, tz=UTC),
                }
                for name, action in experiment.template.get("actions", {}).items()
                if experiment.actions_started is not None
            },
            "targets": experiment.template.get("targets", {}),
        }

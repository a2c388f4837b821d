"""One drill end to end: find the deployment, check it is steady, inject, measure, tidy up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.drill import scenarios
from rudder_ha.drill.clock import Clock
from rudder_ha.drill.deployment import DrillRefused, find_deployment
from rudder_ha.drill.observe import Deadlines, Observer, Watch
from rudder_ha.drill.probe import Probe
from rudder_ha.drill.timeline import Measured
from rudder_ha.topologies import registry
from rudder_ha.topologies.single_node.rto import Timeline

DEFAULT_OVERALL_SECONDS = 900.0
DETECTION_MARGIN_SECONDS = 60.0


THROUGH_THE_GROUP = ("instance-loss", "scale-in")
"""The scenarios that terminate through the group: the lifecycle hook holds the instance while the drain runs."""


@dataclass(frozen=True)
class DrillOptions:
    """How one drill runs (``timeout_seconds`` None: derived from the model)."""

    scenario: str
    health_url: str | None = None
    timeout_seconds: float | None = None
    fis_role_arn: str | None = None
    fis_duration_minutes: int = 10


def deadlines(config: EnvironmentConfig, model: Timeline, options: DrillOptions) -> Deadlines:
    """The load balancer's detection within three times its worst case (the health check settings) plus a
    minute; everything within the larger of 15 minutes and three times the model (plus the drain deadline
    for scale-in), unless told otherwise."""
    hc = config.health_check
    detection = (hc.interval_seconds * hc.unhealthy_threshold + hc.timeout_seconds) * 3 + DETECTION_MARGIN_SECONDS
    overall = max(DEFAULT_OVERALL_SECONDS, model.total_seconds * 3)
    if options.scenario in THROUGH_THE_GROUP:
        overall += config.drain.deadline_seconds
    if options.timeout_seconds is not None:
        overall = options.timeout_seconds
    return Deadlines(detection=min(detection, overall), overall=overall)


def run_drill(
    config: EnvironmentConfig, options: DrillOptions, clients: Any, clock: Clock, probe: Probe
) -> tuple[Measured, Timeline]:
    """Runs the drill; raises DrillRefused before anything was injected when it cannot start."""
    model = registry.named(config.topology).failover_timeline(config)
    if model is None:
        raise DrillRefused(
            f"{config.source}: topology: drill measures against the failover model, which the {config.topology} "
            f"topology does not have; drill an environment whose topology rto models (single_node)"
        )
    deployment = find_deployment(config, clients, options.health_url)
    failover = config.autoscaling.failover
    target, before, standbys = scenarios.steady_instance(deployment, clients, probe, failover.group_size)
    measured = Measured(config.environment, options.scenario, hot_standby=failover.hot_standby)
    if options.scenario == "instance-loss":
        injection = scenarios.inject_instance_loss(clients, clock, target)
    elif options.scenario == "scale-in":
        injection = scenarios.inject_scale_in(clients, clock, target)
    elif options.scenario == "hang":
        injection = scenarios.inject_hang(clients, clock, target, config.environment)
    elif options.scenario == "az-loss":
        injection = scenarios.inject_az_loss(
            config,
            deployment,
            clients,
            clock,
            target,
            role_arn=options.fis_role_arn,
            duration_minutes=options.fis_duration_minutes,
        )
    else:
        raise DrillRefused(f"unknown scenario {options.scenario}")
    measured.see("injected", injection.at, injection.uncertainty, injection.source)
    measured.notes.append(f"hit {target.instance_id} in {target.availability_zone}; probed {deployment.health_url}")
    watch = Watch(
        target.instance_id, before, wait_for_drain=options.scenario in THROUGH_THE_GROUP, standby_ids=standbys
    )
    try:
        Observer(deployment, clients, clock, probe, measured, watch, deadlines(config, model, options)).run()
    finally:  # also when interrupted: the zone comes back now rather than after the experiment's duration
        if injection.experiment_id is not None:
            _stop_experiment(clients, injection.experiment_id, measured)
    recovered = measured.offset("endpoint_recovered")
    healthy = measured.offset("standby_healthy" if failover.hot_standby else "replacement_healthy")
    if recovered is not None and (healthy is None or recovered < healthy):
        measured.notes.append(
            f"/health answered before the {'standby' if failover.hot_standby else 'replacement'} was reported "
            "healthy: with no healthy target the load "
            "balancer fails open and sends requests to every registered target"
        )
    return measured, model


def _stop_experiment(clients: Any, experiment_id: str, measured: Measured) -> None:
    """Ends the zone loss once measured (it would end by itself after its duration)."""
    client = clients("fis")
    try:
        status = client.get_experiment(id=experiment_id)["experiment"]["state"]["status"]
        if status in ("initiating", "running"):
            client.stop_experiment(id=experiment_id)
            measured.notes.append(f"stopped FIS experiment {experiment_id}")
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        measured.notes.append(f"could not stop FIS experiment {experiment_id} ({code}); it ends after its duration")

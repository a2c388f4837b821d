"""``python -m rudder_ha drill``: each scenario against moto plus the emulated data plane
(tests/support/aws_emulation/health_replacement.py, fis.py) on virtual time, probing a local HTTP server
that stands in for the load balancer. No real sleeps: the drill's clock advances the emulation."""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from rudder_ha.config import load_environments
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.drill.clock import Backoff
from rudder_ha.drill.command import drill_command
from rudder_ha.drill.fis import TAG_ZONE, find_template
from rudder_ha.drill.probe import HttpProbe
from rudder_ha.parts.drill_experiment import spec as experiment_spec
from rudder_ha.parts.drill_experiment.spec import DrillExperimentProps
from tests.support.aws_emulation.drill_world import DrillClock, DrillWorld, build_world
from tests.support.aws_emulation.health_replacement import Timings
from tests.support.health_endpoint import health_endpoint

REGION = "eu-west-1"
ZONES = [f"{REGION}a", f"{REGION}b"]
FIS_ROLE = "arn:aws:iam::123456789012:role/rudder-ha-drill-fis"
CERTIFICATE_ID = "66666666-7777-8888-9999-000000000000"


def _document(tier: str = "dev") -> dict[str, Any]:
    doc: dict[str, Any] = {
        "environment": "drilled" if tier == "dev" else "drilled-prod",
        "tier": tier,
        "topology": "single_node",
        "region": REGION,
        "tags": {"owner": "data-platform"},
        "state": {"bucket": "drill-test-tfstate"},
        "network": {"vpc_cidr": "10.40.0.0/16", "availability_zones": ZONES, "nat_gateways": "single"},
        "load_balancer": {"http_only": True},
        "health_check": {
            "interval_seconds": 5,
            "timeout_seconds": 4,
            "healthy_threshold": 2,
            "unhealthy_threshold": 2,
            "deregistration_delay_seconds": 30,
        },
        "instance": {"instance_type": "t3.xlarge"},
        "rudder": {
            "backend_image": "rudderlabs/rudder-server:1.62.1",
            "transformer_image": "rudderstack/rudder-transformer:1.93.0",
            "workspace_token": {"ssm_parameter": "/rudder-ha/drilled/workspace-token"},
        },
        "drain": {"deadline_seconds": 900},
    }
    if tier == "prod":
        doc.update(
            allowed_account_ids=["123456789012"],
            network={
                "vpc_cidr": "10.40.0.0/16",
                "availability_zones": [*ZONES, f"{REGION}c"],
                "nat_gateways": "one_per_az",
            },
            load_balancer={
                "domain_name": "events.example.com",
                "certificate_arn": f"arn:aws:acm:{REGION}:123456789012:certificate/{CERTIFICATE_ID}",
            },
        )
    return doc


def _config(tmp: Path, tier: str = "dev", **changes: Any) -> EnvironmentConfig:
    doc = _document(tier)
    doc.update(changes)
    path = tmp / f"{doc['environment']}.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    (config,) = load_environments([path])
    return config


class Drill:
    """One emulated environment, its local endpoint, and a way to run the command against them."""

    def __init__(self, world: DrillWorld, url: str) -> None:
        self.world = world
        self.url = url
        self.clock = DrillClock(world.clock)
        self.prompts: list[str] = []

    def args(self, scenario: str, *extra: str) -> argparse.Namespace:
        from rudder_ha.cli import build_parser

        return build_parser().parse_args(["drill", self.world.config.environment, "--scenario", scenario, *extra])

    def run(self, scenario: str, *extra: str, answer: str | None = None) -> tuple[int, str, dict[str, Any] | None]:
        """Runs the command (``--json`` added unless ``--ascii`` is asked); returns code, output, parsed JSON."""
        import io

        out = io.StringIO()
        flags = list(extra) + (["--endpoint", self.url] if "--endpoint" not in extra else [])
        if "--ascii" not in flags:
            flags.append("--json")

        def ask(prompt: str) -> str:
            self.prompts.append(prompt)
            return answer or ""

        code = drill_command(
            self.world.config,
            self.args(scenario, *flags),
            clients=self.world.client,
            clock=self.clock,
            probe=HttpProbe(timeout=5),
            ask=ask if answer is not None else None,
            out=out,
        )
        text = out.getvalue()
        return code, text, (json.loads(text) if text and "--ascii" not in flags else None)


@pytest.fixture
def drill_for(tmp_path: Path, aws_credentials: None) -> Iterator[Any]:
    """``drill_for(config=None, timings=None)`` builds the world (inside moto) with its local endpoint."""
    with mock_aws():
        endpoints: list[Any] = []

        def make(config: EnvironmentConfig | None = None, timings: Timings | None = None) -> Drill:
            world = build_world(config or _config(tmp_path), timings=timings)
            endpoint = health_endpoint(world.plane.endpoint_status)
            endpoints.append(endpoint)
            return Drill(world, endpoint.__enter__())

        yield make
        for endpoint in endpoints:
            endpoint.__exit__(None, None, None)


def _milestones(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in report["milestones"]}


def _assert_measured(report: dict[str, Any], name: str, truth: float, injected: float) -> None:
    """The drill saw ``name`` no earlier than it happened and no later than its stated uncertainty."""
    seen = _milestones(report)[name]
    happened = truth - injected
    assert happened - 1e-6 <= seen["seconds"] <= happened + seen["uncertainty_seconds"] + 1e-6, (name, seen, happened)


def test_instance_loss_measures_each_milestone(drill_for: Any) -> None:
    drill = drill_for()
    plane = drill.world.plane
    (old,) = plane.in_group()
    started = time.monotonic()
    code, _, report = drill.run("instance-loss", "--yes")
    assert report is not None
    assert report["outcome"] == "recovered", json.dumps(report["milestones"], indent=1)
    assert code == 0
    assert time.monotonic() - started < 60  # virtual time: minutes of drill, no real waiting
    seen = _milestones(report)
    # through the group (issue 15): the hook holds the instance while the drain runs, EC2 is not called
    assert drill.world.calls[("autoscaling", "TerminateInstanceInAutoScalingGroup")] == 1
    assert drill.world.calls[("ec2", "TerminateInstances")] == 0
    injected = plane.first("target draining", old.instance_id)
    assert seen["injected"]["seconds"] == 0
    assert seen["injected"]["source"] == "autoscaling:TerminateInstanceInAutoScalingGroup returned"
    new = next(i for i in plane.instances.values() if i.instance_id != old.instance_id)
    _assert_measured(report, "target_unhealthy", plane.first("target draining", old.instance_id), injected)
    # the launch is timed by the scaling activity's own StartTime: exact
    assert seen["replacement_launched"]["seconds"] == pytest.approx(plane.first("launched", new.instance_id) - injected)
    assert seen["replacement_launched"]["source"] == "autoscaling scaling activity StartTime"
    _assert_measured(report, "replacement_in_service", plane.first("in service", new.instance_id), injected)
    _assert_measured(report, "replacement_healthy", plane.first("target healthy", new.instance_id), injected)
    # the old instance went only once the drain (60 s) completed the hook, then terminated (5 s)
    _assert_measured(report, "old_instance_terminated", plane.first("terminated", old.instance_id), injected)
    assert seen["old_instance_terminated"]["seconds"] >= 65.0
    # the replacement answers (through the load balancer failing open) as soon as its backend serves
    _assert_measured(report, "endpoint_recovered", plane.first("backend serving", new.instance_id), injected)
    assert any("fails open" in note for note in report["notes"])
    assert report["recovery_seconds"] == seen["endpoint_recovered"]["seconds"]
    phases = {p["phase"]: p for p in report["phases"]}
    assert phases["detection"]["model_terms"] == ["detection"]
    assert phases["launch or warm start"]["model_terms"] == ["cold launch and boot"]
    assert phases["launch or warm start"]["measured_seconds"] == pytest.approx(
        25.0, abs=seen["replacement_in_service"]["uncertainty_seconds"]
    )
    assert report["model"]["environment"] == "drilled"


def test_hang_freezes_the_backend_through_run_command(drill_for: Any) -> None:
    drill = drill_for()
    plane = drill.world.plane
    (old,) = plane.in_group()
    code, _, report = drill.run("hang", "--yes")
    assert code == 0 and report is not None and report["outcome"] == "recovered"
    assert drill.world.calls[("ssm", "SendCommand")] == 1
    assert drill.world.calls[("ssm", "GetCommandInvocation")] >= 2  # the first answers InvocationDoesNotExist
    seen = _milestones(report)
    frozen = plane.first("backend frozen", old.instance_id)
    _assert_measured(report, "injected", frozen, frozen)  # injection is when Run Command reported Success
    assert seen["injected"]["source"].startswith("ssm:GetCommandInvocation")
    unhealthy = plane.first("target unhealthy", old.instance_id)
    _assert_measured(report, "target_unhealthy", unhealthy, seen["injected"]["seconds"] + _injected_at(report, plane))
    # two failed checks 5 s apart after the freeze: detection is 5-10 s, as the model's config term says
    assert 5.0 <= unhealthy - frozen <= 10.0
    assert old.backend == "frozen" and old.lifecycle == "Terminating:Wait"  # its drain is still running


def _hot_standby(tmp: Path) -> EnvironmentConfig:
    return _config(tmp, jobsdb={"mode": "rds"}, autoscaling={"failover": {"mode": "hot_standby"}})


def test_hot_standby_instance_loss_measures_the_takeover(tmp_path: Path, drill_for: Any) -> None:
    drill = drill_for(_hot_standby(tmp_path))
    plane = drill.world.plane
    holder, standby = plane.in_group()
    assert (holder.backend, standby.backend) == ("serving", "standby")
    code, text, report = drill.run("instance-loss", "--yes")
    assert code == 0 and report is not None and report["outcome"] == "recovered", text
    assert report["failover_mode"] == "hot_standby"
    injected = _injected_at(report, plane)
    _assert_measured(report, "standby_healthy", plane.first("target healthy", standby.instance_id), injected)
    # terminated through the group: the drain stopped the holder's backend and released the lease, and the
    # standby took it at its next poll
    taken = plane.first("lease taken", standby.instance_id)
    assert 0.0 <= taken - plane.first("lease released", holder.instance_id) <= 10.0 / 6 + 1e-6
    phases = {p["phase"]: p for p in report["phases"]}
    assert phases["takeover"]["model_terms"][0] == "the holder's lease runs out"
    assert phases["takeover"]["measured_seconds"] <= phases["takeover"]["model_seconds"] + 5
    assert report["model_total_seconds"] == pytest.approx(phases["takeover"]["model_seconds"])


def test_hot_standby_hang_the_holder_yields(tmp_path: Path, drill_for: Any) -> None:
    drill = drill_for(_hot_standby(tmp_path))
    plane = drill.world.plane
    holder, _standby = plane.in_group()
    code, text, report = drill.run("hang", "--yes")
    assert code == 0 and report is not None and report["outcome"] == "recovered", text
    frozen = plane.first("backend frozen", holder.instance_id)
    # 3 failed checks of its own backend, a sixth of the 10 s lease apart, then the lease is yielded
    assert plane.first("lease yielded", holder.instance_id) - frozen <= 3 * 10.0 / 6 + 1e-6
    assert holder.health == "Unhealthy" and holder.lifecycle.startswith("Terminating")
    assert _milestones(report)["standby_healthy"]["seconds"] < report["model_total_seconds"]


@pytest.mark.parametrize(
    ("scenario", "extra", "handover"),
    [
        ("scale-in", (), "lease released"),  # the drain stops the backend and releases the lease
        ("az-loss", ("--fis-role-arn", FIS_ROLE), None),  # the cut-off holder cannot renew: the lease runs out
    ],
)
def test_hot_standby_scale_in_and_az_loss(
    tmp_path: Path, drill_for: Any, scenario: str, extra: tuple[str, ...], handover: str | None
) -> None:
    drill = drill_for(_hot_standby(tmp_path))
    plane = drill.world.plane
    holder, standby = plane.in_group()
    code, text, report = drill.run(scenario, "--yes", *extra)
    assert code == 0 and report is not None and report["outcome"] == "recovered", text
    injected = _injected_at(report, plane)
    taken = plane.first("lease taken", standby.instance_id)
    if handover is not None:
        assert taken - plane.first(handover, holder.instance_id) <= 10.0 / 6 + 1e-6  # the standby's next poll
    else:
        assert 10.0 - 10.0 / 6 <= taken - injected <= 10.0 + 10.0 / 6 + 1e-6  # at most a TTL after the last renewal
    _assert_measured(report, "standby_healthy", plane.first("target healthy", standby.instance_id), injected)


def test_hot_standby_needs_both_instances(tmp_path: Path, drill_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    drill = drill_for(_hot_standby(tmp_path))
    _, standby = drill.world.plane.in_group()
    standby.lifecycle = "Pending"
    code, _, _ = drill.run("hang", "--yes")
    assert code == 1 and "rerun once 2 instance(s) are InService" in capsys.readouterr().err


def _injected_at(report: dict[str, Any], plane: Any) -> float:
    from datetime import datetime

    return datetime.fromisoformat(report["injected_at"].replace("Z", "+00:00")).timestamp()


def test_scale_in_runs_the_drain_path(drill_for: Any) -> None:
    drill = drill_for()
    plane = drill.world.plane
    (old,) = plane.in_group()
    code, _, report = drill.run("scale-in", "--yes")
    assert code == 0 and report is not None and report["outcome"] == "recovered"
    seen = _milestones(report)
    assert seen["injected"]["source"] == "autoscaling:TerminateInstanceInAutoScalingGroup returned"
    injected = _injected_at(report, plane)
    _assert_measured(report, "target_unhealthy", plane.first("target draining", old.instance_id), injected)
    # the hook held the old instance for the drain (60 s) before it terminated (5 s)
    _assert_measured(report, "old_instance_terminated", plane.first("terminated", old.instance_id), injected)
    assert seen["old_instance_terminated"]["seconds"] >= 65.0
    assert any(b for b in report["phases"] if b["phase"] == "detection" and b["measured_seconds"] is not None)


def test_az_loss_creates_the_template_and_recovers_in_another_zone(drill_for: Any) -> None:
    drill = drill_for()
    plane = drill.world.plane
    (old,) = plane.in_group()
    code, _, report = drill.run("az-loss", "--yes", "--fis-role-arn", FIS_ROLE, "--fis-duration-minutes", "15")
    assert code == 0 and report is not None and report["outcome"] == "recovered", report
    (new,) = [i for i in plane.in_group() if i.instance_id != old.instance_id]
    assert old.zone == ZONES[0] and new.zone == ZONES[1]
    fis = boto3.client("fis", region_name=REGION)
    template_id = find_template(fis, drill.world.config, ZONES[0])
    assert template_id is not None
    template = fis.get_experiment_template(id=template_id)["experimentTemplate"]
    assert template["tags"][TAG_ZONE] == ZONES[0] and template["roleArn"] == FIS_ROLE
    actions = {a["actionId"]: a for a in template["actions"].values()}
    assert actions["aws:network:disrupt-connectivity"]["parameters"] == {"duration": "PT15M", "scope": "all"}
    assert (
        actions["aws:ec2:asg-insufficient-instance-capacity-error"]["parameters"]["availabilityZoneIdentifiers"]
        == ZONES[0]
    )
    subnet = template["targets"]["subnets"]["resourceArns"]
    assert subnet == [f"arn:aws:ec2:{REGION}:123456789012:subnet/{plane.subnets[ZONES[0]]}"]
    (experiment,) = drill.world.fis.experiments.values()
    assert experiment.status in ("stopping", "stopped")  # the drill ends the zone loss once it has measured
    assert any("stopped FIS experiment" in n for n in report["notes"])
    assert _milestones(report)["injected"]["source"].startswith("fis:GetExperiment")


def test_az_loss_reuses_a_tagged_template(drill_for: Any) -> None:
    drill = drill_for()
    assert drill.run("az-loss", "--yes", "--fis-role-arn", FIS_ROLE)[0] == 0
    drill.clock.sleep(120)  # the old instance's drain ends: the group is steady again
    # the replacement is now in the second zone: a second drill creates that zone's template, then reuses both
    assert drill.run("az-loss", "--yes", "--fis-role-arn", FIS_ROLE)[0] == 0
    fis = boto3.client("fis", region_name=REGION)
    assert len(fis.list_experiment_templates()["experimentTemplates"]) == 2
    code, _, _ = drill.run("az-loss", "--yes")  # the drain is still running: not steady, refused
    assert code == 1
    drill.clock.sleep(120)
    code, _, _ = drill.run("az-loss", "--yes")  # no role needed: the first zone's template exists
    assert code == 0
    assert len(fis.list_experiment_templates()["experimentTemplates"]) == 2


def _define_as_the_stack_does(drill: Any) -> dict[str, str]:
    """Creates, per zone, the template ``drill.az_loss_experiment: true`` makes the stack define
    (:func:`rudder_ha.parts.drill_experiment.spec.template_args`, in the FIS API's shape); zone -> id."""
    plane = drill.world.plane
    config = drill.world.config
    group = drill.world.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[plane.group_name])
    props = DrillExperimentProps(
        name_prefix=config.name_prefix,
        environment=config.environment,
        region=REGION,
        vpc_id="vpc-0emulated",
        private_subnet_ids=list(plane.subnets.values()),
        group_arn=group["AutoScalingGroups"][0]["AutoScalingGroupARN"],
    )
    role = f"arn:aws:iam::123456789012:role/{experiment_spec.role_name(config.name_prefix)}"
    fis = boto3.client("fis", region_name=REGION)
    ids = {}
    for zone, subnet in plane.subnets.items():
        args = experiment_spec.template_args(
            props, zone=zone, subnet_arn_=f"arn:aws:ec2:{REGION}:123456789012:subnet/{subnet}", role_arn=role
        )
        created = fis.create_experiment_template(
            clientToken=f"stack-{zone}",
            description=args["description"],
            roleArn=args["role_arn"],
            stopConditions=[{"source": c["source"]} for c in args["stop_condition"]],
            targets={
                t["name"]: {
                    "resourceType": t["resource_type"],
                    "resourceArns": t["resource_arns"],
                    "selectionMode": t["selection_mode"],
                }
                for t in args["target"]
            },
            actions={
                a["name"]: {
                    "actionId": a["action_id"],
                    "parameters": {p["key"]: p["value"] for p in a["parameter"]},
                    "targets": {a["target"]["key"]: a["target"]["value"]},
                }
                for a in args["action"]
            },
            tags=args["tags"],
        )
        ids[zone] = created["experimentTemplate"]["id"]
    return ids


def test_az_loss_starts_the_template_the_stack_defines(drill_for: Any) -> None:
    """With ``drill.az_loss_experiment: true`` no role is passed and nothing is created: the drill finds the
    stack's template for the serving instance's zone by its tags and starts it."""
    drill = drill_for()
    plane = drill.world.plane
    (old,) = plane.in_group()
    ids = _define_as_the_stack_does(drill)
    code, _, report = drill.run("az-loss", "--yes")
    assert code == 0 and report is not None and report["outcome"] == "recovered", report
    (experiment,) = drill.world.fis.experiments.values()
    assert experiment.template_id == ids[old.zone]
    assert len(boto3.client("fis", region_name=REGION).list_experiment_templates()["experimentTemplates"]) == 2
    (new,) = [i for i in plane.in_group() if i.instance_id != old.instance_id]
    assert new.zone != old.zone  # the template's no-launch action kept the replacement out of the lost zone


def test_az_loss_without_template_or_role_is_refused(drill_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    drill = drill_for()
    code, out, _ = drill.run("az-loss", "--yes")
    assert code == 1 and out == ""
    said = capsys.readouterr().err
    assert "set drill.az_loss_experiment: true in" in said and "or pass --fis-role-arn ARN" in said
    assert len(said.strip().splitlines()) == 1
    assert drill.world.calls[("fis", "StartExperiment")] == 0
    assert all(i.ec2_state == "running" for i in drill.world.plane.instances.values())


def test_timeout_when_no_replacement_comes(drill_for: Any) -> None:
    drill = drill_for()
    drill.world.plane.replacements_paused = True
    code, _, report = drill.run("instance-loss", "--yes", "--timeout", "300")
    assert code == 1 and report is not None
    assert report["outcome"] == "timed out after 300 s waiting until the group launched (or started) a replacement"
    assert "target_unhealthy" in _milestones(report) and "replacement_launched" not in _milestones(report)
    assert drill.clock.now() - _injected_at(report, drill.world.plane) == pytest.approx(300.0, abs=1.0)


def test_detection_deadline_when_the_health_check_never_fails(drill_for: Any) -> None:
    drill = drill_for()
    drill.world.plane.health_checks_paused = True
    code, _, report = drill.run("hang", "--yes")
    assert code == 1 and report is not None
    # the model's detection (2 x 5 s + 4 s = 14 s) three times, plus a minute
    assert (
        report["outcome"] == "timed out after 102 s waiting until the load balancer reported the old target not healthy"
    )


def test_a_failed_run_command_injects_nothing(drill_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    drill = drill_for()
    (instance,) = drill.world.plane.in_group()
    drill.world.plane.cut_off_subnets.add(instance.subnet_id)  # SSM cannot reach it
    drill.world.plane.cut_off_subnets.discard(instance.subnet_id)  # ...restored before the steady check
    drill.world.plane.timings = Timings(command_runs=2.0)
    original = drill.world.plane._run

    def unreachable(invocation: Any) -> None:
        drill.world.plane.cut_off_subnets.add(instance.subnet_id)
        original(invocation)
        drill.world.plane.cut_off_subnets.discard(instance.subnet_id)

    drill.world.plane._run = unreachable  # type: ignore[method-assign]
    code, out, _ = drill.run("hang", "--yes")
    assert code == 1 and out == ""
    assert "the hang was not injected" in capsys.readouterr().err
    assert instance.backend == "serving"


def test_polling_backs_off_and_survives_throttling(drill_for: Any) -> None:
    drill = drill_for()
    terminate = drill.world.plane.terminate_in_group
    injected = []

    def terminate_then_throttle(params: dict[str, Any]) -> Any:
        drill.world.throttled[("elbv2", "DescribeTargetHealth")] = 3  # the first three polls after injection
        injected.append(params["InstanceId"])
        return terminate(params)

    drill.world.plane.terminate_in_group = terminate_then_throttle  # type: ignore[method-assign]
    code, _, report = drill.run("instance-loss", "--yes")
    assert code == 0 and report is not None and report["outcome"] == "recovered"
    recovery = report["recovery_seconds"]
    polls = drill.world.calls[("elbv2", "DescribeTargetHealth")]
    assert len(injected) == 1
    assert drill.world.throttled[("elbv2", "DescribeTargetHealth")] == 0  # all three throttled answers were met
    # at most one poll a second (the base interval), at least one every 30 s (the throttled ceiling)
    assert recovery / 30 <= polls <= recovery + 2


def test_backoff_grows_resets_and_doubles_on_throttling() -> None:
    backoff = Backoff()
    assert [backoff.unchanged() for _ in range(6)] == [1.5, 2.25, 3.375, 5.0, 5.0, 5.0]
    assert backoff.changed() == 1.0
    assert [backoff.throttled() for _ in range(7)] == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_prod_needs_i_mean_prod(tmp_path: Path, drill_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    drill = drill_for(_config(tmp_path, "prod"))
    code, out, _ = drill.run("instance-loss", "--yes")
    assert code == 1 and out == ""
    assert (
        "is a prod environment" in capsys.readouterr().err
        and "--i-mean-prod" in capsys.readouterr().err + "--i-mean-prod"
    )
    assert not drill.world.calls
    code, _, report = drill.run("instance-loss", "--yes", "--i-mean-prod")
    assert code == 0 and report is not None and report["outcome"] == "recovered"


def test_confirmation_is_required(drill_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    drill = drill_for()
    code, _, _ = drill.run("instance-loss")
    assert code == 1 and "pass --yes" in capsys.readouterr().err
    code, _, _ = drill.run("instance-loss", answer="staging")
    assert code == 1 and "not confirmed" in capsys.readouterr().err
    assert "Type the environment name" in drill.prompts[-1]
    assert not drill.world.calls
    code, _, report = drill.run("instance-loss", answer="drilled")
    assert code == 0 and report is not None


def test_an_unsteady_environment_is_refused(drill_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    drill = drill_for()
    (instance,) = drill.world.plane.in_group()
    instance.target = "unhealthy"
    code, _, _ = drill.run("instance-loss", "--yes")
    assert code == 1 and "rerun once it is healthy" in capsys.readouterr().err
    assert instance.ec2_state == "running"


def test_the_chart_shows_the_model_and_the_measurement(drill_for: Any) -> None:
    drill = drill_for()
    code, text, _ = drill.run("instance-loss", "--yes", "--ascii")
    assert code == 0
    assert "model (rto, worst case)" in text and "measured (instance-loss)" in text
    assert "Term by term:" in text and "cold launch and boot" in text
    assert "[measured" in text and "/health answered 200 through the load balancer again" in text


def test_an_eks_environment_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rudder_ha.cli import main

    code = main(["drill", "prod-eks", "--scenario", "instance-loss", "--yes", "--i-mean-prod"])
    assert code == 1
    assert "the eks topology does not have; drill an environment whose topology rto models" in capsys.readouterr().err


def test_interrupted_az_loss_gives_the_zone_back(drill_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    drill = drill_for()
    probes: list[str] = []
    real = HttpProbe(timeout=5)

    def probe_then_interrupt(url: str) -> Any:
        probes.append(url)
        if len(probes) > 5:  # the operator presses Ctrl-C a few seconds into the measurement
            raise KeyboardInterrupt
        return real(url)

    code = drill_command(
        drill.world.config,
        drill.args("az-loss", "--yes", "--endpoint", drill.url, "--fis-role-arn", FIS_ROLE),
        clients=drill.world.client,
        clock=drill.clock,
        probe=probe_then_interrupt,
    )
    assert code == 130 and "drill: interrupted" in capsys.readouterr().err
    (experiment,) = drill.world.fis.experiments.values()
    assert experiment.status == "stopping"
    drill.clock.sleep(5)
    assert experiment.status == "stopped" and not drill.world.plane.cut_off_subnets


def test_an_environment_not_deployed_is_refused(
    tmp_path: Path, drill_for: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    drill = drill_for()
    other = dataclasses.replace(drill.world.config, environment="never-deployed")
    code = drill_command(
        other,
        drill.args("instance-loss", "--yes", "--endpoint", drill.url),
        clients=drill.world.client,
        clock=drill.clock,
        probe=HttpProbe(timeout=5),
    )
    assert code == 1
    assert "no Auto Scaling group rudder-ha-never-deployed-data-plane" in capsys.readouterr().err


def test_a_load_balancer_not_deployed_is_refused(drill_for: Any, capsys: pytest.CaptureFixture[str]) -> None:
    drill = drill_for()
    elbv2 = boto3.client("elbv2", region_name=REGION)
    (lb,) = elbv2.describe_load_balancers(Names=[drill.world.config.name_prefix])["LoadBalancers"]
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    code, _, _ = drill.run("instance-loss", "--yes")
    assert code == 1
    assert "(LoadBalancerNotFound); deploy the environment first" in capsys.readouterr().err

"""The az-loss drill's FIS experiment templates, synthesized: with ``drill.az_loss_experiment: true`` the
single-node stack defines one template per private subnet, tagged as ``rudder-ha drill az-loss`` looks for
it and doing what the drill would otherwise create (:func:`rudder_ha.drill.fis.template_document`), and a
role only FIS can assume, allowed only what the two FIS actions need on this environment's subnets and
group; the Pulumi program declares the same; off by default, and refused by the eks topology.

staging (an adopted VPC with two private subnets) is synthesized in-process from a copy of its file with
the setting on."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from rudder_ha.common.policies import ACTIONS_WITHOUT_RESOURCES
from rudder_ha.config import load_environment
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.drill import fis
from rudder_ha.parts.drill_experiment import spec
from tests.support.documents import with_setting
from tests.support.parity import Aspect, cdktf_resources, compare, pulumi_resources
from tests.support.paths import REPO
from tests.test_iam_least_privilege import violations

ENV = "staging"
SETTING = "drill.az_loss_experiment"


def _write(tmp: Path, name: str, dotted: str, value: Any) -> Path:
    doc = yaml.safe_load((REPO / "environments" / f"{name}.yaml").read_text(encoding="utf-8"))
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(with_setting(doc, dotted, value)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def staging(
    tmp_path_factory: pytest.TempPathFactory, in_process_synthesis: ModuleType
) -> tuple[EnvironmentConfig, dict[str, Any]]:
    """staging with the setting on, loaded from its file and synthesized."""
    config = load_environment(_write(tmp_path_factory.mktemp("env"), ENV, SETTING, True))
    outdir = tmp_path_factory.mktemp("cdktf-drill.out")
    (name,) = in_process_synthesis.synthesize([config], outdir)
    return config, json.loads((outdir / "stacks" / name / "cdk.tf.json").read_text(encoding="utf-8"))


def _ours(stack: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in stack.get(kind, {}).items() if k.startswith("drill_experiment_")}


def _templates(stack: dict[str, Any]) -> list[dict[str, Any]]:
    return list(_ours(stack["resource"], "aws_fis_experiment_template").values())


def test_off_by_default_in_every_shipped_environment() -> None:
    for name in ("dev", "staging", "prod", "prod-eks"):
        assert not load_environment(REPO / "environments" / f"{name}.yaml").drill.az_loss_experiment


def test_one_template_per_private_subnet_tagged_for_the_drill(staging: tuple[EnvironmentConfig, dict]) -> None:
    config, stack = staging
    templates = _templates(stack)
    subnets = _ours(stack["data"], "aws_subnet")
    assert len(templates) == len(config.network.private_subnet_ids) == len(subnets)
    by_id = {v["id"]: k for k, v in subnets.items()}
    for template in templates:
        (subnet_target,) = [t for t in template["target"] if t["resource_type"] == "aws:ec2:subnet"]
        (arn,) = subnet_target["resource_arns"]
        subnet_id = arn.rsplit("/", 1)[1]
        zone = f"${{data.aws_subnet.{by_id[subnet_id]}.availability_zone}}"
        assert template["tags"] == {fis.TAG_ENVIRONMENT: ENV, fis.TAG_DRILL: "az-loss", fis.TAG_ZONE: zone}
        assert template["stop_condition"] == [{"source": "none"}]
        assert template["role_arn"].startswith("${aws_iam_role.drill_experiment_role_")
    targeted = {t["target"][0]["resource_arns"][0].rsplit("/", 1)[1] for t in templates}
    assert targeted == set(config.network.private_subnet_ids)


def test_the_templates_do_what_the_drill_would_create(staging: tuple[EnvironmentConfig, dict]) -> None:
    """Same actions, parameters and targets as :func:`rudder_ha.drill.fis.template_document`."""
    config, stack = staging
    drill = fis.template_document(
        config,
        zone="ZONE",
        account="1",
        subnet_ids=["s"],
        group_arn="G",
        role_arn="R",
        duration_minutes=spec.DURATION_MINUTES,
    )
    for template in _templates(stack):
        zone = template["tags"][fis.TAG_ZONE]
        actions = {
            a["name"]: {
                "actionId": a["action_id"],
                "parameters": {p["key"]: p["value"].replace(zone, "ZONE") for p in a["parameter"]},
                "targets": {a["target"]["key"]: a["target"]["value"]},
            }
            for a in template["action"]
        }
        assert actions == drill["actions"]
        targets = {t["name"]: (t["resource_type"], t["selection_mode"]) for t in template["target"]}
        assert targets == {k: (v["resourceType"], v["selectionMode"]) for k, v in drill["targets"].items()}
        (group,) = [t for t in template["target"] if t["name"] == "group"]
        assert group["resource_arns"] == ["${aws_autoscaling_group.data_plane_group_9B4E8FD2.arn}"] or all(
            a.startswith("${aws_autoscaling_group.data_plane_group") for a in group["resource_arns"]
        )


def test_only_fis_assumes_the_role(staging: tuple[EnvironmentConfig, dict]) -> None:
    _, stack = staging
    ((_, role),) = _ours(stack["resource"], "aws_iam_role").items()
    (statement,) = json.loads(role["assume_role_policy"])["Statement"]
    assert statement["Principal"] == {"Service": "fis.amazonaws.com"}
    assert set(statement["Condition"]) == {"StringEquals", "ArnLike"}
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":experiment/*")


def test_the_role_reaches_only_these_subnets_and_fis_network_acls(staging: tuple[EnvironmentConfig, dict]) -> None:
    config, stack = staging
    ((_, policy),) = _ours(stack["resource"], "aws_iam_role_policy").items()
    statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
    swap = statements["SwapSubnetNetworkAcl"]["Resource"]
    subnets = sorted(r.rsplit("/", 1)[1] for r in swap if ":subnet/" in r)
    assert subnets == sorted(config.network.private_subnet_ids)
    assert [r for r in swap if ":subnet/" not in r] == [r for r in swap if r.endswith(":network-acl/*")]
    for sid in ("CreateFisNetworkAcl", "TagFisNetworkAcl"):
        assert statements[sid]["Condition"]["StringEquals"][f"aws:RequestTag/{spec.FIS_MANAGED_TAG}"] == "true"
    changed = statements["ChangeFisNetworkAcl"]
    assert changed["Condition"] == {"StringEquals": {f"ec2:ResourceTag/{spec.FIS_MANAGED_TAG}": "true"}}
    assert statements["CreateFisNetworkAclInVpc"]["Resource"].endswith(f":vpc/{config.network.vpc_id}")
    inject = statements["FailGroupLaunches"]["Condition"]
    assert inject["ForAnyValue:StringEquals"] == {"ec2:FisActionId": [fis.NO_LAUNCH_ACTION]}
    (group,) = inject["ForAllValues:StringEquals"]["ec2:FisTargetArns"]
    assert group.startswith("${aws_autoscaling_group.data_plane_group")


FIS_ACTIONS_WITHOUT_RESOURCES = ("ec2:DescribeNetworkAcls", "ec2:DescribeManagedPrefixLists", "ec2:InjectApiError")


def test_the_stack_stays_least_privilege(
    staging: tuple[EnvironmentConfig, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The least-privilege checker passes with the FIS role's actions that take no resource on the project's
    list (each with its reason), and fails on exactly those without them."""
    _, stack = staging
    assert violations({ENV: stack}) == []
    for action in FIS_ACTIONS_WITHOUT_RESOURCES:
        monkeypatch.delitem(ACTIONS_WITHOUT_RESOURCES, action)
    without = violations({ENV: stack})
    assert without and all("drill_experiment_policy" in v for v in without)
    assert {a for v in without for a in v.split(": ")[-1].split(", ")} == set(FIS_ACTIONS_WITHOUT_RESOURCES)


def test_pulumi_declares_the_same(staging: tuple[EnvironmentConfig, dict]) -> None:
    from rudder_ha.topologies.single_node.pulumi import build
    from tests.support.pulumi_mocks import run_program

    config, stack = staging
    mocks = run_program(lambda: build(config).outputs(), stack=ENV, region=config.region)
    kinds = ("aws_fis_experiment_template", "aws_iam_role", "aws_iam_role_policy")
    aspect = Aspect("az-loss drill experiment", kinds, ())
    cdktf = [r for r in cdktf_resources(stack, config.region) if r.type in kinds]
    pulumi = [r for r in pulumi_resources(mocks, config.region) if r.type in kinds]
    assert sum(r.type == "aws_fis_experiment_template" for r in pulumi) == len(config.network.private_subnet_ids)
    # The zone is the subnet's, read at plan time by cdktf (a data source) and resolved by the mocks in Pulumi:
    # the only difference allowed, in the two places it appears (the no-launch action's zone and the tag).
    zone_read = 'cdktf="{data:aws_subnet.availability_zone}"'
    problems = compare(aspect, cdktf, pulumi)
    assert [p for p in problems if zone_read not in p] == []
    assert len(problems) == 2 * len(config.network.private_subnet_ids)


def test_eks_refuses_the_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rudder_ha.cli import main

    assert main(["validate", str(_write(tmp_path, "prod-eks", SETTING, True))]) == 1
    said = capsys.readouterr()
    assert "drill" in said.out + said.err

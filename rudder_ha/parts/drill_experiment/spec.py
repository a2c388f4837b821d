"""The az-loss drill's FIS experiment templates and role, shared by the cdktf construct
(:mod:`rudder_ha.parts.drill_experiment.cdktf`) and the Pulumi component
(:mod:`rudder_ha.parts.drill_experiment.pulumi`).

With ``drill.az_loss_experiment: true`` the stack defines one template per private subnet, tagged with the
subnet's Availability Zone, that does what :mod:`rudder_ha.drill.fis` would create on the first run:
``aws:network:disrupt-connectivity`` cuts the subnet off (FIS swaps in a network ACL of its own, tagged
``managedByFIS=true``, and puts the original back when the action ends) and
``aws:ec2:asg-insufficient-instance-capacity-error`` fails the group's launches in that zone, so the
replacement comes up elsewhere. ``rudder-ha drill az-loss`` finds the template by its tags and starts it.

The role FIS assumes may only do what the FIS actions reference lists for those two actions, on this
environment's private subnets, on network ACLs FIS creates (tag ``managedByFIS=true``), and on this
group; the describe calls take no resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rudder_ha.common.refs import Ref
from rudder_ha.drill import fis
from rudder_ha.parts import Part

PART = Part("drill_experiment", "DrillExperiment")
"""Renderers: :class:`rudder_ha.parts.drill_experiment.cdktf.DrillExperiment` and its Pulumi twin."""

DURATION_MINUTES = 10
"""How long each action lasts (the drill's ``--duration-minutes`` default): FIS ends both by itself."""
POLICY_NAME = "run-az-loss-experiment"
FIS_MANAGED_TAG = "managedByFIS"
"""The tag FIS puts on the network ACL it creates for ``aws:network:disrupt-connectivity``."""


@dataclass(frozen=True)
class DrillExperimentProps:
    """Props of ``DrillExperiment`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    environment: str
    region: str
    vpc_id: Ref
    private_subnet_ids: Sequence[Ref]
    """One template per subnet, tagged with the subnet's zone (single-node: one private subnet per zone)."""
    group_arn: Ref
    """The data plane's autoscaling group, whose launches fail in the lost zone."""


def role_name(name_prefix: str) -> str:
    """The role FIS assumes to run the az-loss templates."""
    return f"{name_prefix}-drill-az-loss"


def role_args(name_prefix: str) -> dict[str, Any]:
    return {"name": role_name(name_prefix), "description": "rudder-ha: AWS FIS running the az-loss drill"}


def trust_policy(partition: str, account: str) -> dict[str, Any]:
    """Only FIS, on behalf of an experiment of this account, may assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "fis.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account},
                    "ArnLike": {"aws:SourceArn": f"arn:{partition}:fis:*:{account}:experiment/*"},
                },
            }
        ],
    }


def _ec2_arn(partition: str, region: str, account: str, what: str) -> str:
    return f"arn:{partition}:ec2:{region}:{account}:{what}"


def subnet_arn(partition: str, region: str, account: str, subnet_id: str) -> str:
    return _ec2_arn(partition, region, account, f"subnet/{subnet_id}")


def role_policy(
    partition: str, region: str, account: str, vpc_id: str, subnet_ids: Sequence[str], group_arn: str
) -> dict[str, Any]:
    """What FIS needs for the two actions (FIS actions reference), on these subnets and this group only."""
    acl = _ec2_arn(partition, region, account, "network-acl/*")
    managed = {f"aws:RequestTag/{FIS_MANAGED_TAG}": "true"}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateFisNetworkAcl",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkAcl",
                "Resource": acl,
                "Condition": {"StringEquals": managed},
            },
            {
                "Sid": "CreateFisNetworkAclInVpc",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkAcl",
                "Resource": _ec2_arn(partition, region, account, f"vpc/{vpc_id}"),
            },
            {
                "Sid": "TagFisNetworkAcl",
                "Effect": "Allow",
                "Action": "ec2:CreateTags",
                "Resource": acl,
                "Condition": {"StringEquals": {**managed, "ec2:CreateAction": "CreateNetworkAcl"}},
            },
            {
                "Sid": "ChangeFisNetworkAcl",
                "Effect": "Allow",
                "Action": ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"],
                "Resource": acl,
                "Condition": {"StringEquals": {f"ec2:ResourceTag/{FIS_MANAGED_TAG}": "true"}},
            },
            {
                "Sid": "SwapSubnetNetworkAcl",
                "Effect": "Allow",
                "Action": "ec2:ReplaceNetworkAclAssociation",
                "Resource": [acl, *(subnet_arn(partition, region, account, s) for s in subnet_ids)],
            },
            {
                "Sid": "ReadPrefixLists",
                "Effect": "Allow",
                "Action": "ec2:GetManagedPrefixListEntries",
                "Resource": _ec2_arn(partition, region, account, "prefix-list/*"),
            },
            {
                "Sid": "FailGroupLaunches",
                "Effect": "Allow",
                "Action": "ec2:InjectApiError",
                "Resource": "*",
                "Condition": {
                    "ForAnyValue:StringEquals": {"ec2:FisActionId": [fis.NO_LAUNCH_ACTION]},
                    "ForAllValues:StringEquals": {"ec2:FisTargetArns": [group_arn]},
                },
            },
            {
                "Sid": "Describe",
                "Effect": "Allow",
                "Action": [
                    "ec2:DescribeManagedPrefixLists",
                    "ec2:DescribeNetworkAcls",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                    "autoscaling:DescribeAutoScalingGroups",
                ],
                "Resource": "*",
            },
        ],
    }


def template_tags(environment: str, zone: str) -> dict[str, str]:
    """The tags ``rudder-ha drill az-loss`` finds the template by (:func:`rudder_ha.drill.fis.template_tags`)."""
    return {fis.TAG_ENVIRONMENT: environment, fis.TAG_DRILL: "az-loss", fis.TAG_ZONE: zone}


def template_args(props: DrillExperimentProps, *, zone: Ref, subnet_arn_: Ref, role_arn: Ref) -> dict[str, Any]:
    """The ``aws_fis_experiment_template``'s settings in Terraform's block names (the Pulumi component
    renames them with :func:`pulumi_names`): the actions of :func:`rudder_ha.drill.fis.template_document`."""
    duration = f"PT{DURATION_MINUTES}M"
    return {
        "description": f"rudder-ha {props.environment}: lose a zone for the data plane ({duration})",
        "role_arn": role_arn,
        "stop_condition": [{"source": "none"}],
        "target": [
            {
                "name": "subnets",
                "resource_type": "aws:ec2:subnet",
                "resource_arns": [subnet_arn_],
                "selection_mode": "ALL",
            },
            {
                "name": "group",
                "resource_type": "aws:ec2:autoscaling-group",
                "resource_arns": [props.group_arn],
                "selection_mode": "ALL",
            },
        ],
        "action": [
            {
                "name": "cut-network",
                "action_id": fis.DISRUPT_ACTION,
                "parameter": [{"key": "duration", "value": duration}, {"key": "scope", "value": "all"}],
                "target": {"key": "Subnets", "value": "subnets"},
            },
            {
                "name": "no-launches",
                "action_id": fis.NO_LAUNCH_ACTION,
                "parameter": [
                    {"key": "availabilityZoneIdentifiers", "value": zone},
                    {"key": "duration", "value": duration},
                    {"key": "percentage", "value": "100"},
                ],
                "target": {"key": "AutoScalingGroups", "value": "group"},
            },
        ],
        "tags": template_tags(props.environment, zone),
    }


PULUMI_BLOCK_NAMES = {
    "action": "actions",
    "target": "targets",
    "stop_condition": "stop_conditions",
    "parameter": "parameters",
}
"""Terraform's repeated block names -> the Pulumi provider's list arguments (a single ``target`` of an
action stays ``target``)."""


def pulumi_names(args: dict[str, Any]) -> dict[str, Any]:
    """:func:`template_args` with the Pulumi provider's argument names."""
    renamed = {PULUMI_BLOCK_NAMES.get(k, k): v for k, v in args.items()}
    renamed["actions"] = [
        {PULUMI_BLOCK_NAMES.get(k, k) if k == "parameter" else k: v for k, v in a.items()} for a in renamed["actions"]
    ]
    return renamed

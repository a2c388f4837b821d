"""The AWS Fault Injection Service experiment template of the az-loss drill.

The template loses one Availability Zone for the data plane: ``aws:network:disrupt-connectivity`` cuts
all traffic in and out of the group's subnets in that zone (FIS does it with a network ACL), and
``aws:ec2:asg-insufficient-instance-capacity-error`` makes launches of the group in that zone fail, so
the replacement comes up in another zone, as in a real zone outage. Both actions end by themselves after
``duration``. The template is found by its tags: the one the stack defines with
``drill.az_loss_experiment: true`` (:mod:`rudder_ha.parts.drill_experiment`, the same actions), or else
one the drill created with ``--fis-role-arn`` (once per zone, then reused).
"""

from __future__ import annotations

from typing import Any

from rudder_ha.config.arns import partition_of
from rudder_ha.config.model import EnvironmentConfig

TAG_ENVIRONMENT = "rudder-ha:environment"
TAG_DRILL = "rudder-ha:drill"
TAG_ZONE = "rudder-ha:availability-zone"
DISRUPT_ACTION = "aws:network:disrupt-connectivity"
NO_LAUNCH_ACTION = "aws:ec2:asg-insufficient-instance-capacity-error"


def template_tags(config: EnvironmentConfig, zone: str) -> dict[str, str]:
    """The tags that name the az-loss template of ``config`` for ``zone``."""
    return {TAG_ENVIRONMENT: config.environment, TAG_DRILL: "az-loss", TAG_ZONE: zone}


def find_template(fis: Any, config: EnvironmentConfig, zone: str) -> str | None:
    """The id of an existing template tagged for this environment and zone."""
    wanted = template_tags(config, zone)
    token: str | None = None
    while True:
        page = fis.list_experiment_templates(**({"nextToken": token} if token else {}))
        for summary in page.get("experimentTemplates", []):
            tags = summary.get("tags", {})
            if all(tags.get(k) == v for k, v in wanted.items()):
                return str(summary["id"])
        token = page.get("nextToken")
        if not token:
            return None


def template_document(
    config: EnvironmentConfig,
    *,
    zone: str,
    account: str,
    subnet_ids: list[str],
    group_arn: str,
    role_arn: str,
    duration_minutes: int,
) -> dict[str, Any]:
    """``CreateExperimentTemplate``'s arguments (without the client token)."""
    partition = partition_of(config.region)
    duration = f"PT{duration_minutes}M"
    return {
        "description": f"rudder-ha {config.environment}: lose {zone} for the data plane ({duration})"[:512],
        "roleArn": role_arn,
        "stopConditions": [{"source": "none"}],
        "targets": {
            "subnets": {
                "resourceType": "aws:ec2:subnet",
                "resourceArns": [f"arn:{partition}:ec2:{config.region}:{account}:subnet/{s}" for s in subnet_ids],
                "selectionMode": "ALL",
            },
            "group": {"resourceType": "aws:ec2:autoscaling-group", "resourceArns": [group_arn], "selectionMode": "ALL"},
        },
        "actions": {
            "cut-network": {
                "actionId": DISRUPT_ACTION,
                "parameters": {"duration": duration, "scope": "all"},
                "targets": {"Subnets": "subnets"},
            },
            "no-launches": {
                "actionId": NO_LAUNCH_ACTION,
                "parameters": {"availabilityZoneIdentifiers": zone, "duration": duration, "percentage": "100"},
                "targets": {"AutoScalingGroups": "group"},
            },
        },
        "tags": template_tags(config, zone),
    }

"""The az-loss drill's FIS experiment templates (cdktf): one per private subnet, tagged with its zone, and
the role FIS runs them with (settings from :mod:`rudder_ha.parts.drill_experiment.spec`)."""

from __future__ import annotations

from typing import Any

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.data_aws_subnet import DataAwsSubnet
from cdktf_cdktf_provider_aws.fis_experiment_template import (
    FisExperimentTemplate,
    FisExperimentTemplateAction,
    FisExperimentTemplateActionParameter,
    FisExperimentTemplateActionTarget,
    FisExperimentTemplateStopCondition,
    FisExperimentTemplateTarget,
)
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.drill_experiment import spec
from rudder_ha.parts.drill_experiment.spec import DrillExperimentProps

__all__ = ["DrillExperiment", "DrillExperimentProps"]


class DrillExperiment(Construct):
    """The FIS role and its policy (``role``, ``policy``) and one template per private subnet (``templates``)."""

    def __init__(self, scope: Construct, id_: str, props: DrillExperimentProps) -> None:
        super().__init__(scope, id_)
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        self.role = IamRole(
            self,
            "role",
            **spec.role_args(props.name_prefix),
            assume_role_policy=policy_json(spec.trust_policy(partition, account)),
        )
        self.policy = IamRolePolicy(
            self,
            "policy",
            role=self.role.id,
            name=spec.POLICY_NAME,
            policy=policy_json(
                spec.role_policy(
                    partition, props.region, account, props.vpc_id, list(props.private_subnet_ids), props.group_arn
                )
            ),
        )
        self.templates = []
        for i, subnet_id in enumerate(props.private_subnet_ids):
            subnet = DataAwsSubnet(self, f"subnet_{i}", id=subnet_id)
            self.templates.append(
                FisExperimentTemplate(
                    self,
                    f"az_loss_{i}",
                    **_structs(
                        spec.template_args(
                            props,
                            zone=subnet.availability_zone,
                            subnet_arn_=spec.subnet_arn(partition, props.region, account, subnet_id),
                            role_arn=self.role.arn,
                        )
                    ),
                    depends_on=[self.policy],
                )
            )


def _structs(args: dict[str, Any]) -> dict[str, Any]:
    """:func:`spec.template_args` with its nested blocks as the provider's structs."""
    actions = [
        FisExperimentTemplateAction(
            name=a["name"],
            action_id=a["action_id"],
            parameter=[FisExperimentTemplateActionParameter(**p) for p in a["parameter"]],
            target=FisExperimentTemplateActionTarget(**a["target"]),
        )
        for a in args["action"]
    ]
    return {
        **args,
        "action": actions,
        "target": [FisExperimentTemplateTarget(**t) for t in args["target"]],
        "stop_condition": [FisExperimentTemplateStopCondition(**c) for c in args["stop_condition"]],
    }

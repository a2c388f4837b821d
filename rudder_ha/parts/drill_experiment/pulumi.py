"""The az-loss drill's FIS experiment templates (Pulumi counterpart of
:mod:`rudder_ha.parts.drill_experiment.cdktf`; settings from :mod:`rudder_ha.parts.drill_experiment.spec`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.parts.drill_experiment import spec
from rudder_ha.parts.drill_experiment.spec import DrillExperimentProps

__all__ = ["DrillExperiment", "DrillExperimentProps"]


class DrillExperiment(pulumi.ComponentResource):
    """The FIS role and its policy and one template per private subnet.

    Attributes: ``role``, ``policy``, ``templates``."""

    def __init__(self, name: str, props: DrillExperimentProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:drill_experiment:DrillExperiment", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        self.role = aws.iam.Role(
            f"{name}-role",
            **spec.role_args(props.name_prefix),
            assume_role_policy=pulumi.Output.all(partition, account).apply(
                lambda v: policy_json(spec.trust_policy(v[0], v[1]))
            ),
            opts=child,
        )
        subnets = list(props.private_subnet_ids)
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=self.role.id,
            name=spec.POLICY_NAME,
            policy=pulumi.Output.all(partition, account, props.vpc_id, props.group_arn, *subnets).apply(
                lambda v: policy_json(spec.role_policy(v[0], props.region, v[1], v[2], v[4:], v[3]))
            ),
            opts=child,
        )
        self.templates = []
        for i, subnet_id in enumerate(subnets):
            zone = aws.ec2.get_subnet_output(id=subnet_id, opts=invoke).availability_zone
            subnet_arn = pulumi.Output.all(partition, account, subnet_id).apply(
                lambda v: spec.subnet_arn(v[0], props.region, v[1], v[2])
            )
            args = spec.template_args(props, zone=zone, subnet_arn_=subnet_arn, role_arn=self.role.arn)
            self.templates.append(
                aws.fis.ExperimentTemplate(
                    f"{name}-az_loss_{i}",
                    **spec.pulumi_names(args),
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy]),
                )
            )
        self.register_outputs({"role_arn": self.role.arn})

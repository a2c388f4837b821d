"""EC2 Image Builder: bakes ``ami/`` and the container images into the environment's data-plane AMI (Pulumi
counterpart of :mod:`rudder_ha.parts.image_pipeline.cdktf`; names and settings from
:mod:`rudder_ha.parts.image_pipeline.spec`, component documents from :mod:`rudder_ha.instance.image_component`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.frontends.pulumi.replacement import CREATE_FIRST
from rudder_ha.instance.image_component import component_documents
from rudder_ha.parts.image_pipeline import spec
from rudder_ha.parts.image_pipeline.spec import DataPlaneImagePipelineProps
from rudder_ha.parts.single_node_group.spec import ROOT_DEVICE

__all__ = ["DataPlaneImagePipeline", "DataPlaneImagePipelineProps"]


class DataPlaneImagePipeline(pulumi.ComponentResource):
    """Builds the data-plane AMI weekly (and once at first deployment) and publishes it to SSM Parameter Store.

    The same components, recipe, infrastructure, distribution, log groups, pipeline and first image as the
    cdktf construct. Component ``data`` is passed verbatim (cdktf escapes ``${``/``%{`` only so that
    Terraform yields this same text). Components, recipe and image are versioned by content; Pulumi
    replaces them create-before-destroy by default, as cdktf's lifecycle does.

    Attributes: ``components``, ``recipe``, ``role``, ``policies`` (the SSM agent's and the build's inline
    policies), ``launch_grant`` (EC2 Auto Scaling's use of the environment's key, or None), ``profile``,
    ``security_group``, ``infrastructure``, ``ami_parameter``, ``distribution``, ``build_logs``,
    ``pipeline_logs``, ``pipeline``, ``image`` (the first build: the launch template and the group must depend
    on it), ``arn``.
    """

    def __init__(
        self, name: str, props: DataPlaneImagePipelineProps, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rudder-ha:image_pipeline:DataPlaneImagePipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = props.name_prefix
        physical = spec.pipeline_name(prefix)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id

        documents = component_documents(prefix, props.rudder, props.bake_settings)
        self.components = [
            aws.imagebuilder.Component(
                f"{name}-{spec.component_id(doc)}",
                **spec.component_args(prefix, doc, props.kms_key_arn),
                data=doc.data,
                opts=pulumi.ResourceOptions.merge(child, CREATE_FIRST),
            )
            for doc in documents
        ]

        inst = props.instance
        self.recipe = aws.imagebuilder.ImageRecipe(
            f"{name}-recipe",
            **spec.recipe_args(prefix, inst, documents),
            components=[aws.imagebuilder.ImageRecipeComponentArgs(component_arn=c.arn) for c in self.components],
            block_device_mappings=[
                aws.imagebuilder.ImageRecipeBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.imagebuilder.ImageRecipeBlockDeviceMappingEbsArgs(
                        **spec.recipe_volume(inst, props.kms_key_arn)
                    ),
                )
            ],
            opts=pulumi.ResourceOptions.merge(child, CREATE_FIRST),
        )

        # Image Builder writes to these groups; created here so they are encrypted and expire.
        self.build_logs = aws.cloudwatch.LogGroup(
            f"{name}-build_logs", **spec.log_group_args(spec.build_log_group(physical), props.kms_key_arn), opts=child
        )
        self.pipeline_logs = aws.cloudwatch.LogGroup(
            f"{name}-pipeline_logs",
            **spec.log_group_args(spec.pipeline_log_group(physical), props.kms_key_arn),
            opts=child,
        )

        self.role = aws.iam.Role(f"{name}-role", **spec.role_args(prefix), opts=child)
        region = props.region
        self.policies = [
            aws.iam.RolePolicy(
                f"{name}-ssm_agent",
                role=self.role.id,
                name=spec.SSM_AGENT_POLICY,
                policy=pulumi.Output.all(partition, account).apply(
                    lambda v: policy_json(spec.ssm_agent_args(v[0], region, v[1])["policy"])
                ),
                opts=child,
            ),
            aws.iam.RolePolicy(
                f"{name}-build_policy",
                role=self.role.id,
                name=spec.BUILD_POLICY_NAME,
                policy=pulumi.Output.all(partition, account, props.kms_key_arn, self.build_logs.arn).apply(
                    lambda v: policy_json(
                        spec.build_instance_policy(
                            partition=v[0],
                            region=region,
                            account=v[1],
                            name_prefix=prefix,
                            kms_key_arn=v[2],
                            build_log_group_arn=v[3],
                        )
                    )
                ),
                opts=child,
            ),
        ]
        self.launch_grant = (
            aws.kms.Grant(
                f"{name}-launch_grant",
                **spec.launch_grant_args(
                    prefix,
                    props.kms_key_arn,
                    pulumi.Output.all(partition, account).apply(lambda v: spec.autoscaling_role_arn(v[0], v[1])),
                ),
                opts=child,
            )
            if spec.uses_environment_key(inst)
            else None
        )
        self.profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=spec.builder_name(prefix), role=self.role.name, opts=child
        )

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg", **spec.security_group_args(prefix, props.vpc_id), opts=child
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress_https",
            security_group_id=self.security_group.id,
            **spec.EGRESS,
            description=spec.EGRESS_DESCRIPTION,
            opts=child,
        )

        self.infrastructure = aws.imagebuilder.InfrastructureConfiguration(
            f"{name}-infrastructure",
            **spec.infrastructure_args(props, self.profile.name, self.security_group.id),
            instance_metadata_options=aws.imagebuilder.InfrastructureConfigurationInstanceMetadataOptionsArgs(
                **spec.METADATA_OPTIONS
            ),
            opts=child,
        )

        self.ami_parameter = spec.ami_parameter(props.environment)
        self.distribution = aws.imagebuilder.DistributionConfiguration(
            f"{name}-distribution",
            **spec.distribution_args(prefix, props.environment),
            distributions=[
                aws.imagebuilder.DistributionConfigurationDistributionArgs(
                    region=props.region,
                    ami_distribution_configuration=(
                        aws.imagebuilder.DistributionConfigurationDistributionAmiDistributionConfigurationArgs(
                            **spec.ami_distribution_args(props)
                        )
                    ),
                    ssm_parameter_configurations=[
                        aws.imagebuilder.DistributionConfigurationDistributionSsmParameterConfigurationArgs(
                            **spec.ssm_parameter_args(props.environment)
                        )
                    ],
                )
            ],
            opts=child,
        )

        builds_from = spec.build_args(self.recipe.arn, self.infrastructure.arn, self.distribution.arn)
        self.pipeline = aws.imagebuilder.ImagePipeline(
            f"{name}-pipeline",
            **spec.pipeline_args(prefix),
            **builds_from,
            schedule=aws.imagebuilder.ImagePipelineScheduleArgs(**spec.schedule_args(props.settings)),
            image_tests_configuration=aws.imagebuilder.ImagePipelineImageTestsConfigurationArgs(**spec.IMAGE_TESTS),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.pipeline_logs, self.build_logs]),
        )

        self.image = aws.imagebuilder.Image(
            f"{name}-image",
            **builds_from,
            image_tests_configuration=aws.imagebuilder.ImageImageTestsConfigurationArgs(**spec.IMAGE_TESTS),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.build_logs, *self.policies, *([self.launch_grant] if self.launch_grant else [])],
                custom_timeouts=pulumi.CustomTimeouts(create=spec.IMAGE_BUILD_TIMEOUT),
                delete_before_replace=CREATE_FIRST.delete_before_replace,
            ),
        )
        self.register_outputs({"pipeline_arn": self.pipeline.arn, "ami_parameter": self.ami_parameter})

    @property
    def arn(self) -> pulumi.Output[str]:
        """The image pipeline's ARN."""
        return self.pipeline.arn

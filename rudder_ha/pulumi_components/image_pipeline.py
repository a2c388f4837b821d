"""EC2 Image Builder: bakes ``ami/`` and the container images into the environment's data-plane AMI (Pulumi
counterpart of :mod:`rudder_ha.constructs.image_pipeline`; names and settings from
:mod:`rudder_ha.specs.image_pipeline`, component documents from :mod:`rudder_ha.image_component`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from rudder_ha.config.model import ImagePipelineSettings, InstanceSettings, RudderSettings
from rudder_ha.image_component import component_documents
from rudder_ha.policies import service_assume_role_policy
from rudder_ha.specs import image_pipeline as spec
from rudder_ha.specs.instance_role import managed_policy_arn
from rudder_ha.specs.single_node_group import ROOT_DEVICE


@dataclass(frozen=True)
class DataPlaneImagePipelineProps:
    """Props of :class:`DataPlaneImagePipeline`."""

    name_prefix: str
    environment: str
    region: str
    kms_key_arn: pulumi.Input[str]
    """Encrypts the components and the build logs (the environment's key)."""
    subnet_id: pulumi.Input[str]
    """One private subnet (with a NAT route) for the build and test instances."""
    vpc_id: pulumi.Input[str]
    settings: ImagePipelineSettings
    instance: InstanceSettings
    rudder: RudderSettings
    bake_settings: Mapping[str, str]
    """``/etc/rudder-ha/instance.env`` at bake time (:func:`rudder_ha.image_component.bake_settings`)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for the AMI, its snapshots and the build instances (provider default tags do not reach them)."""


class DataPlaneImagePipeline(pulumi.ComponentResource):
    """Builds the data-plane AMI weekly (and once at first deployment) and publishes it to SSM Parameter Store.

    The same components, recipe, infrastructure, distribution, log groups, pipeline and first image as the
    cdktf construct. Component ``data`` is passed verbatim (cdktf escapes ``${``/``%{`` only so that
    Terraform yields this same text). Components, recipe and image are versioned by content; Pulumi
    replaces them create-before-destroy by default, as cdktf's lifecycle does.

    Attributes: ``components``, ``recipe``, ``role``, ``profile``, ``security_group``, ``infrastructure``,
    ``ami_parameter``, ``distribution``, ``build_logs``, ``pipeline_logs``, ``pipeline``, ``image`` (the first
    build: the launch template and the group must depend on it), ``arn``.
    """

    def __init__(
        self, name: str, props: DataPlaneImagePipelineProps, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("rudder-ha:image_pipeline:DataPlaneImagePipeline", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = props.name_prefix
        physical = spec.pipeline_name(prefix)
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self)).partition
        tags = dict(props.tags)

        documents = component_documents(prefix, props.rudder, props.bake_settings)
        self.components = [
            aws.imagebuilder.Component(
                f"{name}-{spec.component_id(doc)}",
                name=spec.component_name(prefix, doc),
                description=doc.description,
                platform=spec.PLATFORM,
                version=doc.version,
                data=doc.data,
                kms_key_id=props.kms_key_arn,
                opts=child,
            )
            for doc in documents
        ]

        inst = props.instance
        self.recipe = aws.imagebuilder.ImageRecipe(
            f"{name}-recipe",
            name=physical,
            description=spec.RECIPE_DESCRIPTION,
            version=spec.recipe_version(inst, documents),
            parent_image=spec.parent_image(inst),
            components=[aws.imagebuilder.ImageRecipeComponentArgs(component_arn=c.arn) for c in self.components],
            block_device_mappings=[
                aws.imagebuilder.ImageRecipeBlockDeviceMappingArgs(
                    device_name=ROOT_DEVICE,
                    ebs=aws.imagebuilder.ImageRecipeBlockDeviceMappingEbsArgs(**spec.recipe_volume(inst)),
                )
            ],
            opts=child,
        )

        self.role = aws.iam.Role(
            f"{name}-role",
            name=spec.builder_name(prefix),
            description=spec.ROLE_DESCRIPTION,
            assume_role_policy=service_assume_role_policy(spec.BUILD_SERVICE),
            opts=child,
        )
        for policy in spec.MANAGED_POLICIES:
            aws.iam.RolePolicyAttachment(
                f"{name}-policy_{policy}",
                role=self.role.name,
                policy_arn=partition.apply(lambda p, policy=policy: managed_policy_arn(p, policy)),
                opts=child,
            )
        self.profile = aws.iam.InstanceProfile(
            f"{name}-profile", name=spec.builder_name(prefix), role=self.role.name, opts=child
        )

        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            name=spec.builder_name(prefix),
            description=spec.security_group_description(prefix),
            vpc_id=props.vpc_id,
            tags={"Name": spec.builder_name(prefix)},
            opts=child,
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
            name=physical,
            description=spec.INFRASTRUCTURE_DESCRIPTION,
            instance_profile_name=self.profile.name,
            instance_types=[props.settings.build_instance_type],
            subnet_id=props.subnet_id,
            security_group_ids=[self.security_group.id],
            instance_metadata_options=aws.imagebuilder.InfrastructureConfigurationInstanceMetadataOptionsArgs(
                **spec.METADATA_OPTIONS
            ),
            terminate_instance_on_failure=True,
            resource_tags=spec.build_instance_tags(prefix, tags),
            opts=child,
        )

        self.ami_parameter = spec.ami_parameter(props.environment)
        self.distribution = aws.imagebuilder.DistributionConfiguration(
            f"{name}-distribution",
            name=physical,
            description=spec.distribution_description(props.environment),
            distributions=[
                aws.imagebuilder.DistributionConfigurationDistributionArgs(
                    region=props.region,
                    ami_distribution_configuration=(
                        aws.imagebuilder.DistributionConfigurationDistributionAmiDistributionConfigurationArgs(
                            name=spec.ami_name(physical),
                            description=spec.ami_description(prefix, props.rudder),
                            kms_key_id=inst.ebs_kms_key_arn,
                            ami_tags=spec.ami_tags(physical, props.rudder, tags),
                        )
                    ),
                    ssm_parameter_configurations=[
                        aws.imagebuilder.DistributionConfigurationDistributionSsmParameterConfigurationArgs(
                            parameter_name=self.ami_parameter, data_type=spec.AMI_DATA_TYPE
                        )
                    ],
                )
            ],
            opts=child,
        )

        # Image Builder writes to these groups; created here so they are encrypted and expire.
        self.build_logs = aws.cloudwatch.LogGroup(
            f"{name}-build_logs",
            name=spec.build_log_group(physical),
            retention_in_days=spec.BUILD_LOG_RETENTION_DAYS,
            kms_key_id=props.kms_key_arn,
            opts=child,
        )
        self.pipeline_logs = aws.cloudwatch.LogGroup(
            f"{name}-pipeline_logs",
            name=spec.pipeline_log_group(physical),
            retention_in_days=spec.BUILD_LOG_RETENTION_DAYS,
            kms_key_id=props.kms_key_arn,
            opts=child,
        )

        tests = aws.imagebuilder.ImagePipelineImageTestsConfigurationArgs(
            image_tests_enabled=True, timeout_minutes=spec.IMAGE_TESTS_TIMEOUT_MINUTES
        )
        self.pipeline = aws.imagebuilder.ImagePipeline(
            f"{name}-pipeline",
            name=physical,
            description=spec.pipeline_description(prefix),
            image_recipe_arn=self.recipe.arn,
            infrastructure_configuration_arn=self.infrastructure.arn,
            distribution_configuration_arn=self.distribution.arn,
            schedule=aws.imagebuilder.ImagePipelineScheduleArgs(
                schedule_expression=props.settings.schedule,
                pipeline_execution_start_condition=spec.SCHEDULE_START_CONDITION,
            ),
            image_tests_configuration=tests,
            enhanced_image_metadata_enabled=True,
            status=spec.PIPELINE_STATUS,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.pipeline_logs, self.build_logs]),
        )

        self.image = aws.imagebuilder.Image(
            f"{name}-image",
            image_recipe_arn=self.recipe.arn,
            infrastructure_configuration_arn=self.infrastructure.arn,
            distribution_configuration_arn=self.distribution.arn,
            image_tests_configuration=aws.imagebuilder.ImageImageTestsConfigurationArgs(
                image_tests_enabled=True, timeout_minutes=spec.IMAGE_TESTS_TIMEOUT_MINUTES
            ),
            enhanced_image_metadata_enabled=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.build_logs],
                custom_timeouts=pulumi.CustomTimeouts(create=spec.IMAGE_BUILD_TIMEOUT),
            ),
        )
        self.register_outputs({"pipeline_arn": self.pipeline.arn, "ami_parameter": self.ami_parameter})

    @property
    def arn(self) -> pulumi.Output[str]:
        """The image pipeline's ARN."""
        return self.pipeline.arn

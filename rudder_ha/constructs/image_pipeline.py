"""EC2 Image Builder: bakes ``ami/`` and the container images into the environment's data-plane AMI."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.imagebuilder_component import ImagebuilderComponent
from cdktf_cdktf_provider_aws.imagebuilder_distribution_configuration import (
    ImagebuilderDistributionConfiguration,
    ImagebuilderDistributionConfigurationDistribution,
    ImagebuilderDistributionConfigurationDistributionAmiDistributionConfiguration,
    ImagebuilderDistributionConfigurationDistributionSsmParameterConfiguration,
)
from cdktf_cdktf_provider_aws.imagebuilder_image import (
    ImagebuilderImage,
    ImagebuilderImageImageTestsConfiguration,
    ImagebuilderImageTimeouts,
)
from cdktf_cdktf_provider_aws.imagebuilder_image_pipeline import (
    ImagebuilderImagePipeline,
    ImagebuilderImagePipelineImageTestsConfiguration,
    ImagebuilderImagePipelineSchedule,
)
from cdktf_cdktf_provider_aws.imagebuilder_image_recipe import (
    ImagebuilderImageRecipe,
    ImagebuilderImageRecipeBlockDeviceMapping,
    ImagebuilderImageRecipeBlockDeviceMappingEbs,
    ImagebuilderImageRecipeComponent,
)
from cdktf_cdktf_provider_aws.imagebuilder_infrastructure_configuration import (
    ImagebuilderInfrastructureConfiguration,
    ImagebuilderInfrastructureConfigurationInstanceMetadataOptions,
)
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from rudder_ha.config.model import ImagePipelineSettings, InstanceSettings, RudderSettings
from rudder_ha.constructs.naming import service_assume_role_policy
from rudder_ha.image_component import component_documents
from rudder_ha.specs import image_pipeline as spec
from rudder_ha.specs.image_pipeline import (
    BUILD_LOG_RETENTION_DAYS,
    IMAGE_BUILD_TIMEOUT,
    IMAGE_TESTS_TIMEOUT_MINUTES,
    MANAGED_POLICIES,
)
from rudder_ha.specs.instance_role import managed_policy_arn
from rudder_ha.specs.single_node_group import ROOT_DEVICE

__all__ = [
    "BUILD_LOG_RETENTION_DAYS",
    "IMAGE_BUILD_TIMEOUT",
    "IMAGE_TESTS_TIMEOUT_MINUTES",
    "MANAGED_POLICIES",
    "DataPlaneImagePipeline",
    "DataPlaneImagePipelineProps",
    "terraform_literal",
]


def terraform_literal(text: str) -> str:
    """``text`` escaped for a Terraform string, where ``${`` and ``%{`` would start a template."""
    return text.replace("${", "$${").replace("%{", "%%{")


@dataclass(frozen=True)
class DataPlaneImagePipelineProps:
    """Props of :class:`DataPlaneImagePipeline`."""

    name_prefix: str
    environment: str
    region: str
    kms_key_arn: str
    """Encrypts the components and the build logs (the environment's key)."""
    subnet_id: str
    """One private subnet (with a NAT route) for the build and test instances."""
    vpc_id: str
    settings: ImagePipelineSettings
    instance: InstanceSettings
    rudder: RudderSettings
    bake_settings: Mapping[str, str]
    """``/etc/rudder-ha/instance.env`` at bake time: the user data's settings, so that units starting at
    boot before the user data rewrites them see the same values."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for the AMI, its snapshots and the build instances (provider default tags do not reach them)."""


class DataPlaneImagePipeline(Construct):
    """Builds the data-plane AMI weekly (and once at first apply) and publishes it to SSM Parameter Store.

    - Components from :mod:`rudder_ha.image_component` (the same ``ami/`` files the user data writes,
      then ``provision.sh bake``), encrypted with the environment's key.
    - Recipe: the newest Amazon Linux 2023 of the instance architecture (``ssm:`` public parameter,
      resolved at each build) with an encrypted gp3 root volume sized like the launch template's.
    - Infrastructure: a private subnet, a security group with HTTPS egress only, IMDSv2 required with a
      hop limit of 1 (nothing in a container needs the metadata service while baking), no key pair,
      instances terminated on failure, a role with only the two AWS managed policies the build needs.
    - Distribution: the AMI id goes to ``/rudder-ha/<env>/data-plane-ami`` (``aws:ec2:image``), which
      the launch template resolves at every launch.
    - A pipeline on ``settings.schedule`` with image tests, and :attr:`image`, the first build, which
      the autoscaling group must depend on so the parameter exists before the first launch.

    Components, recipe and image are versioned by content and replaced create-before-destroy, so a
    change to ``ami/`` or to an image tag builds a new AMI on apply.
    """

    def __init__(self, scope: Construct, id_: str, props: DataPlaneImagePipelineProps) -> None:
        super().__init__(scope, id_)
        name = spec.pipeline_name(props.name_prefix)
        partition = DataAwsPartition(self, "partition").partition
        replace_first = TerraformResourceLifecycle(create_before_destroy=True)
        tags = dict(props.tags)

        documents = component_documents(props.name_prefix, props.rudder, props.bake_settings)
        self.components = [
            ImagebuilderComponent(
                self,
                spec.component_id(doc),
                name=spec.component_name(props.name_prefix, doc),
                description=doc.description,
                platform=spec.PLATFORM,
                version=doc.version,
                data=terraform_literal(doc.data),
                kms_key_id=props.kms_key_arn,
                lifecycle=replace_first,
            )
            for doc in documents
        ]

        inst = props.instance
        self.recipe = ImagebuilderImageRecipe(
            self,
            "recipe",
            name=name,
            description=spec.RECIPE_DESCRIPTION,
            version=spec.recipe_version(inst, documents),
            parent_image=spec.parent_image(inst),
            component=[ImagebuilderImageRecipeComponent(component_arn=c.arn) for c in self.components],
            block_device_mapping=[
                ImagebuilderImageRecipeBlockDeviceMapping(
                    device_name=ROOT_DEVICE,
                    ebs=ImagebuilderImageRecipeBlockDeviceMappingEbs(**spec.recipe_volume(inst)),
                )
            ],
            lifecycle=replace_first,
        )

        self.role = IamRole(
            self,
            "role",
            name=spec.builder_name(props.name_prefix),
            description=spec.ROLE_DESCRIPTION,
            assume_role_policy=service_assume_role_policy(spec.BUILD_SERVICE),
        )
        for policy in MANAGED_POLICIES:
            IamRolePolicyAttachment(
                self,
                f"policy_{policy}",
                role=self.role.name,
                policy_arn=managed_policy_arn(partition, policy),
            )
        self.profile = IamInstanceProfile(
            self, "profile", name=spec.builder_name(props.name_prefix), role=self.role.name
        )

        self.security_group = SecurityGroup(
            self,
            "sg",
            name=spec.builder_name(props.name_prefix),
            description=spec.security_group_description(props.name_prefix),
            vpc_id=props.vpc_id,
            tags={"Name": spec.builder_name(props.name_prefix)},
        )
        VpcSecurityGroupEgressRule(
            self,
            "egress_https",
            security_group_id=self.security_group.id,
            **spec.EGRESS,
            description=spec.EGRESS_DESCRIPTION,
        )

        self.infrastructure = ImagebuilderInfrastructureConfiguration(
            self,
            "infrastructure",
            name=name,
            description=spec.INFRASTRUCTURE_DESCRIPTION,
            instance_profile_name=self.profile.name,
            instance_types=[props.settings.build_instance_type],
            subnet_id=props.subnet_id,
            security_group_ids=[self.security_group.id],
            instance_metadata_options=ImagebuilderInfrastructureConfigurationInstanceMetadataOptions(
                **spec.METADATA_OPTIONS
            ),
            terminate_instance_on_failure=True,
            resource_tags=spec.build_instance_tags(props.name_prefix, tags),
        )

        self.ami_parameter = spec.ami_parameter(props.environment)
        self.distribution = ImagebuilderDistributionConfiguration(
            self,
            "distribution",
            name=name,
            description=spec.distribution_description(props.environment),
            distribution=[
                ImagebuilderDistributionConfigurationDistribution(
                    region=props.region,
                    ami_distribution_configuration=(
                        ImagebuilderDistributionConfigurationDistributionAmiDistributionConfiguration(
                            name=spec.ami_name(name),
                            description=spec.ami_description(props.name_prefix, props.rudder),
                            kms_key_id=inst.ebs_kms_key_arn,
                            ami_tags=spec.ami_tags(name, props.rudder, tags),
                        )
                    ),
                    ssm_parameter_configuration=[
                        ImagebuilderDistributionConfigurationDistributionSsmParameterConfiguration(
                            parameter_name=self.ami_parameter, data_type=spec.AMI_DATA_TYPE
                        )
                    ],
                )
            ],
        )

        # Image Builder writes to these groups; created here so they are encrypted and expire.
        self.build_logs = CloudwatchLogGroup(
            self,
            "build_logs",
            name=spec.build_log_group(name),
            retention_in_days=BUILD_LOG_RETENTION_DAYS,
            kms_key_id=props.kms_key_arn,
        )
        self.pipeline_logs = CloudwatchLogGroup(
            self,
            "pipeline_logs",
            name=spec.pipeline_log_group(name),
            retention_in_days=BUILD_LOG_RETENTION_DAYS,
            kms_key_id=props.kms_key_arn,
        )

        self.pipeline = ImagebuilderImagePipeline(
            self,
            "pipeline",
            name=name,
            description=spec.pipeline_description(props.name_prefix),
            image_recipe_arn=self.recipe.arn,
            infrastructure_configuration_arn=self.infrastructure.arn,
            distribution_configuration_arn=self.distribution.arn,
            # Always build on schedule: the parent AMI is an SSM parameter and dnf updates are not
            # "dependency updates" Image Builder could detect.
            schedule=ImagebuilderImagePipelineSchedule(
                schedule_expression=props.settings.schedule,
                pipeline_execution_start_condition=spec.SCHEDULE_START_CONDITION,
            ),
            image_tests_configuration=ImagebuilderImagePipelineImageTestsConfiguration(
                image_tests_enabled=True, timeout_minutes=IMAGE_TESTS_TIMEOUT_MINUTES
            ),
            enhanced_image_metadata_enabled=True,
            status=spec.PIPELINE_STATUS,
            depends_on=[self.pipeline_logs, self.build_logs],
        )

        self.image = ImagebuilderImage(
            self,
            "image",
            image_recipe_arn=self.recipe.arn,
            infrastructure_configuration_arn=self.infrastructure.arn,
            distribution_configuration_arn=self.distribution.arn,
            image_tests_configuration=ImagebuilderImageImageTestsConfiguration(
                image_tests_enabled=True, timeout_minutes=IMAGE_TESTS_TIMEOUT_MINUTES
            ),
            enhanced_image_metadata_enabled=True,
            timeouts=ImagebuilderImageTimeouts(create=IMAGE_BUILD_TIMEOUT),
            depends_on=[self.build_logs],
            lifecycle=replace_first,
        )

    @property
    def arn(self) -> str:
        """The image pipeline's ARN."""
        return self.pipeline.arn

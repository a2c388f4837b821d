"""EC2 Image Builder: bakes ``ami/`` and the container images into the environment's data-plane AMI."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_instance_profile import IamInstanceProfile
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
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
from cdktf_cdktf_provider_aws.kms_grant import KmsGrant
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.instance.image_component import component_documents
from rudder_ha.parts.image_pipeline import spec
from rudder_ha.parts.image_pipeline.spec import (
    BUILD_LOG_RETENTION_DAYS,
    IMAGE_BUILD_TIMEOUT,
    IMAGE_TESTS_TIMEOUT_MINUTES,
    DataPlaneImagePipelineProps,
)
from rudder_ha.parts.single_node_group.spec import ROOT_DEVICE

__all__ = [
    "BUILD_LOG_RETENTION_DAYS",
    "IMAGE_BUILD_TIMEOUT",
    "IMAGE_TESTS_TIMEOUT_MINUTES",
    "DataPlaneImagePipeline",
    "DataPlaneImagePipelineProps",
]


class DataPlaneImagePipeline(Construct):
    """Builds the data-plane AMI weekly (and once at first apply) and publishes it to SSM Parameter Store.

    - Components from :mod:`rudder_ha.instance.image_component` (the same ``ami/`` files the user data writes,
      then ``provision.sh bake``), encrypted with the environment's key.
    - Recipe: the newest Amazon Linux 2023 of the instance architecture (``ssm:`` public parameter,
      resolved at each build) with a gp3 root volume sized like the launch template's, encrypted with the
      environment's key (or ``instance.ebs_kms_key_arn``).
    - Infrastructure: a private subnet, a security group with HTTPS egress only, IMDSv2 required with a
      hop limit of 1 (nothing in a container needs the metadata service while baking), no key pair,
      instances terminated on failure, a role with two inline policies and no AWS managed one: the SSM
      agent's (Session Manager, Run Command) and the build's (this environment's components and their key,
      Image Builder's agent, the build log group).
    - Distribution: the AMI, encrypted with the same key, its id to ``/rudder-ha/<env>/data-plane-ami``
      (``aws:ec2:image``), which the launch template resolves at every launch. With the environment's key,
      a KMS grant lets EC2 Auto Scaling's service-linked role launch from it (:attr:`launch_grant`).
    - A pipeline on ``settings.schedule`` with image tests, and :attr:`image`, the first build, which
      the autoscaling group must depend on so the parameter exists before the first launch.

    Components, recipe and image are versioned by content and replaced create-before-destroy, so a
    change to ``ami/`` or to an image tag builds a new AMI on apply.
    """

    def __init__(self, scope: Construct, id_: str, props: DataPlaneImagePipelineProps) -> None:
        super().__init__(scope, id_)
        name = spec.pipeline_name(props.name_prefix)
        partition = DataAwsPartition(self, "partition").partition
        account = DataAwsCallerIdentity(self, "account").account_id
        replace_first = TerraformResourceLifecycle(create_before_destroy=True)

        documents = component_documents(props.name_prefix, props.rudder, props.bake_settings)
        self.components = [
            ImagebuilderComponent(
                self,
                spec.component_id(doc),
                **spec.component_args(props.name_prefix, doc, props.kms_key_arn),
                data=doc.data,  # escaped with every other literal at synthesis (EnvironmentStack)
                lifecycle=replace_first,
            )
            for doc in documents
        ]

        inst = props.instance
        self.recipe = ImagebuilderImageRecipe(
            self,
            "recipe",
            **spec.recipe_args(props.name_prefix, inst, documents),
            component=[ImagebuilderImageRecipeComponent(component_arn=c.arn) for c in self.components],
            block_device_mapping=[
                ImagebuilderImageRecipeBlockDeviceMapping(
                    device_name=ROOT_DEVICE,
                    ebs=ImagebuilderImageRecipeBlockDeviceMappingEbs(**spec.recipe_volume(inst, props.kms_key_arn)),
                )
            ],
            lifecycle=replace_first,
        )

        # Image Builder writes to these groups; created here so they are encrypted and expire.
        self.build_logs = CloudwatchLogGroup(
            self, "build_logs", **spec.log_group_args(spec.build_log_group(name), props.kms_key_arn)
        )
        self.pipeline_logs = CloudwatchLogGroup(
            self, "pipeline_logs", **spec.log_group_args(spec.pipeline_log_group(name), props.kms_key_arn)
        )

        self.role = IamRole(self, "role", **spec.role_args(props.name_prefix))
        ssm_agent = spec.ssm_agent_args(partition, props.region, account)
        self.policies = [
            IamRolePolicy(
                self, "ssm_agent", role=self.role.id, name=ssm_agent["name"], policy=policy_json(ssm_agent["policy"])
            ),
            IamRolePolicy(
                self,
                "build_policy",
                role=self.role.id,
                name=spec.BUILD_POLICY_NAME,
                policy=policy_json(
                    spec.build_instance_policy(
                        partition=partition,
                        region=props.region,
                        account=account,
                        name_prefix=props.name_prefix,
                        kms_key_arn=props.kms_key_arn,
                        build_log_group_arn=self.build_logs.arn,
                    )
                ),
            ),
        ]
        self.launch_grant = (
            KmsGrant(
                self,
                "launch_grant",
                **spec.launch_grant_args(
                    props.name_prefix, props.kms_key_arn, spec.autoscaling_role_arn(partition, account)
                ),
            )
            if spec.uses_environment_key(inst)
            else None
        )
        self.profile = IamInstanceProfile(
            self, "profile", name=spec.builder_name(props.name_prefix), role=self.role.name
        )

        self.security_group = SecurityGroup(self, "sg", **spec.security_group_args(props.name_prefix, props.vpc_id))
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
            **spec.infrastructure_args(props, self.profile.name, self.security_group.id),
            instance_metadata_options=ImagebuilderInfrastructureConfigurationInstanceMetadataOptions(
                **spec.METADATA_OPTIONS
            ),
        )

        self.ami_parameter = spec.ami_parameter(props.environment)
        self.distribution = ImagebuilderDistributionConfiguration(
            self,
            "distribution",
            **spec.distribution_args(props.name_prefix, props.environment),
            distribution=[
                ImagebuilderDistributionConfigurationDistribution(
                    region=props.region,
                    ami_distribution_configuration=(
                        ImagebuilderDistributionConfigurationDistributionAmiDistributionConfiguration(
                            **spec.ami_distribution_args(props)
                        )
                    ),
                    ssm_parameter_configuration=[
                        ImagebuilderDistributionConfigurationDistributionSsmParameterConfiguration(
                            **spec.ssm_parameter_args(props.environment)
                        )
                    ],
                )
            ],
        )

        builds_from = spec.build_args(self.recipe.arn, self.infrastructure.arn, self.distribution.arn)
        self.pipeline = ImagebuilderImagePipeline(
            self,
            "pipeline",
            **spec.pipeline_args(props.name_prefix),
            **builds_from,
            # Always build on schedule: the parent AMI is an SSM parameter and dnf updates are not
            # "dependency updates" Image Builder could detect.
            schedule=ImagebuilderImagePipelineSchedule(**spec.schedule_args(props.settings)),
            image_tests_configuration=ImagebuilderImagePipelineImageTestsConfiguration(**spec.IMAGE_TESTS),
            depends_on=[self.pipeline_logs, self.build_logs],
        )

        self.image = ImagebuilderImage(
            self,
            "image",
            **builds_from,
            image_tests_configuration=ImagebuilderImageImageTestsConfiguration(**spec.IMAGE_TESTS),
            timeouts=ImagebuilderImageTimeouts(create=IMAGE_BUILD_TIMEOUT),
            # The build's instance needs its policies; what launches from the image (which waits for it)
            # needs the grant.
            depends_on=[self.build_logs, *self.policies, *([self.launch_grant] if self.launch_grant else [])],
            lifecycle=replace_first,
        )

    @property
    def arn(self) -> str:
        """The image pipeline's ARN."""
        return self.pipeline.arn

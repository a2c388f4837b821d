"""EC2 Image Builder: bakes ``ami/`` and the container images into the environment's data-plane AMI."""

from __future__ import annotations

import json
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

from rudder_ha.config.defaults import AMI_SSM_PARAMETER, BAKED_AMI_PARAMETER
from rudder_ha.config.model import ImagePipelineSettings, InstanceSettings, RudderSettings
from rudder_ha.constructs.naming import service_assume_role_policy
from rudder_ha.constructs.single_node_group import ROOT_DEVICE
from rudder_ha.image_component import component_documents, semantic_version

BUILD_LOG_RETENTION_DAYS = 365  # a year of build history; CIS AWS 3.x / checkov CKV_AWS_338
IMAGE_TESTS_TIMEOUT_MINUTES = 60
IMAGE_BUILD_TIMEOUT = "2h"
"""dnf, three image pulls, the AMI snapshot and a test instance; Terraform waits this long on first apply."""
MANAGED_POLICIES = ("EC2InstanceProfileForImageBuilder", "AmazonSSMManagedInstanceCore")
"""All the build instance needs: Image Builder's own agent and logs, and Session Manager (SSM) to run it."""


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
        name = f"{props.name_prefix}-data-plane"
        partition = DataAwsPartition(self, "partition").partition
        replace_first = TerraformResourceLifecycle(create_before_destroy=True)
        tags = dict(props.tags)

        documents = component_documents(props.name_prefix, props.rudder, props.bake_settings)
        self.components = [
            ImagebuilderComponent(
                self,
                f"component_{doc.key.replace('-', '_')}",
                name=f"{props.name_prefix}-{doc.key}",
                description=doc.description,
                platform="Linux",
                version=doc.version,
                data=terraform_literal(doc.data),
                kms_key_id=props.kms_key_arn,
                lifecycle=replace_first,
            )
            for doc in documents
        ]

        inst = props.instance
        parent_image = f"ssm:{AMI_SSM_PARAMETER[inst.architecture]}"
        volume = {
            "device_name": ROOT_DEVICE,
            "volume_type": "gp3",
            "volume_size": inst.root_volume_size_gib,
            "iops": inst.root_volume_iops,
            "throughput": inst.root_volume_throughput_mibps,
            "kms_key_id": inst.ebs_kms_key_arn,
        }
        self.recipe = ImagebuilderImageRecipe(
            self,
            "recipe",
            name=name,
            description="rudder-server, rudder-transformer and the jobsdb tooling on Amazon Linux 2023",
            version=semantic_version(parent_image, json.dumps(volume), *(doc.data for doc in documents)),
            parent_image=parent_image,
            component=[ImagebuilderImageRecipeComponent(component_arn=c.arn) for c in self.components],
            block_device_mapping=[
                ImagebuilderImageRecipeBlockDeviceMapping(
                    device_name=ROOT_DEVICE,
                    ebs=ImagebuilderImageRecipeBlockDeviceMappingEbs(
                        volume_type="gp3",
                        volume_size=inst.root_volume_size_gib,
                        iops=inst.root_volume_iops,
                        throughput=inst.root_volume_throughput_mibps,
                        encrypted="true",
                        kms_key_id=inst.ebs_kms_key_arn,
                        delete_on_termination="true",
                    ),
                )
            ],
            lifecycle=replace_first,
        )

        self.role = IamRole(
            self,
            "role",
            name=f"{props.name_prefix}-image-builder",
            description="rudder-ha image build and test instances",
            assume_role_policy=service_assume_role_policy("ec2.amazonaws.com"),
        )
        for policy in MANAGED_POLICIES:
            IamRolePolicyAttachment(
                self,
                f"policy_{policy}",
                role=self.role.name,
                policy_arn=f"arn:{partition}:iam::aws:policy/{policy}",
            )
        self.profile = IamInstanceProfile(
            self, "profile", name=f"{props.name_prefix}-image-builder", role=self.role.name
        )

        self.security_group = SecurityGroup(
            self,
            "sg",
            name=f"{props.name_prefix}-image-builder",
            description=f"{props.name_prefix} image build instances: no inbound traffic",
            vpc_id=props.vpc_id,
            tags={"Name": f"{props.name_prefix}-image-builder"},
        )
        VpcSecurityGroupEgressRule(
            self,
            "egress_https",
            security_group_id=self.security_group.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="dnf repositories, container registries, Image Builder and SSM endpoints",
        )

        self.infrastructure = ImagebuilderInfrastructureConfiguration(
            self,
            "infrastructure",
            name=name,
            description="private subnet, HTTPS egress only, IMDSv2, no key pair",
            instance_profile_name=self.profile.name,
            instance_types=[props.settings.build_instance_type],
            subnet_id=props.subnet_id,
            security_group_ids=[self.security_group.id],
            instance_metadata_options=ImagebuilderInfrastructureConfigurationInstanceMetadataOptions(
                http_tokens="required", http_put_response_hop_limit=1
            ),
            terminate_instance_on_failure=True,
            resource_tags={**tags, "Name": f"{props.name_prefix}-image-builder"},
        )

        self.ami_parameter = BAKED_AMI_PARAMETER.format(environment=props.environment)
        self.distribution = ImagebuilderDistributionConfiguration(
            self,
            "distribution",
            name=name,
            description=f"AMI id to {self.ami_parameter}",
            distribution=[
                ImagebuilderDistributionConfigurationDistribution(
                    region=props.region,
                    ami_distribution_configuration=(
                        ImagebuilderDistributionConfigurationDistributionAmiDistributionConfiguration(
                            name=f"{name}-{{{{ imagebuilder:buildDate }}}}",
                            description=f"{props.name_prefix} data plane ({props.rudder.backend_image})",
                            kms_key_id=inst.ebs_kms_key_arn,
                            ami_tags={
                                **tags,
                                "Name": name,
                                "rudder-ha:backend-image": props.rudder.backend_image,
                                "rudder-ha:transformer-image": props.rudder.transformer_image,
                            },
                        )
                    ),
                    ssm_parameter_configuration=[
                        ImagebuilderDistributionConfigurationDistributionSsmParameterConfiguration(
                            parameter_name=self.ami_parameter, data_type="aws:ec2:image"
                        )
                    ],
                )
            ],
        )

        # Image Builder writes to these groups; created here so they are encrypted and expire.
        self.build_logs = CloudwatchLogGroup(
            self,
            "build_logs",
            name=f"/aws/imagebuilder/{name}",
            retention_in_days=BUILD_LOG_RETENTION_DAYS,
            kms_key_id=props.kms_key_arn,
        )
        self.pipeline_logs = CloudwatchLogGroup(
            self,
            "pipeline_logs",
            name=f"/aws/imagebuilder/pipeline/{name}",
            retention_in_days=BUILD_LOG_RETENTION_DAYS,
            kms_key_id=props.kms_key_arn,
        )

        self.pipeline = ImagebuilderImagePipeline(
            self,
            "pipeline",
            name=name,
            description=f"{props.name_prefix} data-plane AMI, rebuilt on schedule with the newest Amazon Linux",
            image_recipe_arn=self.recipe.arn,
            infrastructure_configuration_arn=self.infrastructure.arn,
            distribution_configuration_arn=self.distribution.arn,
            # Always build on schedule: the parent AMI is an SSM parameter and dnf updates are not
            # "dependency updates" Image Builder could detect.
            schedule=ImagebuilderImagePipelineSchedule(
                schedule_expression=props.settings.schedule,
                pipeline_execution_start_condition="EXPRESSION_MATCH_ONLY",
            ),
            image_tests_configuration=ImagebuilderImagePipelineImageTestsConfiguration(
                image_tests_enabled=True, timeout_minutes=IMAGE_TESTS_TIMEOUT_MINUTES
            ),
            enhanced_image_metadata_enabled=True,
            status="ENABLED",
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

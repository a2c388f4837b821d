"""Names and settings of the EC2 Image Builder pipeline that bakes the data-plane AMI, shared by the cdktf
construct (:mod:`rudder_ha.parts.image_pipeline.cdktf`) and the Pulumi component
(:mod:`rudder_ha.parts.image_pipeline.pulumi`). The documents themselves come from
:mod:`rudder_ha.instance.image_component`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rudder_ha.common.policies import (
    SSM_AGENT_POLICY_NAME,
    allow_statement,
    service_assume_role_policy,
    ssm_agent_policy,
)
from rudder_ha.common.refs import Ref
from rudder_ha.config.defaults import AMI_SSM_PARAMETER, BAKED_AMI_PARAMETER
from rudder_ha.config.model import ImagePipelineSettings, InstanceSettings, RudderSettings
from rudder_ha.instance.image_component import ComponentDocument, semantic_version
from rudder_ha.parts import Part
from rudder_ha.parts.single_node_group.spec import ROOT_DEVICE, root_volume

PART = Part("image_pipeline", "DataPlaneImagePipeline")
"""Renderers: :class:`rudder_ha.parts.image_pipeline.cdktf.DataPlaneImagePipeline` and its Pulumi twin."""

BUILD_LOG_RETENTION_DAYS = 365  # a year of build history; CIS AWS 3.x / checkov CKV_AWS_338
IMAGE_TESTS_TIMEOUT_MINUTES = 60
IMAGE_BUILD_TIMEOUT = "2h"
"""dnf, three image pulls, the AMI snapshot and a test instance; Terraform waits this long on first apply."""
SSM_AGENT_POLICY = SSM_AGENT_POLICY_NAME
"""The build instances' inline policy for Session Manager and Run Command, which Image Builder drives the build
through (:func:`rudder_ha.common.policies.ssm_agent_policy`), in place of ``AmazonSSMManagedInstanceCore``."""
BUILD_POLICY_NAME = "image-build"
"""The build instances' inline policy for Image Builder's own needs (:func:`build_instance_policy`), in place
of ``EC2InstanceProfileForImageBuilder``."""
IMAGE_BUILDER_AGENT_BUCKETS = "ec2imagebuilder*"
"""The AWS-owned buckets the build instance downloads Image Builder's agent (AWSTOE) from."""
LAUNCH_GRANT_OPERATIONS = [
    "Encrypt",
    "Decrypt",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "DescribeKey",
    "CreateGrant",
]
"""What EC2 Auto Scaling's service-linked role needs of the key encrypting the AMI's snapshot, to launch and
start instances from it (what the EC2 Auto Scaling guide lists for a grant on a customer managed key)."""
AUTOSCALING_SERVICE_LINKED_ROLE = "aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"

PLATFORM = "Linux"
RECIPE_DESCRIPTION = "rudder-server, rudder-transformer and the jobsdb tooling on Amazon Linux 2023"
ROLE_DESCRIPTION = "rudder-ha image build and test instances"
BUILD_SERVICE = "ec2.amazonaws.com"
"""The service that assumes the build instances' role."""
INFRASTRUCTURE_DESCRIPTION = "private subnet, HTTPS egress only, IMDSv2, no key pair"
EGRESS_DESCRIPTION = "dnf repositories, container registries, Image Builder and SSM endpoints"
EGRESS: dict[str, Any] = {"cidr_ipv4": "0.0.0.0/0", "ip_protocol": "tcp", "from_port": 443, "to_port": 443}
METADATA_OPTIONS: dict[str, Any] = {"http_tokens": "required", "http_put_response_hop_limit": 1}
"""IMDSv2 with a hop limit of 1: nothing in a container needs the metadata service while baking."""
AMI_DATA_TYPE = "aws:ec2:image"
SCHEDULE_START_CONDITION = "EXPRESSION_MATCH_ONLY"
"""Always build on schedule: the parent AMI is an SSM parameter and dnf updates are not "dependency
updates" Image Builder could detect."""
PIPELINE_STATUS = "ENABLED"
IMAGE_TESTS: dict[str, Any] = {"image_tests_enabled": True, "timeout_minutes": IMAGE_TESTS_TIMEOUT_MINUTES}
"""The image tests configuration of the pipeline and of the first image."""


@dataclass(frozen=True)
class DataPlaneImagePipelineProps:
    """Props of ``DataPlaneImagePipeline`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    environment: str
    region: str
    kms_key_arn: Ref
    """The environment's key: encrypts the components, the build logs, and (unless ``instance.ebs_kms_key_arn``
    names another key) the build volumes and the AMI's snapshot."""
    subnet_id: Ref
    """One private subnet (with a NAT route) for the build and test instances."""
    vpc_id: Ref
    settings: ImagePipelineSettings
    instance: InstanceSettings
    rudder: RudderSettings
    bake_settings: Mapping[str, str]
    """``/etc/rudder-ha/instance.env`` at bake time (:func:`rudder_ha.instance.image_component.bake_settings`): the user
    data's settings, so that units starting at boot before the user data rewrites them see the same values."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags for the AMI, its snapshots and the build instances (provider default tags do not reach them)."""


def pipeline_name(name_prefix: str) -> str:
    """Name of the recipe, infrastructure, distribution and pipeline."""
    return f"{name_prefix}-data-plane"


def builder_name(name_prefix: str) -> str:
    """Name of the build instances' role, profile and security group."""
    return f"{name_prefix}-image-builder"


def component_name(name_prefix: str, document: ComponentDocument) -> str:
    """A component's name."""
    return f"{name_prefix}-{document.key}"


def component_id(document: ComponentDocument) -> str:
    """The component's construct id (cdktf) and logical-name suffix (Pulumi)."""
    return f"component_{document.key.replace('-', '_')}"


def parent_image(inst: InstanceSettings) -> str:
    """The newest Amazon Linux 2023 of the instance architecture, resolved at each build."""
    return f"ssm:{AMI_SSM_PARAMETER[inst.architecture]}"


def recipe_version(inst: InstanceSettings, documents: Sequence[ComponentDocument]) -> str:
    """The recipe's version, derived from everything it bakes, so any change makes a new recipe."""
    volume = {
        "device_name": ROOT_DEVICE,
        "volume_type": "gp3",
        "volume_size": inst.root_volume_size_gib,
        "iops": inst.root_volume_iops,
        "throughput": inst.root_volume_throughput_mibps,
        "kms_key_id": inst.ebs_kms_key_arn or ENVIRONMENT_KEY,
    }
    return semantic_version(parent_image(inst), json.dumps(volume), *(doc.data for doc in documents))


ENVIRONMENT_KEY = "environment-key"
"""Stands for the environment's key in :func:`recipe_version` (its ARN is not known at synthesis)."""


def ami_key(inst: InstanceSettings, kms_key_arn: Ref) -> Ref:
    """The customer managed key that encrypts the build volumes and the AMI's snapshot: the configured EBS key,
    else the environment's own."""
    return inst.ebs_kms_key_arn or kms_key_arn


def uses_environment_key(inst: InstanceSettings) -> bool:
    """Whether the AMI is encrypted with the environment's key (then this part grants EC2 Auto Scaling its use)."""
    return not inst.ebs_kms_key_arn


def recipe_volume(inst: InstanceSettings, kms_key_arn: Ref) -> dict[str, Any]:
    """The recipe's encrypted gp3 root volume, sized like the launch template's, encrypted with :func:`ami_key`."""
    return {**root_volume(inst), "kms_key_id": ami_key(inst, kms_key_arn)}


def security_group_description(name_prefix: str) -> str:
    """The build instances' security group description."""
    return f"{name_prefix} image build instances: no inbound traffic"


def ami_parameter(environment: str) -> str:
    """The SSM parameter the AMI id is distributed to (and the launch template resolves)."""
    return BAKED_AMI_PARAMETER.format(environment=environment)


def distribution_description(environment: str) -> str:
    """The distribution configuration's description."""
    return f"AMI id to {ami_parameter(environment)}"


def ami_name(name: str) -> str:
    """The AMI name, unique per build date."""
    return f"{name}-{{{{ imagebuilder:buildDate }}}}"


def ami_description(name_prefix: str, rudder: RudderSettings) -> str:
    """The AMI's description."""
    return f"{name_prefix} data plane ({rudder.backend_image})"


def ami_tags(name: str, rudder: RudderSettings, tags: Mapping[str, str]) -> dict[str, str]:
    """Tags of the AMI and its snapshots."""
    return {
        **tags,
        "Name": name,
        "rudder-ha:backend-image": rudder.backend_image,
        "rudder-ha:transformer-image": rudder.transformer_image,
    }


def build_instance_tags(name_prefix: str, tags: Mapping[str, str]) -> dict[str, str]:
    """Tags of the build and test instances."""
    return {**tags, "Name": builder_name(name_prefix)}


def build_log_group(name: str) -> str:
    """The log group Image Builder writes build logs to."""
    return f"/aws/imagebuilder/{name}"


def pipeline_log_group(name: str) -> str:
    """The log group Image Builder writes pipeline logs to."""
    return f"/aws/imagebuilder/pipeline/{name}"


def pipeline_description(name_prefix: str) -> str:
    """The pipeline's description."""
    return f"{name_prefix} data-plane AMI, rebuilt on schedule with the newest Amazon Linux"


def component_args(name_prefix: str, document: ComponentDocument, kms_key_arn: Ref) -> dict[str, Any]:
    """A component's settings apart from its ``data`` (cdktf escapes it for Terraform, Pulumi passes it verbatim)."""
    return {
        "name": component_name(name_prefix, document),
        "description": document.description,
        "platform": PLATFORM,
        "version": document.version,
        "kms_key_id": kms_key_arn,
    }


def recipe_args(name_prefix: str, inst: InstanceSettings, documents: Sequence[ComponentDocument]) -> dict[str, Any]:
    """The recipe's settings apart from its components and root volume."""
    return {
        "name": pipeline_name(name_prefix),
        "description": RECIPE_DESCRIPTION,
        "version": recipe_version(inst, documents),
        "parent_image": parent_image(inst),
    }


def role_args(name_prefix: str) -> dict[str, Any]:
    """The build instances' role, which EC2 assumes."""
    return {
        "name": builder_name(name_prefix),
        "description": ROLE_DESCRIPTION,
        "assume_role_policy": service_assume_role_policy(BUILD_SERVICE),
    }


def security_group_args(name_prefix: str, vpc_id: Ref) -> dict[str, Any]:
    """The build instances' security group: no inbound rule, HTTPS egress (:data:`EGRESS`) only."""
    return {
        "name": builder_name(name_prefix),
        "description": security_group_description(name_prefix),
        "vpc_id": vpc_id,
        "tags": {"Name": builder_name(name_prefix)},
    }


def infrastructure_args(
    props: DataPlaneImagePipelineProps, instance_profile_name: Ref, security_group_id: Ref
) -> dict[str, Any]:
    """The infrastructure configuration apart from its metadata options (:data:`METADATA_OPTIONS`)."""
    return {
        "name": pipeline_name(props.name_prefix),
        "description": INFRASTRUCTURE_DESCRIPTION,
        "instance_profile_name": instance_profile_name,
        "instance_types": [props.settings.build_instance_type],
        "subnet_id": props.subnet_id,
        "security_group_ids": [security_group_id],
        "terminate_instance_on_failure": True,
        "resource_tags": build_instance_tags(props.name_prefix, props.tags),
    }


def ami_distribution_args(props: DataPlaneImagePipelineProps) -> dict[str, Any]:
    """The distributed AMI: its name, description, encryption key (:func:`ami_key`) and tags."""
    name = pipeline_name(props.name_prefix)
    return {
        "name": ami_name(name),
        "description": ami_description(props.name_prefix, props.rudder),
        "kms_key_id": ami_key(props.instance, props.kms_key_arn),
        "ami_tags": ami_tags(name, props.rudder, props.tags),
    }


def ssm_parameter_args(environment: str) -> dict[str, Any]:
    """Where the distribution writes the AMI id."""
    return {"parameter_name": ami_parameter(environment), "data_type": AMI_DATA_TYPE}


def log_group_args(log_group_name: str, kms_key_arn: Ref) -> dict[str, Any]:
    """A log group Image Builder writes to, created here so it is encrypted and expires."""
    return {"name": log_group_name, "retention_in_days": BUILD_LOG_RETENTION_DAYS, "kms_key_id": kms_key_arn}


def schedule_args(settings: ImagePipelineSettings) -> dict[str, Any]:
    """The pipeline's schedule: always build on it (see :data:`SCHEDULE_START_CONDITION`)."""
    return {"schedule_expression": settings.schedule, "pipeline_execution_start_condition": SCHEDULE_START_CONDITION}


def build_args(recipe_arn: Ref, infrastructure_arn: Ref, distribution_arn: Ref) -> dict[str, Any]:
    """What the pipeline and the first image both build from, with enhanced image metadata."""
    return {
        "image_recipe_arn": recipe_arn,
        "infrastructure_configuration_arn": infrastructure_arn,
        "distribution_configuration_arn": distribution_arn,
        "enhanced_image_metadata_enabled": True,
    }


def distribution_args(name_prefix: str, environment: str) -> dict[str, Any]:
    """The distribution configuration's name and description (its one distribution: :func:`ami_distribution_args`
    and :func:`ssm_parameter_args`, in the region of the environment)."""
    return {"name": pipeline_name(name_prefix), "description": distribution_description(environment)}


def pipeline_args(name_prefix: str) -> dict[str, Any]:
    """The pipeline's name, description and status (what it builds: :func:`build_args`)."""
    return {
        "name": pipeline_name(name_prefix),
        "description": pipeline_description(name_prefix),
        "status": PIPELINE_STATUS,
    }


def component_arns(partition: str, region: str, account: str, name_prefix: str) -> str:
    """Every version and build of this environment's components (all named ``<prefix>-<key>``)."""
    return f"arn:{partition}:imagebuilder:{region}:{account}:component/{name_prefix}-*"


def build_instance_policy(
    *, partition: str, region: str, account: str, name_prefix: str, kms_key_arn: str, build_log_group_arn: str
) -> dict[str, Any]:
    """What a build or test instance needs of Image Builder, in place of the AWS managed
    ``EC2InstanceProfileForImageBuilder`` (which reads any component, any ``/aws/imagebuilder/*`` log group, and
    objects of any bucket): this environment's components, their key only as Image Builder uses it, the agent
    from Image Builder's own buckets, and the build log group. Session Manager and Run Command are
    :func:`rudder_ha.common.policies.ssm_agent_policy`."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            allow_statement(
                "ReadOwnComponents",
                ["imagebuilder:GetComponent"],
                component_arns(partition, region, account, name_prefix),
            ),
            allow_statement(
                "DecryptOwnComponents",
                ["kms:Decrypt"],
                kms_key_arn,
                {
                    "ForAnyValue:StringEquals": {
                        "aws:CalledVia": ["imagebuilder.amazonaws.com"],
                        "kms:EncryptionContextKeys": "aws:imagebuilder:arn",
                    }
                },
            ),
            allow_statement(
                "FetchImageBuilderAgent",
                ["s3:GetObject"],
                f"arn:{partition}:s3:::{IMAGE_BUILDER_AGENT_BUCKETS}",
            ),
            allow_statement(
                "WriteBuildLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], f"{build_log_group_arn}:*"
            ),
        ],
    }


def ssm_agent_args(partition: str, region: str, account: str) -> dict[str, Any]:
    """The build instances' SSM agent policy: its name and document."""
    return {"name": SSM_AGENT_POLICY, "policy": ssm_agent_policy(partition, region, account)}


def autoscaling_role_arn(partition: str, account: str) -> str:
    """EC2 Auto Scaling's service-linked role, which launches (and starts) the data-plane instances."""
    return f"arn:{partition}:iam::{account}:role/{AUTOSCALING_SERVICE_LINKED_ROLE}"


def launch_grant_args(name_prefix: str, kms_key_arn: Ref, autoscaling_role: Ref) -> dict[str, Any]:
    """The grant letting EC2 Auto Scaling (``autoscaling_role``: :func:`autoscaling_role_arn`) launch instances
    from an AMI encrypted with the environment's key.

    A grant, not a key-policy statement: a key policy naming a principal that does not exist yet is refused, and
    the key is created first; the grant comes with the pipeline. EC2 Image Builder's own service-linked role
    needs neither: its AWS managed policy allows the key's use through EC2 only (``kms:ViaService``
    ``ec2.*``, ``aws:ebs:id`` contexts, grants for AWS resources), and the key policy delegates to IAM
    (:data:`rudder_ha.parts.encryption_key.spec.ACCOUNT_ACTIONS`)."""
    return {
        "name": f"{name_prefix}-autoscaling-launch",
        "key_id": kms_key_arn,
        "grantee_principal": autoscaling_role,
        "operations": list(LAUNCH_GRANT_OPERATIONS),
    }

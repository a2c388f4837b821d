"""Names and settings of the EC2 Image Builder pipeline that bakes the data-plane AMI, shared by the cdktf
construct (:mod:`rudder_ha.parts.image_pipeline.cdktf`) and the Pulumi component
(:mod:`rudder_ha.parts.image_pipeline.pulumi`). The documents themselves come from
:mod:`rudder_ha.instance.image_component`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rudder_ha.common.policies import service_assume_role_policy
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
MANAGED_POLICIES = ("EC2InstanceProfileForImageBuilder", "AmazonSSMManagedInstanceCore")
"""All the build instance needs: Image Builder's own agent and logs, and Session Manager (SSM) to run it."""

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
    """Encrypts the components and the build logs (the environment's key)."""
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
        "kms_key_id": inst.ebs_kms_key_arn,
    }
    return semantic_version(parent_image(inst), json.dumps(volume), *(doc.data for doc in documents))


def recipe_volume(inst: InstanceSettings) -> dict[str, Any]:
    """The recipe's encrypted gp3 root volume, sized like the launch template's."""
    return root_volume(inst)


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
    """The distributed AMI: its name, description, encryption key and tags."""
    name = pipeline_name(props.name_prefix)
    return {
        "name": ami_name(name),
        "description": ami_description(props.name_prefix, props.rudder),
        "kms_key_id": props.instance.ebs_kms_key_arn,
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

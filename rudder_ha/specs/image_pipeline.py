"""Names and settings of the EC2 Image Builder pipeline that bakes the data-plane AMI, shared by the cdktf
construct (:mod:`rudder_ha.constructs.image_pipeline`) and the Pulumi component
(:mod:`rudder_ha.pulumi_components.image_pipeline`). The documents themselves come from
:mod:`rudder_ha.image_component`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from rudder_ha.config.defaults import AMI_SSM_PARAMETER, BAKED_AMI_PARAMETER
from rudder_ha.config.model import InstanceSettings, RudderSettings
from rudder_ha.image_component import ComponentDocument, semantic_version
from rudder_ha.specs.single_node_group import ROOT_DEVICE, root_volume

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

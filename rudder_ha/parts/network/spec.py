"""The environment network's layout, names, tags, flow-log settings and the checks of an existing VPC,
shared by :mod:`rudder_ha.parts.network.cdktf` (cdktf) and :mod:`rudder_ha.parts.network.pulumi`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rudder_ha.common.policies import service_assume_role_policy
from rudder_ha.common.refs import Ref
from rudder_ha.config.errors import ConfigError, Problem
from rudder_ha.config.model import EnvironmentConfig, NetworkSettings
from rudder_ha.config.schema_messages import schema
from rudder_ha.parts import Part

PART = Part("network", "Network")
"""Renderers: :class:`rudder_ha.parts.network.cdktf.Network` and its Pulumi twin."""

DEFAULT_ROUTE = "0.0.0.0/0"
FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"
FLOW_LOG_SETTINGS: dict[str, Any] = {
    "traffic_type": "ALL",
    "log_destination_type": "cloud-watch-logs",
    "max_aggregation_interval": 60,
}
"""Keyword arguments of the VPC flow log (the same names in cdktf and Pulumi), besides its destination."""
FLOW_LOGS_POLICY_NAME = "write-flow-logs"
MIN_ZONES = 2
"""The data plane's private subnets must span at least this many availability zones."""


@dataclass(frozen=True)
class NetworkProps:
    """Props of the ``Network`` construct (cdktf) and component (Pulumi)."""

    name_prefix: str
    settings: NetworkSettings
    log_key_arn: Ref
    """KMS key for the flow-log log group."""
    public_subnet_tags: dict[str, str] = field(default_factory=dict)
    private_subnet_tags: dict[str, str] = field(default_factory=dict)
    """Extra subnet tags, e.g. the ``kubernetes.io/role/elb`` tags the AWS Load Balancer Controller reads."""


@dataclass(frozen=True)
class SubnetSpec:
    """One subnet of a new VPC."""

    id: str
    """The cdktf construct id (``public_0``, ``private_1``); Pulumi names the subnet ``<network>-<id>``."""
    tier: Literal["public", "private"]
    index: int
    zone: str
    cidr_block: str
    tags: dict[str, str]

    @property
    def settings(self) -> dict[str, Any]:
        """Keyword arguments of the subnet (the same names in cdktf and Pulumi), besides its VPC."""
        return {
            "availability_zone": self.zone,
            "cidr_block": self.cidr_block,
            "map_public_ip_on_launch": False,
            "tags": self.tags,
        }


@dataclass(frozen=True)
class NatSpec:
    """One NAT gateway (and its Elastic IP) of a new VPC, in the public subnet of ``zone``."""

    index: int
    zone: str
    tags: dict[str, str]


def vpc_tags(name_prefix: str) -> dict[str, str]:
    """Tags of the VPC (and of its internet gateway)."""
    return {"Name": name_prefix}


def vpc_settings(name_prefix: str, settings: NetworkSettings) -> dict[str, Any]:
    """Keyword arguments of a new VPC (the same names in cdktf and Pulumi)."""
    return {
        "cidr_block": settings.vpc_cidr,
        "enable_dns_hostnames": True,
        "enable_dns_support": True,
        "tags": vpc_tags(name_prefix),
    }


def default_sg_tags(name_prefix: str) -> dict[str, str]:
    """Tags of the VPC's default security group, whose rules are all removed."""
    return {"Name": f"{name_prefix}-default-deny"}


def public_route_table_tags(name_prefix: str) -> dict[str, str]:
    """Tags of the route table shared by the public subnets."""
    return {"Name": f"{name_prefix}-public"}


def private_route_table_tags(name_prefix: str, zone: str) -> dict[str, str]:
    """Tags of a private subnet's own route table."""
    return {"Name": f"{name_prefix}-private-{zone}"}


def subnets(
    name_prefix: str,
    settings: NetworkSettings,
    public_subnet_tags: Mapping[str, str],
    private_subnet_tags: Mapping[str, str],
) -> list[tuple[SubnetSpec, SubnetSpec]]:
    """The (public, private) subnet pair of each configured availability zone, in order."""
    pairs = []
    for i, zone in enumerate(settings.availability_zones):
        public = SubnetSpec(
            id=f"public_{i}",
            tier="public",
            index=i,
            zone=zone,
            cidr_block=settings.public_subnet_cidrs[i],
            tags={"Name": f"{name_prefix}-public-{zone}", "Tier": "public", **public_subnet_tags},
        )
        private = SubnetSpec(
            id=f"private_{i}",
            tier="private",
            index=i,
            zone=zone,
            cidr_block=settings.private_subnet_cidrs[i],
            tags={"Name": f"{name_prefix}-private-{zone}", "Tier": "private", **private_subnet_tags},
        )
        pairs.append((public, private))
    return pairs


def nat_gateways(name_prefix: str, settings: NetworkSettings) -> list[NatSpec]:
    """One NAT gateway per AZ, or a single one in the first AZ."""
    count = len(settings.availability_zones) if settings.nat_gateways == "one_per_az" else 1
    return [
        NatSpec(index=i, zone=zone, tags={"Name": f"{name_prefix}-nat-{zone}"})
        for i, zone in enumerate(settings.availability_zones[:count])
    ]


def nat_for_private_subnet(index: int, nat_count: int) -> int:
    """Which NAT gateway the private subnet ``index`` routes through."""
    return index % nat_count


def flow_logs_group_name(name_prefix: str) -> str:
    """The flow logs' log group."""
    return f"/aws/vpc-flow-logs/{name_prefix}"


def flow_logs_role_name(name_prefix: str) -> str:
    """The role VPC Flow Logs assumes to write to the log group."""
    return f"{name_prefix}-vpc-flow-logs"


def flow_logs_group_settings(props: NetworkProps) -> dict[str, Any]:
    """Keyword arguments of the flow logs' log group (the same names in cdktf and Pulumi)."""
    return {
        "name": flow_logs_group_name(props.name_prefix),
        "retention_in_days": props.settings.flow_logs_retention_days,
        "kms_key_id": props.log_key_arn,
    }


def flow_logs_role_settings(name_prefix: str) -> dict[str, Any]:
    """Keyword arguments of the role VPC Flow Logs assumes (the same names in cdktf and Pulumi)."""
    return {
        "name": flow_logs_role_name(name_prefix),
        "assume_role_policy": service_assume_role_policy(FLOW_LOGS_SERVICE),
    }


def flow_logs_policy(group_arn: str) -> dict[str, Any]:
    """Lets the flow-logs role write to its log group only."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                "Resource": [group_arn, f"{group_arn}:*"],
            }
        ],
    }


def subnet_outside_vpc_message(index: int, vpc_id: str) -> str:
    """The error when ``network.private_subnet_ids[index]`` is not in ``network.vpc_id``."""
    return f"network.private_subnet_ids[{index}] is not in {vpc_id}."


ZONES_MESSAGE = "network.private_subnet_ids must span at least two availability zones."
"""The error when the existing private subnets do not span :data:`MIN_ZONES` availability zones."""


def adopted_subnet_problems(vpc_id: str, private_subnets: Sequence[tuple[str, str, str]]) -> list[str]:
    """What is wrong with an existing VPC's private subnets, each with its fix; empty when all is well.

    ``private_subnets`` holds, in ``network.private_subnet_ids`` order, each subnet's
    ``(subnet id, the VPC it is in, its availability zone)`` as AWS reports them.
    """
    problems = [
        f"{subnet_outside_vpc_message(i, vpc_id)} {subnet_id} is in {actual_vpc}: list subnets of {vpc_id} in "
        f"network.private_subnet_ids, or set network.vpc_id to {actual_vpc}."
        for i, (subnet_id, actual_vpc, _zone) in enumerate(private_subnets)
        if actual_vpc != vpc_id
    ]
    zones = sorted({zone for _id, _vpc, zone in private_subnets})
    if len(zones) < MIN_ZONES:
        problems.append(
            f"{ZONES_MESSAGE} They are all in {', '.join(zones) or 'no zone'}: add a private subnet of {vpc_id} "
            f"in another availability zone to network.private_subnet_ids."
        )
    return problems


_NETWORK_SCHEMA = schema()["properties"]["network"]["properties"]
VPC_ID = re.compile(_NETWORK_SCHEMA["vpc_id"]["pattern"])
"""A VPC id, as the environment schema's ``network.vpc_id`` accepts it."""
SUBNET_ID = re.compile(schema()["$defs"]["subnetIds"]["items"]["pattern"])
"""A subnet id, as the environment schema's ``network.*_subnet_ids`` accept it."""
MIN_PUBLIC_SUBNETS = 2
"""An application load balancer needs subnets in at least two availability zones."""


def is_reference(value: object) -> bool:
    """True for a value only known at deployment: a cdktf token (a string carrying ``${``) or a Pulumi
    Output (not a string at all). Such a value is passed through as it is and checked by Terraform or AWS."""
    return not isinstance(value, str) or "${" in value


@dataclass(frozen=True)
class ExistingNetwork:
    """A VPC and subnets the data plane is placed in but does not own: literal ids, or references to
    another stack's resources (cdktf tokens such as ``vpc.id``, Pulumi Outputs)."""

    vpc_id: Ref
    public_subnet_ids: tuple[Ref, ...]
    """Subnets for the load balancer, in two or more availability zones."""
    private_subnet_ids: tuple[Ref, ...]
    """Subnets for the data plane (and the jobsdb), in two or more availability zones, with a route out."""
    availability_zones: tuple[str, ...] = ()
    """The zone of each private subnet, in order, when known (optional: Terraform checks them at plan)."""


def existing_network_problems(existing: ExistingNetwork) -> list[tuple[str, str]]:
    """``(field, message with its fix)`` for what is wrong with ``existing``; empty when all is well.
    Literal ids are checked for their shape; references are left to Terraform's plan-time checks."""
    problems: list[tuple[str, str]] = []
    if not is_reference(existing.vpc_id) and not VPC_ID.match(existing.vpc_id):
        problems.append(
            ("network.vpc_id", f"{existing.vpc_id!r} is not a VPC id; use one such as vpc-0123456789abcdef0")
        )
    for name, ids, least in (
        ("public_subnet_ids", existing.public_subnet_ids, MIN_PUBLIC_SUBNETS),
        ("private_subnet_ids", existing.private_subnet_ids, MIN_ZONES),
    ):
        if len(ids) < least:
            problems.append(
                (f"network.{name}", f"has {len(ids)} subnet(s); give at least {least}, in different availability zones")
            )
        literal = [i for i in ids if not is_reference(i)]
        for i, subnet_id in enumerate(ids):
            if not is_reference(subnet_id) and not SUBNET_ID.match(subnet_id):
                problems.append(
                    (
                        f"network.{name}[{i}]",
                        f"{subnet_id!r} is not a subnet id; use one such as subnet-0123456789abcdef0",
                    )
                )
        if len(set(literal)) != len(literal):
            problems.append((f"network.{name}", "lists a subnet twice; list each subnet once"))
    zones = existing.availability_zones
    if zones and len(zones) != len(existing.private_subnet_ids):
        problems.append(
            (
                "network.availability_zones",
                f"lists {len(zones)} zones for {len(existing.private_subnet_ids)} private subnets; list the zone of "
                "each private subnet, in the same order, or none",
            )
        )
    return problems


def with_existing_network(config: EnvironmentConfig, existing: ExistingNetwork) -> EnvironmentConfig:
    """``config`` placed in a VPC it does not own, for a cdktf (or Pulumi) app that builds the VPC in a stack
    of its own and passes its ids (references included) here. Raises :class:`ConfigError` naming each field
    and its fix; the new-VPC settings (CIDRs, NAT gateways) no longer apply and are dropped."""
    problems = existing_network_problems(existing)
    if problems:
        raise ConfigError([Problem(str(config.source), path, message) for path, message in problems])
    settings = dataclasses.replace(
        config.network,
        availability_zones=tuple(existing.availability_zones),
        vpc_cidr=None,
        public_subnet_cidrs=(),
        private_subnet_cidrs=(),
        nat_gateways="single",
        vpc_id=existing.vpc_id,
        public_subnet_ids=tuple(existing.public_subnet_ids),
        private_subnet_ids=tuple(existing.private_subnet_ids),
    )
    return dataclasses.replace(config, network=settings)


def same_vpc_condition(vpc_id: str) -> str:
    """The Terraform condition "this subnet is in ``vpc_id``" (on a ``data.aws_subnet``): a literal id is
    compared as a string, a reference (a cdktf token, resolved at synthesis) as the expression it stands for."""
    other = vpc_id if is_reference(vpc_id) else f'"{vpc_id}"'
    return f"${{self.vpc_id == {other}}}"

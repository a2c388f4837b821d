"""Service quotas the stacks need room in: VPCs, NAT gateways per AZ, Elastic IPs, on-demand vCPUs.

A quota is read from Service Quotas (the account's applied value); when Service Quotas has no applied
value the AWS default is asked for, and when that is not answered either, the default the AWS
documentation states is used and the line says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.doctor.results import Check, ClientFactory, fail, ok, skip

STANDARD_FAMILIES = frozenset("acdhimrtz")
"""Instance families counted by the "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances" quota."""


@dataclass(frozen=True)
class Quota:
    """A quota's codes, and the default the AWS documentation states (None: none is published)."""

    service: str
    code: str
    title: str
    documented_default: float | None


VPCS = Quota("vpc", "L-F678F1CE", "VPCs per Region", 5)
NAT_PER_AZ = Quota("vpc", "L-FE5A380F", "NAT gateways per Availability Zone", 5)
ELASTIC_IPS = Quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5)
STANDARD_VCPUS = Quota("ec2", "L-1216C47A", "Running On-Demand Standard instances (vCPUs)", None)


def quota_value(clients: ClientFactory, region: str, quota: Quota) -> tuple[float | None, str]:
    """The quota's value and where it came from (``applied``, ``AWS default``, ``documented default``)."""
    sq = clients("service-quotas", region)
    for call, origin in ((sq.get_service_quota, "applied"), (sq.get_aws_default_service_quota, "AWS default")):
        try:
            return float(call(ServiceCode=quota.service, QuotaCode=quota.code)["Quota"]["Value"]), origin
        except (ClientError, BotoCoreError, NotImplementedError, KeyError):
            continue
    return quota.documented_default, "documented default"


def _room(name: str, quota: Quota, limit: float | None, origin: str, used: float, needed: float) -> Check:
    if limit is None:
        return skip(name, f"could not read the quota {quota.code} ({quota.title}); needs {needed:.0f} more")
    detail = f"{used:.0f} used + {needed:.0f} needed of {limit:.0f} ({origin})"
    if used + needed > limit:
        return fail(
            name,
            detail,
            f"ask for more: aws service-quotas request-service-quota-increase --service-code {quota.service} "
            f"--quota-code {quota.code} --desired-value {used + needed:.0f}, or free some",
        )
    return ok(name, detail)


def network_quotas(config: EnvironmentConfig, clients: ClientFactory) -> list[Check]:
    """VPCs, NAT gateways per AZ and Elastic IPs, when the stack builds its own VPC."""
    net = config.network
    if not net.creates_vpc:
        return [skip("quotas: VPC, NAT gateways, Elastic IPs", f"the stack uses the existing {net.vpc_id}")]
    ec2 = clients("ec2", config.region)
    nat_azs = list(net.availability_zones) if net.nat_gateways == "one_per_az" else list(net.availability_zones[:1])
    vpcs = len(ec2.describe_vpcs()["Vpcs"])
    addresses = len(ec2.describe_addresses()["Addresses"])
    gateways = [g for g in ec2.describe_nat_gateways()["NatGateways"] if g.get("State") in ("pending", "available")]
    subnet_ids = sorted({g["SubnetId"] for g in gateways if g.get("SubnetId")})
    zone_of = (
        {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]}
        if subnet_ids
        else {}
    )
    per_az = Counter(zone_of.get(g.get("SubnetId", ""), "") for g in gateways)
    checks = [_room("quota: VPCs", VPCS, *quota_value(clients, config.region, VPCS), vpcs, 1)]
    limit, origin = quota_value(clients, config.region, NAT_PER_AZ)
    busiest = max(nat_azs, key=lambda az: per_az[az])
    checks.append(_room(f"quota: NAT gateways in {busiest}", NAT_PER_AZ, limit, origin, per_az[busiest], 1))
    checks.append(
        _room(
            "quota: Elastic IPs",
            ELASTIC_IPS,
            *quota_value(clients, config.region, ELASTIC_IPS),
            addresses,
            len(nat_azs),
        )
    )
    return checks


def _vcpus(ec2: Any, types: set[str]) -> dict[str, int]:
    if not types:
        return {}
    found = ec2.describe_instance_types(InstanceTypes=sorted(types))["InstanceTypes"]
    return {t["InstanceType"]: int(t["VCpuInfo"]["DefaultVCpus"]) for t in found}


def _standard(instance_type: str) -> bool:
    return instance_type[:1] in STANDARD_FAMILIES


def needed_instances(config: EnvironmentConfig) -> Counter[str]:
    """The most instances of each type the stacks run at once: the group (one, or a hot standby's two) plus a
    replacement that overlaps the instance it replaces, a Running warm pool, and the image build."""
    need: Counter[str] = Counter()
    if config.eks is not None:
        need[config.eks.node_instance_type] += config.eks.nodes_max_per_az * len(config.network.availability_zones)
        return need
    need[config.instance.instance_type] += config.autoscaling.failover.group_size + 1
    pool = config.autoscaling.warm_pool
    if pool.enabled and pool.pool_state == "Running":
        need[config.instance.instance_type] += pool.min_size
    if config.image_pipeline.enabled:
        need[config.image_pipeline.build_instance_type] += 1
    return need


def vcpu_quota(config: EnvironmentConfig, clients: ClientFactory) -> Check:
    """Room for the stacks' standard-family on-demand instances among those already running."""
    name = "quota: on-demand standard vCPUs"
    ec2 = clients("ec2", config.region)
    need = Counter({t: n for t, n in needed_instances(config).items() if _standard(t)})
    if not need:
        return skip(name, "the stacks run no standard-family instances")
    running: Counter[str] = Counter()
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}]
    )
    for page in pages:
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                if _standard(instance["InstanceType"]):
                    running[instance["InstanceType"]] += 1
    sizes = _vcpus(ec2, set(need) | set(running))
    unknown = sorted(set(need) - set(sizes))
    if unknown:
        return fail(name, f"no such instance type in {config.region}: {', '.join(unknown)}", "fix the instance type")
    used = sum(sizes.get(t, 0) * n for t, n in running.items())
    needed = sum(sizes[t] * n for t, n in need.items())
    return _room(name, STANDARD_VCPUS, *quota_value(clients, config.region, STANDARD_VCPUS), used, needed)

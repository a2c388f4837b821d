"""Cross-field rules a JSON Schema cannot express.

Each rule reads the raw (schema-valid) document and yields ``(field path, message)`` pairs; the
message says what is wrong and how to fix it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from rudder_ha.config import defaults

Finding = tuple[str, str]
Rule = Callable[[dict[str, Any], str], Iterator[Finding]]

SECRET_LOOKING_KEY = re.compile(r"(PASSWORD|TOKEN|SECRET|PRIVATE|_KEY$|APIKEY|CREDENTIAL)")


def _network(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get("network") or {}


def environment_matches_file(doc: dict[str, Any], stem: str) -> Iterator[Finding]:
    """``environments/dev.yaml`` must describe ``environment: dev`` so nobody deploys the wrong one."""
    name = doc.get("environment")
    if stem and name and name != stem:
        yield "environment", f"is {name!r} but the file is {stem}.yaml; rename the file or the environment"


def eks_settings(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """The eks section belongs to the eks topology, and its sizes and access settings must agree."""
    eks = doc.get("eks")
    if doc.get("topology", "single_node") != "eks":
        if eks is not None:
            yield "eks", "only applies with topology: eks; remove it or set topology: eks"
        return
    eks = eks or {}
    public = eks.get("endpoint_public_access", False)
    cidrs = eks.get("public_access_cidrs", [])
    if public and not cidrs:
        yield "eks.public_access_cidrs", "is required with endpoint_public_access; list the CIDRs allowed to reach it"
    if cidrs and not public:
        yield "eks.public_access_cidrs", "only applies with endpoint_public_access: true; remove it"
    if doc.get("tier") == "prod" and "0.0.0.0/0" in cidrs:
        yield "eks.public_access_cidrs", "opens the prod API endpoint to the internet; list your own CIDRs"
    nodes = {**defaults.EKS_NODES_PER_AZ, **(eks.get("nodes_per_az") or {})}
    if not nodes["min"] <= nodes["desired"] <= nodes["max"]:
        yield "eks.nodes_per_az", f"needs min <= desired <= max (got {nodes}); fix the three numbers"
    t_min, t_max = defaults.EKS_TRANSFORMER_REPLICAS
    if eks.get("transformer_min_replicas", t_min) > eks.get("transformer_max_replicas", t_max):
        yield "eks.transformer_min_replicas", "is above transformer_max_replicas; lower it or raise the maximum"
    hook = (doc.get("autoscaling") or {}).get("lifecycle_hook") or {}
    heartbeat = hook.get("heartbeat_timeout_seconds", defaults.LIFECYCLE_HEARTBEAT_TIMEOUT_SECONDS)
    global_timeout = min(100 * heartbeat, 172_800)
    grace = eks.get("termination_grace_period_seconds", defaults.EKS_TERMINATION_GRACE_PERIOD_SECONDS)
    if grace >= global_timeout:
        yield (
            "eks.termination_grace_period_seconds",
            f"{grace}s outlasts the node lifecycle hook's global timeout of {global_timeout}s, so a node could "
            "be terminated while its backend pod still drains; lower it",
        )


def availability_zones(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """At least two distinct AZs, all in the environment's region; three in prod."""
    net = _network(doc)
    zones = net.get("availability_zones")
    if zones is None:
        if "vpc_id" not in net:
            yield (
                "network.availability_zones",
                "is required when the stack creates the VPC; list two or more zones of the region, "
                "e.g. [eu-west-1a, eu-west-1b]",
            )
        return
    distinct = list(dict.fromkeys(zones))
    if len(distinct) != len(zones):
        yield "network.availability_zones", "lists a zone twice; list each zone once"
    if len(distinct) < 2:
        yield (
            "network.availability_zones",
            f"has {len(distinct)} distinct zone; list at least 2 so the instance can be replaced in "
            "another zone when one fails",
        )
    elif doc.get("tier") == "prod" and len(distinct) < 3:
        yield (
            "network.availability_zones",
            f"has {len(distinct)} zones; prod spreads over 3 so losing one zone still leaves two",
        )
    region = doc.get("region", "")
    for i, zone in enumerate(zones):
        if region and not zone.startswith(region):
            yield f"network.availability_zones[{i}]", f"{zone} is not in region {region}; use a zone of {region}"


def network_mode(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """Existing-VPC fields and new-VPC fields exclude each other."""
    net = _network(doc)
    if "vpc_id" in net:
        for field in ("vpc_cidr", "public_subnet_cidrs", "private_subnet_cidrs", "nat_gateways"):
            if field in net:
                yield (
                    f"network.{field}",
                    "only applies when the stack creates the VPC; remove it or remove network.vpc_id",
                )
        for field in ("public_subnet_ids", "private_subnet_ids"):
            ids = net.get(field)
            if not ids:
                yield f"network.{field}", "is required with network.vpc_id; list subnets in two or more AZs"
            elif len(ids) < 2:
                yield f"network.{field}", "lists 1 subnet; list subnets in at least 2 AZs"
    else:
        for field in ("public_subnet_ids", "private_subnet_ids"):
            if field in net:
                yield f"network.{field}", "needs network.vpc_id; add the VPC id or remove the subnet ids"


def _parse_network(text: str, path: str, findings: list[Finding]) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f"; did you mean {ipaddress.IPv4Network(text, strict=False)}?"
        findings.append((path, f"{text} is not a valid network ({exc}){hint}"))
        return None


def subnet_cidrs(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """Subnet CIDRs sit inside the VPC CIDR, one per AZ, and never overlap."""
    net = _network(doc)
    if "vpc_id" in net:
        return
    findings: list[Finding] = []
    vpc = _parse_network(net.get("vpc_cidr", defaults.VPC_CIDR), "network.vpc_cidr", findings)
    if vpc is not None and not 16 <= vpc.prefixlen <= 24:
        findings.append(("network.vpc_cidr", f"/{vpc.prefixlen} is outside what AWS allows here; use /16 to /24"))
        vpc = None
    zones = list(dict.fromkeys(net.get("availability_zones") or []))
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for field in ("public_subnet_cidrs", "private_subnet_cidrs"):
        cidrs = net.get(field)
        if cidrs is None:
            continue
        if zones and len(cidrs) != len(zones):
            findings.append(
                (f"network.{field}", f"has {len(cidrs)} CIDRs for {len(zones)} zones; give one per zone, in order")
            )
        for i, text in enumerate(cidrs):
            path = f"network.{field}[{i}]"
            subnet = _parse_network(text, path, findings)
            if subnet is None:
                continue
            if vpc is not None and not subnet.subnet_of(vpc):
                findings.append((path, f"{subnet} is outside the VPC CIDR {vpc}; pick a range inside it"))
            for other_path, other in seen:
                if subnet.overlaps(other):
                    findings.append((path, f"{subnet} overlaps {other} ({other_path}); use ranges that do not overlap"))
            seen.append((path, subnet))
    yield from findings


def listener(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """HTTPS needs a certificate; HTTP-only is a dev-only, explicit choice; prod keeps deletion protection."""
    lb = doc.get("load_balancer") or {}
    tier = doc.get("tier")
    http_only = lb.get("http_only", False)
    cert = lb.get("certificate_arn")
    if lb.get("domain_name") and not cert:
        yield (
            "load_balancer.certificate_arn",
            "is required when load_balancer.domain_name is set; add the ACM certificate ARN for that domain",
        )
    if http_only and tier != "dev":
        yield (
            "load_balancer.http_only",
            f"is only allowed in the dev tier (this is {tier}); remove it and add a certificate",
        )
    elif http_only and cert:
        yield "load_balancer.http_only", "contradicts load_balancer.certificate_arn; remove one of them"
    elif not http_only and not cert and not lb.get("domain_name"):
        yield (
            "load_balancer.certificate_arn",
            "is required for the HTTPS listener; add an ACM certificate ARN (or, in dev only, set http_only: true)",
        )
    if cert and doc.get("region") and f":acm:{doc['region']}:" not in cert:
        yield (
            "load_balancer.certificate_arn",
            f"is not in region {doc['region']}; an ALB needs a certificate from its own region",
        )
    if tier == "prod" and lb.get("deletion_protection") is False:
        yield "load_balancer.deletion_protection", "must stay on in prod; remove the setting"


def timings(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """Health-check and autoscaling timings that contradict each other."""
    hc = doc.get("health_check") or {}
    asg = doc.get("autoscaling") or {}
    interval = hc.get("interval_seconds", defaults.HEALTH_CHECK_INTERVAL_SECONDS)
    timeout = hc.get("timeout_seconds", defaults.HEALTH_CHECK_TIMEOUT_SECONDS)
    healthy = hc.get("healthy_threshold", defaults.HEALTHY_THRESHOLD)
    if timeout >= interval:
        yield (
            "health_check.timeout_seconds",
            f"{timeout}s is not shorter than the {interval}s interval; the ALB requires timeout < interval",
        )
    grace = asg.get("health_check_grace_period_seconds", defaults.HEALTH_CHECK_GRACE_PERIOD_SECONDS)
    needed = interval * healthy
    if grace < needed:
        yield (
            "autoscaling.health_check_grace_period_seconds",
            f"{grace}s is shorter than the {needed}s a new instance needs to pass {healthy} health checks "
            f"every {interval}s; raise it to at least {needed}",
        )
    hook = asg.get("lifecycle_hook") or {}
    heartbeat = hook.get("heartbeat_timeout_seconds", defaults.LIFECYCLE_HEARTBEAT_TIMEOUT_SECONDS)
    dereg = hc.get("deregistration_delay_seconds", defaults.DEREGISTRATION_DELAY_SECONDS)
    if dereg >= heartbeat:
        yield (
            "autoscaling.lifecycle_hook.heartbeat_timeout_seconds",
            f"{heartbeat}s does not outlast the {dereg}s deregistration delay; raise it above {dereg}",
        )


def drain_timings(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """The drain deadline must fall inside the lifecycle hook's global timeout, or it can never fire."""
    drain = doc.get("drain") or {}
    hook = (doc.get("autoscaling") or {}).get("lifecycle_hook") or {}
    heartbeat = hook.get("heartbeat_timeout_seconds", defaults.LIFECYCLE_HEARTBEAT_TIMEOUT_SECONDS)
    global_timeout = min(100 * heartbeat, 172_800)
    deadline = drain.get("deadline_seconds", defaults.DRAIN_DEADLINE_SECONDS)
    if deadline >= global_timeout:
        yield (
            "drain.deadline_seconds",
            f"{deadline}s is past the lifecycle hook's global timeout of {global_timeout}s "
            f"(100 x the {heartbeat}s heartbeat, at most 48 h); lower it below {global_timeout}",
        )
    poll = drain.get("poll_interval_seconds", defaults.DRAIN_POLL_INTERVAL_SECONDS)
    # A crashed or throttled drain step comes back only after the queue's visibility timeout; the
    # Lambda heartbeats once half the heartbeat timeout is left, so that half must cover it.
    needed = 2 * (defaults.DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS + poll)
    if heartbeat < needed:
        yield (
            "autoscaling.lifecycle_hook.heartbeat_timeout_seconds",
            f"{heartbeat}s is too short for the drain to heartbeat after a failed step (a retry waits "
            f"{defaults.DRAIN_QUEUE_VISIBILITY_TIMEOUT_SECONDS}s, then the {poll}s poll interval); "
            f"raise it to at least {needed}",
        )


def jobsdb(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """prod keeps accepted events off the instance; RDS settings only mean something in rds mode."""
    db = doc.get("jobsdb") or {}
    if doc.get("topology") == "eks":
        if db:
            yield "jobsdb", "does not apply to the eks topology (each backend pod keeps its own jobsdb); remove it"
        return
    prod = doc.get("tier") == "prod"
    mode = db.get("mode", "rds" if prod else "instance")
    if prod and mode != "rds":
        yield (
            "jobsdb.mode",
            "must be rds in prod: on the instance, accepted events die with it; remove the setting",
        )
    if mode == "rds":
        if prod and db.get("multi_az") is False:
            yield "jobsdb.multi_az", "must stay on in prod so the jobsdb survives an AZ; remove the setting"
        if db.get("max_allocated_storage_gib", 0) and db.get("max_allocated_storage_gib", 0) < db.get(
            "allocated_storage_gib", 0
        ):
            yield "jobsdb.max_allocated_storage_gib", "is below allocated_storage_gib; raise it or remove it"
    else:
        extra = sorted(set(db) - {"mode"})
        if extra:
            yield f"jobsdb.{extra[0]}", "only applies with jobsdb.mode: rds; remove it or set mode: rds"


def warm_pool(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """Warm-pool settings only mean something when the pool is on."""
    pool = ((doc.get("autoscaling") or {}).get("warm_pool")) or {}
    if pool and not pool.get("enabled", False) and set(pool) - {"enabled"}:
        yield "autoscaling.warm_pool.enabled", "is off, so the other warm_pool settings do nothing; set enabled: true"


def workspace_token(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """Exactly one secret store for the workspace token."""
    token = (doc.get("rudder") or {}).get("workspace_token") or {}
    stores = [k for k in ("ssm_parameter", "secrets_manager_arn") if k in token]
    if len(stores) != 1:
        yield (
            "rudder.workspace_token",
            "must name exactly one of ssm_parameter (a SecureString) or secrets_manager_arn; "
            "the token itself never goes in this file",
        )


def no_secrets(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """Settings whose names look like credentials belong in SSM or Secrets Manager, not here."""
    for key in sorted((doc.get("rudder") or {}).get("extra_env") or {}):
        if SECRET_LOOKING_KEY.search(key):
            yield (
                f"rudder.extra_env.{key}",
                "looks like a secret; keep secrets in SSM SecureString or Secrets Manager, not in config",
            )


def reserved_tags(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """The project's own tags are set by the stack and cannot be overridden."""
    for key in sorted(doc.get("tags") or {}):
        if key.lower() in defaults.RESERVED_TAG_KEYS:
            yield f"tags.{key}", "is set by rudder-ha itself; remove it"


RULES: tuple[Rule, ...] = (
    environment_matches_file,
    eks_settings,
    availability_zones,
    network_mode,
    subnet_cidrs,
    listener,
    timings,
    drain_timings,
    jobsdb,
    warm_pool,
    workspace_token,
    no_secrets,
    reserved_tags,
)


def cross_field_problems(doc: dict[str, Any], stem: str) -> list[Finding]:
    """Runs every rule over a schema-valid document."""
    return [finding for rule in RULES for finding in rule(doc, stem)]

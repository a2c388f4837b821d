"""Cross-field rules a JSON Schema cannot express, in two kinds.

- **Document rules** (``DOCUMENT_RULES``) read the raw, schema-valid document, for what only it shows: which
  settings a file sets, settings its topology does not read, CIDRs that do not parse. Once they pass, the
  loader can build the typed settings.
- **Settings rules** (``SETTINGS_RULES``) read the typed :class:`~rudder_ha.config.model.EnvironmentConfig`,
  defaults applied (by the loader, the one place that applies them), and check how values agree.

Each rule yields ``(field path, message)`` pairs; the message says what is wrong and how to fix it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from rudder_ha.config import defaults
from rudder_ha.config.arns import arn_scope
from rudder_ha.config.model import EksResources, EnvironmentConfig
from rudder_ha.config.schema_messages import schema
from rudder_ha.config.versions import server_image_problem, transformer_image_problem
from rudder_ha.topologies import registry

Finding = tuple[str, str]
DocumentRule = Callable[[dict[str, Any], str], Iterator[Finding]]
SettingsRule = Callable[[EnvironmentConfig], Iterator[Finding]]

SECRET_LOOKING_KEY = re.compile(r"(PASSWORD|TOKEN|SECRET|PRIVATE|_KEY$|APIKEY|CREDENTIAL)")


def _network(doc: dict[str, Any]) -> dict[str, Any]:
    return doc.get("network") or {}


def environment_matches_file(doc: dict[str, Any], stem: str) -> Iterator[Finding]:
    """``environments/dev.yaml`` must describe ``environment: dev`` so nobody deploys the wrong one."""
    name = doc.get("environment")
    if stem and name and name != stem:
        yield "environment", f"is {name!r} but the file is {stem}.yaml; rename the file or the environment"


def _setting_paths(doc: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The dotted path of every key of every mapping in ``doc``, parents before children."""
    for key, value in doc.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            yield from _setting_paths(value, f"{path}.")


def unread_settings(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """A file may set only what its topology reads (``Topology.reads``): anything else would be silently
    ignored, e.g. ``instance`` or ``autoscaling.warm_pool`` with topology: eks. The one rule that knows which
    settings belong to which topology; it asks the topology descriptors."""
    chosen = registry.of(doc)
    refused: list[str] = []
    for path in _setting_paths(doc):
        if any(path.startswith(f"{r}.") for r in refused) or chosen.reads_setting(path):
            continue
        refused.append(path)
        others = [t.name for t in registry.TOPOLOGIES.values() if t is not chosen and t.reads_setting(path)]
        reason = chosen.unread_reason(path)
        ignored = f"the {chosen.name} topology ignores it ({reason})" if reason else ""
        if others:
            message = f"only applies with topology: {' or '.join(others)}"
            message += f"; {ignored}" if ignored else ""
            message += f"; remove it or set topology: {others[0]}"
        else:
            message = f"{ignored or f'the {chosen.name} topology ignores it'}; remove it"
        yield path, message


def eks_settings(config: EnvironmentConfig) -> Iterator[Finding]:
    """The eks section's sizes and access settings must agree."""
    eks = config.eks
    if eks is None:
        return
    public = eks.endpoint_public_access
    cidrs = eks.public_access_cidrs
    if public and not cidrs:
        yield "eks.public_access_cidrs", "is required with endpoint_public_access; list the CIDRs allowed to reach it"
    if cidrs and not public:
        yield "eks.public_access_cidrs", "only applies with endpoint_public_access: true; remove it"
    if config.is_prod and "0.0.0.0/0" in cidrs:
        yield "eks.public_access_cidrs", "opens the prod API endpoint to the internet; list your own CIDRs"
    nodes = {"min": eks.nodes_min_per_az, "desired": eks.nodes_desired_per_az, "max": eks.nodes_max_per_az}
    if not nodes["min"] <= nodes["desired"] <= nodes["max"]:
        yield "eks.nodes_per_az", f"needs min <= desired <= max (got {nodes}); fix the three numbers"
    if eks.transformer_min_replicas > eks.transformer_max_replicas:
        yield "eks.transformer_min_replicas", "is above transformer_max_replicas; lower it or raise the maximum"
    global_timeout = config.autoscaling.lifecycle_hook.global_timeout_seconds
    grace = eks.termination_grace_period_seconds
    if grace >= global_timeout:
        yield (
            "eks.termination_grace_period_seconds",
            f"{grace}s outlasts the node lifecycle hook's global timeout of {global_timeout}s, so a node could "
            "be terminated while its backend pod still drains; lower it",
        )


_RESOURCE_FIXES = {
    "is below": "raise the limit or lower the request",
    "is not a Kubernetes quantity": "use a quantity such as 500m, 2 or 4Gi",
}
"""The fix for each kind of refused request or limit (by the words that say what is wrong), where the
workload settings' message does not end in one already (``...; <fix>``)."""


def eks_resources(config: EnvironmentConfig) -> Iterator[Finding]:
    """Each container's ``eks.resources`` built as synthesis builds them (a limit below its request, a zero
    size...), one finding per container at the field the workload settings refuse, with the fix."""
    if config.eks is None:
        return
    # Imported here: the workload settings import this module (timeout_below_interval).
    from rudder_ha.topologies.eks.k8s.from_config import container_resources

    for container in (f.name for f in dataclasses.fields(EksResources)):
        try:
            container_resources(getattr(config.eks.resources, container), container)
        except ValueError as exc:
            path, _, detail = str(exc).partition(": ")
            fix = next((f for words, f in _RESOURCE_FIXES.items() if words in detail), "change it")
            yield path, detail if "; " in detail else f"{detail}; {fix}"


def eks_workload(config: EnvironmentConfig) -> Iterator[Finding]:
    """What the EKS workload stack builds from the settings, built here too: the checks of
    :mod:`rudder_ha.topologies.eks.k8s.settings` (Kubernetes version, drain budget, ingress...) are the ones
    synthesis runs, so validation and synthesis cannot disagree. Each ValueError becomes a finding."""
    if config.eks is None:
        return
    # Imported here: the workload settings import this module (timeout_below_interval).
    from rudder_ha.topologies.eks.k8s import render
    from rudder_ha.topologies.eks.k8s.from_config import workload_settings

    try:
        render(workload_settings(config))
    except ValueError as exc:
        yield workload_finding(str(exc), config.environment)


_WORKLOAD_FIELDS = {
    "kubernetes_version": "eks.kubernetes_version",
    "zones": "network.availability_zones",
    "backend_replica_count": "eks.backend_replica_count",
    "workspace_token": "rudder.workspace_token",
    "control_plane_url": "rudder.control_plane_url",
    "termination_grace_period_seconds": "eks.termination_grace_period_seconds",
    "allowed_account_ids": "allowed_account_ids",
    "load_balancer.certificate_arn": "load_balancer.certificate_arn",
    "ingress.certificate_arn": "load_balancer.certificate_arn",
    "ingress.ssl_policy": "load_balancer.ssl_policy",
    "ingress.health_check_timeout_seconds": "health_check.timeout_seconds",
    "ingress.ingress_cidrs": "load_balancer.ingress_cidrs",
    "transformer_scaling": "eks.transformer_min_replicas",
    "jobsdb_volume.size": "eks.jobsdb_volume_size_gib",
}
"""The workload settings' field names (which start their ValueError messages) and the setting behind each."""


def workload_finding(message: str, environment: str) -> Finding:
    """A workload settings' ValueError as (setting, message with a fix)."""
    detail = message.removeprefix(f"{environment}: ")
    for name in sorted(_WORKLOAD_FIELDS, key=len, reverse=True):
        if detail.startswith(name) and detail[len(name) : len(name) + 1] in (":", " "):
            path = _WORKLOAD_FIELDS[name]
            detail = detail[len(name) :].lstrip(": ")
            break
    else:
        named, sep, rest = detail.partition(": ")
        known = sep and named.partition(".")[0] in schema()["properties"] and re.fullmatch(r"[a-z_.]+", named)
        path, detail = (named, rest) if known else ("eks", detail)
    fix = "change it"
    if path == "eks.termination_grace_period_seconds":
        from rudder_ha.topologies.eks.k8s import DrainSettings

        drain = DrainSettings()
        least = drain.shutdown_reserve_seconds + drain.settle_seconds + drain.poll_interval_seconds
        fix = f"raise it to at least {least}"
    return path, f"{detail.rstrip('.')} (the EKS workload cannot be built with it); {fix}"


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
        hint = "; use a network address in CIDR notation such as 10.40.0.0/16"
        with contextlib.suppress(ValueError):
            hint = f"; did you mean {ipaddress.IPv4Network(text, strict=False)}?"
        findings.append((path, f"{text} is not a valid network ({exc}){hint}"))
        return None


def network_cidrs_parse(doc: dict[str, Any], _stem: str) -> Iterator[Finding]:
    """Every CIDR the file names is a network address (no host bits), the VPC's of a size AWS allows."""
    net = _network(doc)
    findings: list[Finding] = []
    for section, field in (("load_balancer", "ingress_cidrs"), ("eks", "public_access_cidrs")):
        for i, text in enumerate((doc.get(section) or {}).get(field) or []):
            _parse_network(text, f"{section}.{field}[{i}]", findings)
    if "vpc_id" in net:
        yield from findings
        return
    if "vpc_cidr" in net:
        vpc = _parse_network(net["vpc_cidr"], "network.vpc_cidr", findings)
        if vpc is not None and not 16 <= vpc.prefixlen <= 24:
            findings.append(("network.vpc_cidr", f"/{vpc.prefixlen} is outside what AWS allows here; use /16 to /24"))
    for field in ("public_subnet_cidrs", "private_subnet_cidrs"):
        for i, text in enumerate(net.get(field) or []):
            _parse_network(text, f"network.{field}[{i}]", findings)
    yield from findings


def subnet_layout(config: EnvironmentConfig) -> Iterator[Finding]:
    """Subnet CIDRs sit inside the VPC CIDR, one per AZ, and never overlap."""
    net = config.network
    if not net.creates_vpc or net.vpc_cidr is None:
        return
    vpc = ipaddress.IPv4Network(net.vpc_cidr)
    zones = net.availability_zones
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for field, cidrs in (
        ("public_subnet_cidrs", net.public_subnet_cidrs),
        ("private_subnet_cidrs", net.private_subnet_cidrs),
    ):
        if zones and len(cidrs) != len(zones):
            yield f"network.{field}", f"has {len(cidrs)} CIDRs for {len(zones)} zones; give one per zone, in order"
        for i, text in enumerate(cidrs):
            path = f"network.{field}[{i}]"
            subnet = ipaddress.IPv4Network(text)
            if not subnet.subnet_of(vpc):
                yield path, f"{subnet} is outside the VPC CIDR {vpc}; pick a range inside it"
            for other_path, other in seen:
                if subnet.overlaps(other):
                    yield path, f"{subnet} overlaps {other} ({other_path}); use ranges that do not overlap"
            seen.append((path, subnet))


def listener(config: EnvironmentConfig) -> Iterator[Finding]:
    """HTTPS needs a certificate; HTTP-only is a dev-only, explicit choice; prod keeps deletion protection."""
    lb = config.load_balancer
    tier = config.tier
    cert = lb.certificate_arn
    if lb.domain_name and not cert:
        yield (
            "load_balancer.certificate_arn",
            "is required when load_balancer.domain_name is set; add the ACM certificate ARN for that domain",
        )
    if lb.http_only and tier != "dev":
        yield (
            "load_balancer.http_only",
            f"is only allowed in the dev tier (this is {tier}); remove it and add a certificate",
        )
    elif lb.http_only and cert:
        yield "load_balancer.http_only", "contradicts load_balancer.certificate_arn; remove one of them"
    elif not lb.http_only and not cert and not lb.domain_name:
        can_be_http = registry.named(config.topology).reads_setting("load_balancer.http_only")
        yield (
            "load_balancer.certificate_arn",
            "is required for the HTTPS listener; add an ACM certificate ARN"
            + (" (or, in dev only, set http_only: true)" if can_be_http else ""),
        )
    if config.is_prod and not lb.deletion_protection:
        yield "load_balancer.deletion_protection", "must stay on in prod; remove the setting"


def dns_record(config: EnvironmentConfig) -> Iterator[Finding]:
    """The Route 53 alias record is named ``domain_name`` and serves the HTTPS endpoint."""
    lb = config.load_balancer
    if not lb.hosted_zone_id:
        return
    if lb.http_only:
        yield (
            "load_balancer.hosted_zone_id",
            "does not apply to an HTTP-only load balancer (no domain, no certificate); remove it, or remove "
            "http_only and set domain_name and certificate_arn",
        )
    elif not lb.domain_name:
        yield (
            "load_balancer.hosted_zone_id",
            "needs load_balancer.domain_name, the name of the record it creates; add domain_name or remove "
            "hosted_zone_id",
        )


def timeout_below_interval(interval: int, timeout: int) -> str | None:
    """Why a health check's timeout does not fit its interval (the ALB requires timeout < interval), or None.
    The one statement of the rule: the EKS Ingress settings ask it too."""
    if timeout >= interval:
        return f"{timeout}s is not shorter than the {interval}s interval; the ALB requires timeout < interval"
    return None


def timings(config: EnvironmentConfig) -> Iterator[Finding]:
    """Health-check and autoscaling timings that contradict each other."""
    hc = config.health_check
    asg = config.autoscaling
    interval = hc.interval_seconds
    healthy = hc.healthy_threshold
    problem = timeout_below_interval(interval, hc.timeout_seconds)
    if problem:
        yield "health_check.timeout_seconds", problem
    grace = asg.health_check_grace_period_seconds
    needed = interval * healthy
    if grace < needed:
        yield (
            "autoscaling.health_check_grace_period_seconds",
            f"{grace}s is shorter than the {needed}s a new instance needs to pass {healthy} health checks "
            f"every {interval}s; raise it to at least {needed}",
        )
    heartbeat = asg.lifecycle_hook.heartbeat_timeout_seconds
    dereg = hc.deregistration_delay_seconds
    if dereg >= heartbeat:
        yield (
            "autoscaling.lifecycle_hook.heartbeat_timeout_seconds",
            f"{heartbeat}s does not outlast the {dereg}s deregistration delay; raise it above {dereg}",
        )


def drain_timings(config: EnvironmentConfig) -> Iterator[Finding]:
    """The drain deadline must fall inside the lifecycle hook's global timeout, or it can never fire."""
    hook = config.autoscaling.lifecycle_hook
    heartbeat = hook.heartbeat_timeout_seconds
    global_timeout = hook.global_timeout_seconds
    deadline = config.drain.deadline_seconds
    if deadline >= global_timeout:
        yield (
            "drain.deadline_seconds",
            f"{deadline}s is past the lifecycle hook's global timeout of {global_timeout}s "
            f"(100 x the {heartbeat}s heartbeat, at most 48 h); lower it below {global_timeout}",
        )
    poll = config.drain.poll_interval_seconds
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


def jobsdb(config: EnvironmentConfig) -> Iterator[Finding]:
    """prod keeps accepted events off the instance, and its RDS jobsdb survives an AZ."""
    if not registry.named(config.topology).jobsdb_section:
        return
    db = config.jobsdb
    if config.is_prod and db.mode != "rds":
        yield (
            "jobsdb.mode",
            "must be rds in prod: on the instance, accepted events die with it; remove the setting",
        )
    if db.mode == "rds":
        if config.is_prod and not db.multi_az:
            yield "jobsdb.multi_az", "must stay on in prod so the jobsdb survives an AZ; remove the setting"
        if db.max_allocated_storage_gib < db.allocated_storage_gib:
            yield "jobsdb.max_allocated_storage_gib", "is below allocated_storage_gib; raise it or remove it"
    else:
        extra = sorted(path for path in config.explicit if _child_of("jobsdb", path) and path != "jobsdb.mode")
        if extra:
            yield extra[0], "only applies with jobsdb.mode: rds; remove it or set mode: rds"


def failover(config: EnvironmentConfig) -> Iterator[Finding]:
    """A hot standby and the lease it waits for exist only where the jobsdb outlives an instance."""
    if config.jobsdb.on_rds:
        return
    if config.autoscaling.failover.hot_standby:
        yield (
            "autoscaling.failover.mode",
            "hot_standby needs jobsdb.mode: rds (a standby cannot reach a jobsdb on another instance's disk); "
            "set jobsdb.mode: rds or remove the setting",
        )
    elif "autoscaling.failover.lease_ttl_seconds" in config.explicit:
        yield "autoscaling.failover.lease_ttl_seconds", "only applies with jobsdb.mode: rds; remove it"


def _child_of(section: str, path: str) -> bool:
    """True for ``section.<setting>`` (one level below ``section``)."""
    head, _, rest = path.partition(".")
    return head == section and bool(rest) and "." not in rest


def warm_pool(config: EnvironmentConfig) -> Iterator[Finding]:
    """Warm-pool settings only mean something when the pool is on."""
    section = "autoscaling.warm_pool"
    others = [path for path in config.explicit if path.startswith(f"{section}.") and path != f"{section}.enabled"]
    if not config.autoscaling.warm_pool.enabled and others:
        yield f"{section}.enabled", "is off, so the other warm_pool settings do nothing; set enabled: true"


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
    """The project's own tags are set by the stack and cannot be overridden; ``aws:`` (any case) is AWS's
    prefix, which no user tag may use."""
    for key in sorted(doc.get("tags") or {}):
        if key.lower() in defaults.RESERVED_TAG_KEYS:
            yield f"tags.{key}", "is set by rudder-ha itself; remove it"
        elif key.lower().startswith(defaults.AWS_TAG_PREFIX):
            yield f"tags.{key}", f"starts with {key[:4]}, a prefix AWS reserves for its own tags; rename it"


def existing_vpc_zones(config: EnvironmentConfig) -> Iterator[Finding]:
    """In an existing VPC, listed zones are the private subnets' zones, one each, in order (the eks node
    groups pair them up)."""
    net = config.network
    zones = net.availability_zones
    if not net.creates_vpc and zones and len(zones) != len(net.private_subnet_ids):
        yield (
            "network.availability_zones",
            f"lists {len(zones)} zones for {len(net.private_subnet_ids)} private subnets; list the zone of "
            "each of network.private_subnet_ids, in the same order",
        )


def state_key_owner(config: EnvironmentConfig) -> Iterator[Finding]:
    """An environment's state key is its own: not under another environment's default place
    (``rudder-ha/<other>/``), nor under the Pulumi stacks' prefix. Across files, keys are compared by
    :func:`rudder_ha.config.loader.cross_file_problems`."""
    from rudder_ha.frontends.pulumi.backend import STATE_PREFIX  # plain module: no Pulumi import

    key = config.state.key
    head, _, rest = key.partition("/")
    owner = rest.partition("/")[0] if head == defaults.STATE_KEY_ROOT and "/" in rest else None
    own = defaults.STATE_KEY.format(environment=config.environment)
    if owner is not None and owner != config.environment:
        yield (
            "state.key",
            f"is under {head}/{owner}/, where environment {owner} keeps its state; use a key of this "
            f"environment's own, e.g. {own} (the default when state.key is left out)",
        )
    elif head == STATE_PREFIX:
        yield "state.key", f"is under {STATE_PREFIX}/, where the Pulumi stacks keep their state; use e.g. {own}"


def rudder_versions(config: EnvironmentConfig) -> Iterator[Finding]:
    """rudder-server must be a release in the supported range, rudder-transformer a release; a digest comes
    with its release tag (:mod:`rudder_ha.config.versions` states the rules)."""
    problem = server_image_problem(config.rudder.backend_image)
    if problem:
        yield "rudder.backend_image", problem
    problem = transformer_image_problem(config.rudder.transformer_image)
    if problem:
        yield "rudder.transformer_image", problem


_ARCHIVE = "event_archive"
_MIN_TRANSITION_DAYS = {"STANDARD_IA": 30}
"""S3 refuses a lifecycle transition to Standard-IA earlier than 30 days after creation."""


def event_archive(config: EnvironmentConfig) -> Iterator[Finding]:
    """The archive's lifecycle must make sense, and its settings do nothing while it is off."""
    archive = config.event_archive
    if not archive.enabled:
        extra = sorted(p for p in config.explicit if _child_of(_ARCHIVE, p) and p != f"{_ARCHIVE}.enabled")
        if extra:
            yield extra[0], f"does nothing while {_ARCHIVE}.enabled is false; remove it or set enabled: true"
        return
    least = _MIN_TRANSITION_DAYS.get(archive.transition_storage_class, 1)
    if archive.transition_days < least:
        yield (
            f"{_ARCHIVE}.transition_days",
            f"{archive.transition_days} is below the {least} days S3 requires before a transition to "
            f"{archive.transition_storage_class}; raise it to at least {least}",
        )
    if archive.expiration_days <= archive.transition_days:
        yield (
            f"{_ARCHIVE}.expiration_days",
            f"{archive.expiration_days} does not come after transition_days ({archive.transition_days}), so "
            "objects would expire before they move; raise it above transition_days",
        )


DOCUMENT_RULES: tuple[DocumentRule, ...] = (
    environment_matches_file,
    unread_settings,
    availability_zones,
    network_mode,
    network_cidrs_parse,
    workspace_token,
    no_secrets,
    reserved_tags,
)
"""Rules over the raw document; the typed settings are built only once these pass."""

SETTINGS_RULES: tuple[SettingsRule, ...] = (
    eks_settings,
    eks_resources,
    arn_scope,
    state_key_owner,
    existing_vpc_zones,
    subnet_layout,
    warm_pool,
    listener,
    dns_record,
    timings,
    drain_timings,
    jobsdb,
    failover,
    rudder_versions,
    event_archive,
)
"""Rules over the typed settings, every default applied."""


def document_problems(doc: dict[str, Any], stem: str) -> list[Finding]:
    """Runs every document rule over a schema-valid document."""
    return [finding for rule in DOCUMENT_RULES for finding in rule(doc, stem)]


BACKSTOP_RULES: tuple[SettingsRule, ...] = (eks_workload,)
"""Rules that run what synthesis runs, after the others: they name only settings no other rule refused
(a setting is not reported twice, once with the rule's fix and once with synthesis's complaint)."""


def settings_problems(config: EnvironmentConfig) -> list[Finding]:
    """Runs every settings rule over the typed settings, then the backstops."""
    found = [finding for rule in SETTINGS_RULES for finding in rule(config)]
    reported = {path for path, _ in found}
    found += [f for rule in BACKSTOP_RULES for f in rule(config) if f[0] not in reported]
    return found

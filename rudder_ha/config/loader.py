"""Loads an environment file into typed, defaulted settings, or reports every problem in it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from rudder_ha.config import defaults
from rudder_ha.config.errors import ConfigError, Problem
from rudder_ha.config.hygiene import hygiene_problems
from rudder_ha.config.model import (
    AlertingSettings,
    AlertThresholds,
    AutoscalingSettings,
    ContainerResources,
    DegradedModeSettings,
    DrainSettings,
    DrillSettings,
    EksResources,
    EksSettings,
    EnvironmentConfig,
    EventArchiveSettings,
    FailoverSettings,
    HealthCheckSettings,
    ImagePipelineSettings,
    InstanceSettings,
    JobsdbSettings,
    LifecycleHookSettings,
    LoadBalancerSettings,
    NetworkSettings,
    RudderSettings,
    SecretRef,
    StateSettings,
    WarmPoolSettings,
)
from rudder_ha.config.reading import read_document
from rudder_ha.config.rules import document_problems, settings_problems
from rudder_ha.config.schema_messages import schema_problems
from rudder_ha.paths import ENVIRONMENTS_DIR
from rudder_ha.topologies import registry


def _read_document(path: Path) -> dict[str, Any]:
    """The file's settings as plain data (:mod:`rudder_ha.config.reading` says what a file may hold)."""
    doc = read_document(path)
    if not isinstance(doc, dict):
        raise ConfigError([Problem(str(path), "", "must be a YAML mapping of settings; see environments/prod.yaml")])
    return doc


def _carve_subnets(vpc_cidr: str, zones: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Default subnets: the VPC split in 16; private from the first block, public from the ninth."""
    vpc = ipaddress.IPv4Network(vpc_cidr)
    blocks = list(vpc.subnets(prefixlen_diff=4))
    private = tuple(str(b) for b in blocks[:zones])
    public = tuple(str(b) for b in blocks[8 : 8 + zones])
    return public, private


def _network(doc: dict[str, Any], tier: str) -> NetworkSettings:
    net = doc.get("network") or {}
    zones = tuple(dict.fromkeys(net.get("availability_zones") or []))
    retention = net.get("flow_logs_retention_days", defaults.FLOW_LOGS_RETENTION_DAYS)
    if "vpc_id" in net:
        return NetworkSettings(
            availability_zones=zones,
            vpc_cidr=None,
            public_subnet_cidrs=(),
            private_subnet_cidrs=(),
            nat_gateways="single",
            flow_logs_retention_days=retention,
            vpc_id=net["vpc_id"],
            public_subnet_ids=tuple(net["public_subnet_ids"]),
            private_subnet_ids=tuple(net["private_subnet_ids"]),
        )
    vpc_cidr = net.get("vpc_cidr", defaults.VPC_CIDR)
    public, private = _carve_subnets(vpc_cidr, len(zones))
    return NetworkSettings(
        availability_zones=zones,
        vpc_cidr=vpc_cidr,
        public_subnet_cidrs=tuple(net.get("public_subnet_cidrs", public)),
        private_subnet_cidrs=tuple(net.get("private_subnet_cidrs", private)),
        nat_gateways=net.get("nat_gateways", "one_per_az" if tier == "prod" else "single"),
        flow_logs_retention_days=retention,
    )


def _default_ami(doc: dict[str, Any], arch: str) -> str:
    """The newest baked image when the pipeline is on (resolved at each launch), else stock AL2023."""
    if (doc.get("image_pipeline") or {}).get("enabled"):
        return "resolve:ssm:" + defaults.BAKED_AMI_PARAMETER.format(environment=doc["environment"])
    return f"resolve:ssm:{defaults.AMI_SSM_PARAMETER[arch]}"


def _paths(doc: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """The dotted path of every key of every mapping in ``doc``."""
    for key, value in doc.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            yield from _paths(value, f"{path}.")


def _build(doc: dict[str, Any], source: str) -> EnvironmentConfig:
    """The typed settings, every default applied: the one place defaults are applied."""
    topology = registry.of(doc)
    env = doc["environment"]
    tier = doc["tier"]
    region = doc["region"]
    state = doc["state"]
    lb = doc.get("load_balancer") or {}
    hc = doc.get("health_check") or {}
    inst = doc.get("instance") or {}
    asg = doc.get("autoscaling") or {}
    pool = asg.get("warm_pool") or {}
    hook = asg.get("lifecycle_hook") or {}
    rudder = doc["rudder"]
    arch = inst.get("architecture", defaults.ARCHITECTURE)
    return EnvironmentConfig(
        source=source,
        environment=env,
        tier=tier,
        topology=topology.name,
        region=region,
        allowed_account_ids=tuple(doc.get("allowed_account_ids", ())),
        tags=dict(doc.get("tags") or {}),
        state=StateSettings(
            bucket=state["bucket"],
            key=state.get("key", defaults.STATE_KEY.format(environment=env)),
            region=state.get("region", region),
            kms_key_id=state.get("kms_key_id"),
        ),
        network=_network(doc, tier),
        load_balancer=LoadBalancerSettings(
            http_only=lb.get("http_only", False),
            ssl_policy=lb.get("ssl_policy", defaults.SSL_POLICY),
            deletion_protection=lb.get("deletion_protection", tier == "prod"),
            idle_timeout_seconds=lb.get("idle_timeout_seconds", defaults.IDLE_TIMEOUT_SECONDS),
            ingress_cidrs=tuple(lb.get("ingress_cidrs", defaults.INGRESS_CIDRS)),
            access_logs_retention_days=lb.get("access_logs_retention_days", defaults.ACCESS_LOGS_RETENTION_DAYS),
            domain_name=lb.get("domain_name"),
            certificate_arn=lb.get("certificate_arn"),
            waf_web_acl_arn=lb.get("waf_web_acl_arn"),
            hosted_zone_id=lb.get("hosted_zone_id"),
        ),
        health_check=HealthCheckSettings(
            interval_seconds=hc.get("interval_seconds", defaults.HEALTH_CHECK_INTERVAL_SECONDS),
            timeout_seconds=hc.get("timeout_seconds", defaults.HEALTH_CHECK_TIMEOUT_SECONDS),
            healthy_threshold=hc.get("healthy_threshold", defaults.HEALTHY_THRESHOLD),
            unhealthy_threshold=hc.get("unhealthy_threshold", defaults.UNHEALTHY_THRESHOLD),
            deregistration_delay_seconds=hc.get("deregistration_delay_seconds", defaults.DEREGISTRATION_DELAY_SECONDS),
        ),
        instance=InstanceSettings(
            instance_type=inst.get("instance_type", defaults.INSTANCE_TYPE),
            architecture=arch,
            ami=inst.get("ami", _default_ami(doc, arch)),
            root_volume_size_gib=inst.get("root_volume_size_gib", defaults.ROOT_VOLUME_SIZE_GIB),
            root_volume_iops=inst.get("root_volume_iops", defaults.ROOT_VOLUME_IOPS),
            root_volume_throughput_mibps=inst.get(
                "root_volume_throughput_mibps", defaults.ROOT_VOLUME_THROUGHPUT_MIBPS
            ),
            ebs_kms_key_arn=inst.get("ebs_kms_key_arn"),
        ),
        autoscaling=AutoscalingSettings(
            health_check_grace_period_seconds=asg.get(
                "health_check_grace_period_seconds", defaults.HEALTH_CHECK_GRACE_PERIOD_SECONDS
            ),
            default_instance_warmup_seconds=asg.get(
                "default_instance_warmup_seconds", defaults.DEFAULT_INSTANCE_WARMUP_SECONDS
            ),
            warm_pool=WarmPoolSettings(
                enabled=pool.get("enabled", False),
                pool_state=pool.get("pool_state", "Stopped"),
                min_size=pool.get("min_size", 1),
            ),
            lifecycle_hook=LifecycleHookSettings(
                heartbeat_timeout_seconds=hook.get(
                    "heartbeat_timeout_seconds", defaults.LIFECYCLE_HEARTBEAT_TIMEOUT_SECONDS
                ),
                default_result=hook.get("default_result", defaults.LIFECYCLE_DEFAULT_RESULT),
            ),
            failover=_failover(asg.get("failover") or {}),
        ),
        rudder=RudderSettings(
            backend_image=rudder["backend_image"],
            transformer_image=rudder["transformer_image"],
            postgres_image=rudder.get("postgres_image", defaults.POSTGRES_IMAGE),
            control_plane_url=rudder.get("control_plane_url", defaults.CONTROL_PLANE_URL),
            workspace_token=SecretRef(**rudder["workspace_token"]),
            extra_env=dict(rudder.get("extra_env") or {}),
        ),
        drain=_drain(doc.get("drain") or {}),
        alerting=_alerting(doc.get("alerting") or {}),
        image_pipeline=_image_pipeline(doc.get("image_pipeline") or {}),
        # Where the topology fixes it (eks: every backend pod keeps its jobsdb in a sidecar, on its own EBS
        # volume), the jobsdb section does not apply.
        jobsdb=_jobsdb(
            doc.get("jobsdb") or {} if topology.jobsdb_section else {"mode": topology.fixed_jobsdb_mode}, tier
        ),
        eks=_eks(doc.get("eks") or {}) if topology.settings_section == _EKS_SECTION else None,
        degraded_mode=_degraded_mode(doc.get("degraded_mode") or {}),
        event_archive=_event_archive(doc.get("event_archive") or {}, tier, topology.reads_setting("event_archive")),
        drill=DrillSettings(
            az_loss_experiment=(doc.get("drill") or {}).get("az_loss_experiment", defaults.DRILL_AZ_LOSS_EXPERIMENT)
        ),
        explicit=frozenset(_paths(doc)),
    )


_EKS_SECTION = "eks"
"""The section :class:`EksSettings` is built from, for the topology that reads it."""


def _event_archive(archive: dict[str, Any], tier: str, read: bool) -> EventArchiveSettings:
    """On by default in the tiers of ``defaults.EVENT_ARCHIVE_ENABLED_IN``, where the topology archives at all."""
    return EventArchiveSettings(
        enabled=archive.get("enabled", read and tier in defaults.EVENT_ARCHIVE_ENABLED_IN),
        transition_days=archive.get("transition_days", defaults.EVENT_ARCHIVE_TRANSITION_DAYS),
        transition_storage_class=archive.get(
            "transition_storage_class", defaults.EVENT_ARCHIVE_TRANSITION_STORAGE_CLASS
        ),
        expiration_days=archive.get("expiration_days", defaults.EVENT_ARCHIVE_EXPIRATION_DAYS),
    )


def _degraded_mode(degraded: dict[str, Any]) -> DegradedModeSettings:
    return DegradedModeSettings(
        crash_threshold=degraded.get("crash_threshold", defaults.CRASH_THRESHOLD),
        window_seconds=degraded.get("window_seconds", defaults.CRASH_WINDOW_SECONDS),
    )


def _eks(eks: dict[str, Any]) -> EksSettings:
    nodes = {**defaults.EKS_NODES_PER_AZ, **(eks.get("nodes_per_az") or {})}
    transformer_min, transformer_max = defaults.EKS_TRANSFORMER_REPLICAS
    return EksSettings(
        kubernetes_version=eks.get("kubernetes_version", defaults.EKS_KUBERNETES_VERSION),
        endpoint_public_access=eks.get("endpoint_public_access", False),
        public_access_cidrs=tuple(eks.get("public_access_cidrs", ())),
        admin_principal_arns=tuple(eks.get("admin_principal_arns", ())),
        node_instance_type=eks.get("node_instance_type", defaults.EKS_NODE_INSTANCE_TYPE),
        nodes_min_per_az=nodes["min"],
        nodes_max_per_az=nodes["max"],
        nodes_desired_per_az=nodes["desired"],
        node_volume_size_gib=eks.get("node_volume_size_gib", defaults.EKS_NODE_VOLUME_SIZE_GIB),
        backend_replica_count=eks.get("backend_replica_count", defaults.EKS_BACKEND_REPLICA_COUNT),
        termination_grace_period_seconds=eks.get(
            "termination_grace_period_seconds", defaults.EKS_TERMINATION_GRACE_PERIOD_SECONDS
        ),
        transformer_min_replicas=eks.get("transformer_min_replicas", transformer_min),
        transformer_max_replicas=eks.get("transformer_max_replicas", transformer_max),
        jobsdb_volume_size_gib=eks.get("jobsdb_volume_size_gib", defaults.EKS_JOBSDB_VOLUME_SIZE_GIB),
        resources=_eks_resources(eks.get("resources") or {}),
    )


def _eks_resources(resources: dict[str, Any]) -> EksResources:
    """Each container's four quantities: the file's where it sets them, ``defaults.EKS_RESOURCES`` elsewhere."""
    return EksResources(
        **{
            container: ContainerResources(**{**values, **(resources.get(container) or {})})
            for container, values in defaults.EKS_RESOURCES.items()
        }
    )


def _image_pipeline(pipeline: dict[str, Any]) -> ImagePipelineSettings:
    return ImagePipelineSettings(
        enabled=pipeline.get("enabled", False),
        schedule=pipeline.get("schedule", defaults.IMAGE_PIPELINE_SCHEDULE),
        build_instance_type=pipeline.get("build_instance_type", defaults.IMAGE_BUILD_INSTANCE_TYPE),
    )


def _jobsdb(jobsdb: dict[str, Any], tier: str) -> JobsdbSettings:
    prod = tier == "prod"
    return JobsdbSettings(
        mode=jobsdb.get("mode", "rds" if prod else "instance"),
        instance_class=jobsdb.get("instance_class", defaults.RDS_INSTANCE_CLASS),
        engine_version=jobsdb.get("engine_version", defaults.RDS_ENGINE_VERSION),
        allocated_storage_gib=jobsdb.get("allocated_storage_gib", defaults.RDS_ALLOCATED_STORAGE_GIB),
        max_allocated_storage_gib=jobsdb.get("max_allocated_storage_gib", defaults.RDS_MAX_ALLOCATED_STORAGE_GIB),
        backup_retention_days=jobsdb.get("backup_retention_days", defaults.RDS_BACKUP_RETENTION_DAYS),
        multi_az=jobsdb.get("multi_az", True),
        deletion_protection=jobsdb.get("deletion_protection", prod),
        kms_key_arn=jobsdb.get("kms_key_arn"),
    )


def _failover(failover: dict[str, Any]) -> FailoverSettings:
    mode = failover.get("mode", defaults.FAILOVER_MODE)
    ttl = defaults.HOT_STANDBY_LEASE_TTL_SECONDS if mode == "hot_standby" else defaults.FENCE_LEASE_TTL_SECONDS
    return FailoverSettings(mode=mode, lease_ttl_seconds=failover.get("lease_ttl_seconds", ttl))


def _drain(drain: dict[str, Any]) -> DrainSettings:
    return DrainSettings(
        deadline_seconds=drain.get("deadline_seconds", defaults.DRAIN_DEADLINE_SECONDS),
        poll_interval_seconds=drain.get("poll_interval_seconds", defaults.DRAIN_POLL_INTERVAL_SECONDS),
        abandon_after_deadline=drain.get("abandon_after_deadline", False),
    )


def _alerting(alerting: dict[str, Any]) -> AlertingSettings:
    t = alerting.get("thresholds") or {}
    return AlertingSettings(
        thresholds=AlertThresholds(
            alb_5xx_percent=t.get("alb_5xx_percent", defaults.ALB_5XX_PERCENT),
            target_response_time_seconds=t.get("target_response_time_seconds", defaults.TARGET_RESPONSE_TIME_SECONDS),
            backlog_oldest_age_seconds=t.get("backlog_oldest_age_seconds", defaults.BACKLOG_OLDEST_AGE_SECONDS),
            probe_failures=t.get("probe_failures", defaults.PROBE_FAILURES),
            degraded_probes=t.get("degraded_probes", defaults.DEGRADED_PROBES),
        ),
        pagerduty_routing_key=alerting.get("pagerduty_routing_key"),
        victorops_url=alerting.get("victorops_url"),
        slack_webhook_url=alerting.get("slack_webhook_url"),
        secrets_kms_key_arn=alerting.get("secrets_kms_key_arn"),
    )


def check(doc: Any, label: str, stem: str = "") -> tuple[EnvironmentConfig | None, list[Problem]]:
    """An already-parsed document's typed settings and every problem in it: what every value obeys
    (:mod:`rudder_ha.config.hygiene`) first, then the schema, then the document rules; only a document that
    passes all three is built (defaults applied) and handed to the settings rules. The settings are None
    when there is any problem."""
    found = [Problem(label, path, msg) for path, msg in hygiene_problems(doc)]
    if found:
        return None, found
    found = [Problem(label, path, msg) for path, msg in schema_problems(doc)]
    if found:
        return None, found
    found = [Problem(label, path, msg) for path, msg in document_problems(doc, stem)]
    if found:
        return None, found
    config = _build(doc, label)
    found = [Problem(label, path, msg) for path, msg in settings_problems(config)]
    return (None if found else config), found


def problems_in(doc: Any, label: str, stem: str = "") -> list[Problem]:
    """Every problem in an already-parsed document (see :func:`check`)."""
    return check(doc, label, stem)[1]


def load_environment(path: str | Path) -> EnvironmentConfig:
    """Reads, validates and defaults one environment file; raises ConfigError listing every problem."""
    path = Path(path)
    doc = _read_document(path)
    config, problems = check(doc, str(path), path.stem)
    if config is None:
        raise ConfigError(problems)
    return config


def load_environments(paths: Iterable[str | Path]) -> list[EnvironmentConfig]:
    """Loads several files; raises one ConfigError with the problems of all of them."""
    configs: list[EnvironmentConfig] = []
    problems: list[Problem] = []
    for path in paths:
        try:
            configs.append(load_environment(path))
        except ConfigError as exc:
            problems.extend(exc.problems)
    problems.extend(cross_file_problems(configs))
    if problems:
        raise ConfigError(problems)
    return configs


def cross_file_problems(configs: Iterable[EnvironmentConfig]) -> list[Problem]:
    """What environments loaded together must not share: their names, and any Terraform state object
    (bucket and key, each of a topology's stacks counted: ``Topology.state_keys``)."""
    configs = list(configs)
    problems: list[Problem] = []
    names = [c.environment for c in configs]
    for config in configs:
        if names.count(config.environment) > 1:
            problems.append(Problem(config.source, "environment", "is used by another file too; names must be unique"))
    owners: dict[tuple[str, str], EnvironmentConfig] = {}
    for config in configs:
        for key in registry.named(config.topology).state_keys(config.state.key):
            other = owners.setdefault((config.state.bucket, key), config)
            if other is config or other.environment == config.environment:
                continue
            for mine, theirs in ((config, other), (other, config)):
                problems.append(
                    Problem(
                        mine.source,
                        "state.key",
                        f"puts state at s3://{mine.state.bucket}/{key}, where environment {theirs.environment} "
                        f"({theirs.source}) keeps its own; give each environment its own key",
                    )
                )
    return problems


def shipped_environment_files(directory: Path = ENVIRONMENTS_DIR) -> list[Path]:
    """The environment files in ``environments/``, sorted by name."""
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())

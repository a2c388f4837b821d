"""Typed, fully defaulted settings of one environment.

The loader (``rudder_ha.config.loader``) builds these from a validated environment file; every
construct takes its props from here, so nothing downstream re-reads raw YAML or guesses defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rudder_ha.config.versions import Release, server_release

Tier = Literal["dev", "staging", "prod"]
Topology = Literal["single_node", "eks"]

GATEWAY_PORT = 8080
"""rudder-server's gateway: event intake and ``GET /health``."""
TRANSFORMER_PORT = 9090
"""rudder-transformer's HTTP port (reached by the backend on the same host)."""
HEALTH_PATH = "/health"


@dataclass(frozen=True)
class StateSettings:
    """Terraform S3 remote state; locking uses S3-native lock files (Terraform >= 1.10)."""

    bucket: str
    key: str
    region: str
    kms_key_id: str | None = None


@dataclass(frozen=True)
class NetworkSettings:
    """Either a new VPC (``vpc_id`` is None) or an existing VPC and its subnets."""

    availability_zones: tuple[str, ...]
    vpc_cidr: str | None
    public_subnet_cidrs: tuple[str, ...]
    private_subnet_cidrs: tuple[str, ...]
    nat_gateways: Literal["single", "one_per_az"]
    flow_logs_retention_days: int
    vpc_id: str | None = None
    public_subnet_ids: tuple[str, ...] = ()
    private_subnet_ids: tuple[str, ...] = ()

    @property
    def creates_vpc(self) -> bool:
        """True when the stack builds its own VPC."""
        return self.vpc_id is None


@dataclass(frozen=True)
class LoadBalancerSettings:
    """The public ALB in front of the gateway."""

    http_only: bool
    ssl_policy: str
    deletion_protection: bool
    idle_timeout_seconds: int
    ingress_cidrs: tuple[str, ...]
    access_logs_retention_days: int
    domain_name: str | None = None
    certificate_arn: str | None = None
    waf_web_acl_arn: str | None = None
    hosted_zone_id: str | None = None
    """The Route 53 hosted zone that gets an A alias record ``domain_name`` -> the ALB; None: no record (the
    domain is pointed at the ALB by hand)."""


@dataclass(frozen=True)
class HealthCheckSettings:
    """Target-group health check of ``GET /health`` on the gateway port."""

    interval_seconds: int
    timeout_seconds: int
    healthy_threshold: int
    unhealthy_threshold: int
    deregistration_delay_seconds: int

    @property
    def detection_seconds(self) -> int:
        """Worst-case time for the ALB to mark a dead target unhealthy."""
        return self.interval_seconds * self.unhealthy_threshold

    @property
    def healthy_after_seconds(self) -> int:
        """Time a recovered target needs to pass the healthy threshold."""
        return self.interval_seconds * self.healthy_threshold


@dataclass(frozen=True)
class InstanceSettings:
    """What the launch template starts."""

    instance_type: str
    architecture: Literal["x86_64", "arm64"]
    ami: str
    root_volume_size_gib: int
    root_volume_iops: int
    root_volume_throughput_mibps: int
    ebs_kms_key_arn: str | None = None


@dataclass(frozen=True)
class WarmPoolSettings:
    """An optional pre-initialised spare so a replacement skips the cold boot."""

    enabled: bool
    pool_state: Literal["Stopped", "Running", "Hibernated"]
    min_size: int


@dataclass(frozen=True)
class LifecycleHookSettings:
    """The terminating lifecycle hook the drain pipeline completes."""

    heartbeat_timeout_seconds: int
    default_result: Literal["CONTINUE", "ABANDON"]

    @property
    def global_timeout_seconds(self) -> int:
        """AWS caps a lifecycle action at 100 heartbeat timeouts or 48 hours, whichever is smaller."""
        return min(100 * self.heartbeat_timeout_seconds, 172_800)


@dataclass(frozen=True)
class FailoverSettings:
    """How a failed data plane is replaced (README "Failover")."""

    mode: Literal["replace", "hot_standby"] = "replace"
    lease_ttl_seconds: int = 30
    """The jobsdb lease (rds mode): renewed every sixth of it; a silent holder loses it this long after."""

    @property
    def hot_standby(self) -> bool:
        """Two instances: one holds the jobsdb lease and serves, the other waits for it, already booted."""
        return self.mode == "hot_standby"

    @property
    def group_size(self) -> int:
        """min = max = desired of the autoscaling group."""
        return 2 if self.hot_standby else 1


@dataclass(frozen=True)
class AutoscalingSettings:
    """The autoscaling group: exactly one instance, or a holder and a hot standby (``failover``)."""

    health_check_grace_period_seconds: int
    default_instance_warmup_seconds: int
    warm_pool: WarmPoolSettings
    lifecycle_hook: LifecycleHookSettings
    failover: FailoverSettings = field(default_factory=FailoverSettings)


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: an SSM SecureString parameter or a Secrets Manager secret, never its value."""

    ssm_parameter: str | None = None
    secrets_manager_arn: str | None = None
    kms_key_arn: str | None = None

    @property
    def kind(self) -> Literal["ssm", "secretsmanager"]:
        """Which service holds the secret."""
        return "ssm" if self.ssm_parameter else "secretsmanager"


@dataclass(frozen=True)
class RudderSettings:
    """The data-plane software and where it finds its control plane."""

    backend_image: str
    transformer_image: str
    postgres_image: str
    control_plane_url: str
    workspace_token: SecretRef
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def server_version(self) -> Release | None:
        """The rudder-server release ``backend_image`` names (validation refuses one outside the supported
        range): what anything that behaves differently per release reads, never the image string itself."""
        return server_release(self.backend_image)


@dataclass(frozen=True)
class DrillSettings:
    """What the stack defines for ``rudder-ha drill`` (README: "Measuring it: `drill`")."""

    az_loss_experiment: bool
    """The FIS experiment templates (one per private subnet's zone) and role the az-loss drill starts."""


@dataclass(frozen=True)
class EventArchiveSettings:
    """rudder-server's archiver copies every gateway job to an S3 bucket of this environment, from which
    events can be re-sent after a jobsdb loss (README: "Replay after a jobsdb loss")."""

    enabled: bool
    transition_days: int
    transition_storage_class: Literal["STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER"]
    expiration_days: int


@dataclass(frozen=True)
class ImagePipelineSettings:
    """EC2 Image Builder baking of ``ami/`` into an AMI."""

    enabled: bool
    schedule: str
    build_instance_type: str


@dataclass(frozen=True)
class JobsdbSettings:
    """Where rudder-server's PostgreSQL lives: on the instance, or on a Multi-AZ RDS instance."""

    mode: Literal["instance", "rds"]
    instance_class: str
    engine_version: str
    allocated_storage_gib: int
    max_allocated_storage_gib: int
    backup_retention_days: int
    multi_az: bool
    deletion_protection: bool
    kms_key_arn: str | None = None

    @property
    def on_rds(self) -> bool:
        """True when the jobsdb survives the instance."""
        return self.mode == "rds"


@dataclass(frozen=True)
class ContainerResources:
    """One EKS container's requests and limits, as Kubernetes quantities (``500m``, ``2``, ``4Gi``)."""

    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str


@dataclass(frozen=True)
class EksResources:
    """Requests and limits of the EKS workload's containers (``eks.resources``), by container."""

    backend: ContainerResources
    transformer: ContainerResources
    postgres: ContainerResources
    drain: ContainerResources
    """The drain agent and the backlog-metrics sidecar, each with these values."""


@dataclass(frozen=True)
class EksSettings:
    """The EKS topology's cluster and workload sizing."""

    kubernetes_version: str
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    admin_principal_arns: tuple[str, ...]
    node_instance_type: str
    nodes_min_per_az: int
    nodes_max_per_az: int
    nodes_desired_per_az: int
    node_volume_size_gib: int
    backend_replica_count: int
    termination_grace_period_seconds: int
    transformer_min_replicas: int
    transformer_max_replicas: int
    jobsdb_volume_size_gib: int
    resources: EksResources


@dataclass(frozen=True)
class DrainSettings:
    """The drain-before-terminate pipeline."""

    deadline_seconds: int
    poll_interval_seconds: int
    abandon_after_deadline: bool


@dataclass(frozen=True)
class AlertThresholds:
    """When the alarms fire."""

    alb_5xx_percent: float
    target_response_time_seconds: float
    backlog_oldest_age_seconds: int
    probe_failures: int
    degraded_probes: int


@dataclass(frozen=True)
class AlertingSettings:
    """Receivers (by secret reference: an SSM parameter name or a Secrets Manager ARN) and thresholds."""

    thresholds: AlertThresholds
    pagerduty_routing_key: str | None = None
    victorops_url: str | None = None
    slack_webhook_url: str | None = None
    secrets_kms_key_arn: str | None = None

    @property
    def secret_refs(self) -> tuple[str, ...]:
        """Every configured receiver secret."""
        return tuple(r for r in (self.pagerduty_routing_key, self.victorops_url, self.slack_webhook_url) if r)


@dataclass(frozen=True)
class DegradedModeSettings:
    """rudder-server's old degraded mode, kept on the instance by ``rudder-crash-guard``: after
    ``crash_threshold`` crashes within ``window_seconds`` the backend runs gateway only (events stored,
    nothing forwarded) until an operator resets it."""

    crash_threshold: int
    window_seconds: int


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything one environment's stacks are built from."""

    source: str
    environment: str
    tier: Tier
    topology: Topology
    region: str
    allowed_account_ids: tuple[str, ...]
    tags: dict[str, str]
    state: StateSettings
    network: NetworkSettings
    load_balancer: LoadBalancerSettings
    health_check: HealthCheckSettings
    instance: InstanceSettings
    autoscaling: AutoscalingSettings
    rudder: RudderSettings
    drain: DrainSettings
    alerting: AlertingSettings
    image_pipeline: ImagePipelineSettings
    jobsdb: JobsdbSettings
    degraded_mode: DegradedModeSettings
    event_archive: EventArchiveSettings
    drill: DrillSettings = DrillSettings(az_loss_experiment=False)
    eks: EksSettings | None = None
    explicit: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """The dotted paths of every setting the file itself sets (``jobsdb.instance_class``), for the rules
    that refuse a setting that does nothing; every value above has its default applied."""

    def sets(self, path: str) -> bool:
        """True when the file itself sets ``path`` (or something below it)."""
        return path in self.explicit

    @property
    def name_prefix(self) -> str:
        """Prefix for resource names: ``rudder-ha-<environment>``."""
        return f"rudder-ha-{self.environment}"

    @property
    def is_prod(self) -> bool:
        """True for the prod tier."""
        return self.tier == "prod"

    def summary(self) -> str:
        """One line describing the environment, for ``validate``."""
        net = (
            f"{len(self.network.availability_zones)} AZs, new VPC {self.network.vpc_cidr}"
            if self.network.creates_vpc
            else f"{len(self.network.private_subnet_ids)} private subnets of existing {self.network.vpc_id}"
        )
        listener = "HTTP only" if self.load_balancer.http_only else self.load_balancer.ssl_policy
        if self.eks is not None:
            return (
                f"{self.environment} ({self.tier}, eks {self.eks.kubernetes_version}) in {self.region}: {net}, "
                f"{self.eks.node_instance_type} nodes, {self.eks.backend_replica_count} backend replicas, {listener}"
            )
        return (
            f"{self.environment} ({self.tier}, {self.topology}) in {self.region}: "
            f"{net}, {self.instance.instance_type}"
            f"{' with a hot standby' if self.autoscaling.failover.hot_standby else ''}, "
            f"health check every {self.health_check.interval_seconds}s x{self.health_check.unhealthy_threshold}, "
            f"{listener}"
        )

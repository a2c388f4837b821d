"""Typed settings of the EKS workload: everything the manifests are rendered from.

One frozen dataclass per concern, in the style of ``rudder_ha.config.model``. Every field has a
default chosen for production except the values that only the environment can know (images,
region, zones, control plane, token reference, certificate); where the environment file has the same
setting, the default is the configuration's own (``rudder_ha.config.defaults``), so the two cannot
differ. ``WorkloadSettings`` checks the
cross-field rules that a manifest cannot express (for example that the drain budget fits inside the
termination grace period) and raises ``ValueError`` with a message naming the field.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Literal

from rudder_ha.config import defaults
from rudder_ha.config.model import HEALTH_PATH, SecretRef
from rudder_ha.config.rules import timeout_below_interval

QUANTITY_RE = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$")
"""A Kubernetes resource quantity as this project writes them (``500m``, ``2``, ``4Gi``)."""
SUPPORTED_KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35", "1.36")
"""The Kubernetes versions Amazon EKS supports on 2026-12-06, standard or extended support (EKS user guide,
"Understand the Kubernetes version lifecycle on EKS": 14 months standard, then 12 months extended): 1.31's
extended support ended on 2026-11-26, 1.32's ends on 2027-03-23, 1.36 reached EKS on 2026-06-02. All are
past the manifests' own floor (native sidecars: 1.29; the preStop sleep action: 1.30). Revisit when EKS
adds or retires a version."""
TLS13_POLICY_RE = re.compile(r"^ELBSecurityPolicy-TLS13-")
HTTPS_PORT = 443
DNS_PORT = 53


def _check_quantity(value: str, what: str) -> None:
    """Refuse anything that is not a plain resource quantity."""
    if not QUANTITY_RE.match(value):
        raise ValueError(f"{what}: {value!r} is not a Kubernetes quantity such as 500m, 2 or 4Gi")


def _cpu_millis(value: str) -> float:
    """A CPU quantity in millicores (``500m`` -> 500, ``2`` -> 2000)."""
    return float(value[:-1]) if value.endswith("m") else float(value) * 1000


_MEMORY_FACTORS = {
    "": 1,
    "m": 10**-3,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def _memory_bytes(value: str) -> float:
    """A memory quantity in bytes (``512Mi``, ``2Gi``)."""
    match = re.match(r"^([0-9.]+)([a-zA-Z]*)$", value)
    assert match and match.group(2) in _MEMORY_FACTORS, value
    return float(match.group(1)) * _MEMORY_FACTORS[match.group(2)]


@dataclass(frozen=True)
class ResourceSettings:
    """Requests and limits of one container: both, for CPU and for memory.

    A memory limit kills a runaway process instead of letting it starve its neighbours. A CPU limit bounds
    what one container takes from the node's spare CPU, so a busy transformer or a PostgreSQL vacuum cannot
    slow the gateway of the pod next to it, and a node sized for its pods' limits is never overcommitted
    by more than the limits say. The defaults keep the limits well above the requests: normal bursts are
    not throttled, only a container that keeps the node busy is.
    """

    cpu_request: str
    memory_request: str
    memory_limit: str
    cpu_limit: str

    def __post_init__(self) -> None:
        for name in ("cpu_request", "memory_request", "memory_limit", "cpu_limit"):
            _check_quantity(getattr(self, name), name)
        for name, amount in (
            ("cpu_request", _cpu_millis(self.cpu_request)),
            ("cpu_limit", _cpu_millis(self.cpu_limit)),
            ("memory_request", _memory_bytes(self.memory_request)),
            ("memory_limit", _memory_bytes(self.memory_limit)),
        ):
            if amount <= 0:
                raise ValueError(f"{name}: {getattr(self, name)!r} is zero; use a size above zero")
        if _cpu_millis(self.cpu_limit) < _cpu_millis(self.cpu_request):
            raise ValueError(f"cpu_limit {self.cpu_limit} is below cpu_request {self.cpu_request}")
        if _memory_bytes(self.memory_limit) < _memory_bytes(self.memory_request):
            raise ValueError(f"memory_limit {self.memory_limit} is below memory_request {self.memory_request}")

    def to_k8s(self) -> dict[str, dict[str, str]]:
        """The container's ``resources`` field."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


def default_resources(container: str) -> ResourceSettings:
    """A container's default requests and limits (``defaults.EKS_RESOURCES``, where each is explained)."""
    return ResourceSettings(**defaults.EKS_RESOURCES[container])


@dataclass(frozen=True)
class JobsdbVolumeSettings:
    """Each backend pod's jobsdb volume and the encrypted gp3 StorageClass it is made from."""

    size: str = "100Gi"
    storage_class_name: str = "rudder-jobsdb-gp3-encrypted"
    kms_key_arn: str | None = None
    """None: the account's default EBS key (aws/ebs); still encrypted."""
    iops: int | None = None
    """gp3 IOPS; None keeps the gp3 baseline (3000)."""
    throughput_mibps: int | None = None
    """gp3 throughput; None keeps the gp3 baseline (125 MiB/s)."""

    def __post_init__(self) -> None:
        _check_quantity(self.size, "jobsdb_volume.size")
        if self.iops is not None and not 3000 <= self.iops <= 16000:
            raise ValueError("jobsdb_volume.iops: gp3 allows 3000-16000")
        if self.throughput_mibps is not None and not 125 <= self.throughput_mibps <= 1000:
            raise ValueError("jobsdb_volume.throughput_mibps: gp3 allows 125-1000")


@dataclass(frozen=True)
class TransformerScaling:
    """The transformer's HorizontalPodAutoscaler (autoscaling/v2, CPU utilisation of the requests)."""

    min_replicas: int = 2
    max_replicas: int = 8
    target_cpu_utilization_percent: int = 70
    scale_down_stabilization_seconds: int = 300

    def __post_init__(self) -> None:
        if self.min_replicas < 1 or self.max_replicas < self.min_replicas:
            raise ValueError("transformer_scaling: need 1 <= min_replicas <= max_replicas")
        if not 1 <= self.target_cpu_utilization_percent <= 100:
            raise ValueError("transformer_scaling.target_cpu_utilization_percent: 1-100")


@dataclass(frozen=True)
class DrainSettings:
    """How a terminating backend pod drains its jobsdb before rudder-server gets SIGTERM."""

    settle_seconds: int = 20
    """Wait after termination starts (the pod has left the Service endpoints) before checking, so the
    ALB has deregistered the target and no new event can arrive after a 'drained' answer."""
    poll_interval_seconds: int = 15
    check_timeout_seconds: int = 20
    """rudder-drain-check --timeout: connect and statement timeout of one check."""
    shutdown_reserve_seconds: int = 60
    """Part of the grace period kept for after the drain: rudder-server's own graceful shutdown
    (15 s), then the drain agent and PostgreSQL stopping."""

    def __post_init__(self) -> None:
        for name in ("settle_seconds", "poll_interval_seconds", "check_timeout_seconds", "shutdown_reserve_seconds"):
            if getattr(self, name) < 1:
                raise ValueError(f"drain.{name} must be at least 1")
        if self.shutdown_reserve_seconds < 30:
            raise ValueError("drain.shutdown_reserve_seconds: keep at least 30 s for rudder-server's 15 s shutdown")


@dataclass(frozen=True)
class IngressSettings:
    """The ALB that the AWS Load Balancer Controller builds from the Ingress."""

    certificate_arn: str
    ssl_policy: str = defaults.SSL_POLICY
    scheme: Literal["internet-facing", "internal"] = "internet-facing"
    host: str | None = None
    """None: every host name reaching the ALB is routed to the gateway."""
    health_check_path: str = HEALTH_PATH
    health_check_interval_seconds: int = defaults.HEALTH_CHECK_INTERVAL_SECONDS
    health_check_timeout_seconds: int = defaults.HEALTH_CHECK_TIMEOUT_SECONDS
    healthy_threshold: int = defaults.HEALTHY_THRESHOLD
    unhealthy_threshold: int = defaults.UNHEALTHY_THRESHOLD
    deregistration_delay_seconds: int = defaults.DEREGISTRATION_DELAY_SECONDS
    idle_timeout_seconds: int = defaults.IDLE_TIMEOUT_SECONDS
    ingress_cidrs: tuple[str, ...] = defaults.INGRESS_CIDRS
    deletion_protection: bool = True
    load_balancer_name: str | None = None
    access_logs_bucket: str | None = None
    waf_web_acl_arn: str | None = None

    def __post_init__(self) -> None:
        if not self.certificate_arn.startswith("arn:aws") or ":acm:" not in self.certificate_arn:
            raise ValueError("ingress.certificate_arn: an ACM certificate ARN is required (HTTPS only)")
        if not TLS13_POLICY_RE.match(self.ssl_policy):
            raise ValueError("ingress.ssl_policy: use a TLS 1.3 policy (ELBSecurityPolicy-TLS13-...)")
        problem = timeout_below_interval(self.health_check_interval_seconds, self.health_check_timeout_seconds)
        if problem:
            raise ValueError(f"ingress.health_check_timeout_seconds: {problem}")
        if not self.health_check_path.startswith("/"):
            raise ValueError("ingress.health_check_path must start with /")
        if not self.ingress_cidrs:
            raise ValueError("ingress.ingress_cidrs: name at least one CIDR")
        for cidr in self.ingress_cidrs:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"ingress.ingress_cidrs: {cidr!r}: {exc}") from None


@dataclass(frozen=True)
class WorkloadSettings:
    """Everything the EKS manifests of one environment are rendered from."""

    region: str
    zones: tuple[str, ...]
    backend_image: str
    transformer_image: str
    postgres_image: str
    """Official PostgreSQL image (Debian variant: the postgres user is uid 999, see ``postgres_uid``)."""
    drain_image: str
    """An image with python3 (>= 3.9) and psql for the drain agent, e.g. built from
    ``rudder_ha/topologies/eks/k8s/images/jobsdb-tools/Dockerfile``."""
    control_plane_url: str
    workspace_token: SecretRef
    ingress: IngressSettings
    namespace: str = "rudder"
    kubernetes_version: str = defaults.EKS_KUBERNETES_VERSION
    backend_replica_count: int = defaults.EKS_BACKEND_REPLICA_COUNT
    termination_grace_period_seconds: int = defaults.EKS_TERMINATION_GRACE_PERIOD_SECONDS
    """The drain budget: how long a terminating backend pod may take to empty its jobsdb."""
    jobsdb_volume: JobsdbVolumeSettings = field(default_factory=JobsdbVolumeSettings)
    extra_env: dict[str, str] = field(default_factory=dict)
    """rudder-server settings as environment variables (``RSERVER_*``, ``rudder.extra_env``), after the
    project's own variables; none may redefine one of them."""
    backend_tmp_size: str = "20Gi"
    """Size limit of rudder-server's RUDDER_TMPDIR (batch-router staging files), an emptyDir."""
    backend_resources: ResourceSettings = field(default_factory=lambda: default_resources("backend"))
    """rudder-server's GOMAXPROCS follows its CPU limit (rounded up), so the Go runtime does not schedule
    more threads than the limit lets run."""
    postgres_resources: ResourceSettings = field(default_factory=lambda: default_resources("postgres"))
    drain_resources: ResourceSettings = field(default_factory=lambda: default_resources("drain"))
    """The drain agent's and the backlog-metrics sidecar's (each container has these)."""
    transformer_resources: ResourceSettings = field(default_factory=lambda: default_resources("transformer"))
    transformer_scaling: TransformerScaling = field(default_factory=TransformerScaling)
    drain: DrainSettings = field(default_factory=DrainSettings)
    backend_uid: int = 10001
    """rudder-server's image runs as root by default; it needs no root, so it runs as this uid."""
    postgres_uid: int = 999
    """uid of the postgres user in ``postgres_image`` (999 in the Debian images, 70 in the Alpine ones)."""
    transformer_uid: int = 10001
    """Not the image's ``node`` user (uid 1000, which is ``ec2-user`` on Amazon Linux nodes): a uid no node
    account has. The image's files are readable by any user and the container writes only to its
    emptyDirs (``/tmp``, npm's cache and logs), so it needs no file of its own."""
    load_balancer_source_cidrs: tuple[str, ...] = ()
    """Where the ALB's nodes have their addresses (the CIDRs of the subnets the AWS Load Balancer Controller
    puts it in): the only sources a backend pod admits on the gateway port (the ALB reaches pods by their
    IPs, target type ``ip``, from its own addresses in these subnets). Required."""
    metrics_environment: str | None = None
    """The ``Environment`` dimension of the backlog metrics each backend pod publishes (a sidecar,
    :mod:`rudder_ha.topologies.eks.k8s.metrics`); None: no such sidecar."""
    backend_egress_ports: tuple[int, ...] = ()
    """TCP ports the backend may reach anywhere besides 443 (HTTPS: the control plane, AWS APIs and most
    destinations), for destinations that listen elsewhere (e.g. 5439 Redshift, 9092 Kafka, 5432 PostgreSQL).
    None by default: such destinations are opened deliberately, one port at a time."""

    def __post_init__(self) -> None:
        if self.kubernetes_version not in SUPPORTED_KUBERNETES_VERSIONS:
            raise ValueError(
                f"kubernetes_version: {self.kubernetes_version!r} is not a version EKS supports today; use one of "
                f"{', '.join(SUPPORTED_KUBERNETES_VERSIONS)} (quoted)"
            )
        if len(set(self.zones)) < 2 or len(set(self.zones)) != len(self.zones):
            raise ValueError("zones: name two or more distinct availability zones")
        if self.backend_replica_count < 1:
            raise ValueError("backend_replica_count must be at least 1")
        if bool(self.workspace_token.ssm_parameter) == bool(self.workspace_token.secrets_manager_arn):
            raise ValueError("workspace_token: name exactly one of ssm_parameter or secrets_manager_arn")
        if not self.control_plane_url.startswith("https://"):
            raise ValueError("control_plane_url must be an https:// URL")
        if self.drain_budget_seconds < self.drain.settle_seconds + self.drain.poll_interval_seconds:
            raise ValueError(
                "termination_grace_period_seconds is too short: it must cover drain.shutdown_reserve_seconds, "
                "drain.settle_seconds and at least one drain poll"
            )
        _check_quantity(self.backend_tmp_size, "backend_tmp_size")
        for name in ("backend_uid", "postgres_uid", "transformer_uid"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a non-root uid")
        if not self.load_balancer_source_cidrs:
            raise ValueError("load_balancer_source_cidrs: name the CIDRs the ALB reaches the backend pods from")
        for cidr in self.load_balancer_source_cidrs:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"load_balancer_source_cidrs: {cidr!r}: {exc}") from None
            if network.prefixlen == 0:
                raise ValueError(
                    f"load_balancer_source_cidrs: {cidr!r} would admit any address; name the ALB's subnets"
                )
        for port in self.backend_egress_ports:
            if not 1 <= port <= 65535 or port in (HTTPS_PORT, DNS_PORT):
                raise ValueError(f"backend_egress_ports: {port} is not a port, or is open already (443, 53)")

    @property
    def drain_budget_seconds(self) -> int:
        """How long the preStop hook may wait (settle plus drain), counted from termination start."""
        return self.termination_grace_period_seconds - self.drain.shutdown_reserve_seconds

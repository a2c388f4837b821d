"""An environment's EKS workload settings, mapped from its validated config.

``workload_settings(config)`` is the only place that decides how an ``EnvironmentConfig`` becomes a
``WorkloadSettings``: the workload stack renders its manifests from it and the tests compare the
applied manifests with ``render(workload_settings(config))``. What the config has no setting for
gets a documented default here (the ``DEFAULT_*`` names below), never a guess in a manifest module.
"""

from __future__ import annotations

from dataclasses import fields

from rudder_ha.config.model import HEALTH_PATH, ContainerResources, EnvironmentConfig
from rudder_ha.topologies.eks.k8s.settings import (
    IngressSettings,
    JobsdbVolumeSettings,
    ResourceSettings,
    TransformerScaling,
    WorkloadSettings,
)

DRAIN_IMAGE_REPOSITORY = "rudder-ha/jobsdb-tools"
"""Where the drain agent's image (``rudder_ha/topologies/eks/k8s/images/jobsdb-tools/Dockerfile``) is pushed: a
private ECR repository of the environment's account, tagged with the PostgreSQL image's tag so its
psql matches the jobsdb server. The config has no setting for it yet."""
ALPINE_POSTGRES_UID = 70
"""uid of the postgres user in the official Alpine images (the Debian ones use 999, the default)."""
ALB_NAME_MAX = 32
"""Elastic Load Balancing refuses longer load balancer names."""


def drain_image(config: EnvironmentConfig) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/rudder-ha/jobsdb-tools:<postgres tag>``.

    The account is the first of ``allowed_account_ids`` (the one the provider is pinned to); an
    environment without one cannot name its registry, so it is refused.
    """
    if not config.allowed_account_ids:
        raise ValueError(
            f"{config.environment}: allowed_account_ids: the eks topology needs the account whose ECR holds "
            f"the drain agent's image ({DRAIN_IMAGE_REPOSITORY})"
        )
    tag = config.rudder.postgres_image.rpartition(":")[2] if ":" in config.rudder.postgres_image else "latest"
    registry = f"{config.allowed_account_ids[0]}.dkr.ecr.{config.region}.amazonaws.com"
    return f"{registry}/{DRAIN_IMAGE_REPOSITORY}:{tag}"


def postgres_uid(image: str) -> int:
    """The postgres user's uid in ``image``: 70 in the Alpine variants, 999 in the Debian ones."""
    return ALPINE_POSTGRES_UID if "alpine" in image.rpartition(":")[2] else WorkloadSettings.postgres_uid


def ingress_settings(config: EnvironmentConfig) -> IngressSettings:
    """The ALB of the eks topology: the same listener, CIDRs and health check as the single-node one.

    The ALB's access logs stay off: the workload stack owns no log bucket (the single-node stack's
    bucket belongs to that topology), so ``access_logs_bucket`` keeps its default, None.
    """
    lb = config.load_balancer
    health = config.health_check
    if not lb.certificate_arn:
        raise ValueError(
            f"{config.environment}: load_balancer.certificate_arn: the eks topology's Ingress is HTTPS only"
        )
    return IngressSettings(
        certificate_arn=lb.certificate_arn,
        ssl_policy=lb.ssl_policy,
        host=lb.domain_name,
        health_check_interval_seconds=health.interval_seconds,
        health_check_timeout_seconds=health.timeout_seconds,
        healthy_threshold=health.healthy_threshold,
        unhealthy_threshold=health.unhealthy_threshold,
        deregistration_delay_seconds=health.deregistration_delay_seconds,
        idle_timeout_seconds=lb.idle_timeout_seconds,
        ingress_cidrs=tuple(lb.ingress_cidrs),
        deletion_protection=lb.deletion_protection,
        load_balancer_name=config.name_prefix if len(config.name_prefix) <= ALB_NAME_MAX else None,
        waf_web_acl_arn=lb.waf_web_acl_arn,
    )


def load_balancer_source_cidrs(config: EnvironmentConfig) -> tuple[str, ...]:
    """The public subnets' CIDRs: the internet-facing ALB's nodes have their addresses there (the cluster
    stack tags those subnets ``kubernetes.io/role/elb`` for the Load Balancer Controller), the pods do not
    (they run in the private subnets). An existing VPC's subnets are named by id only; their CIDRs are not
    in the config, so such an environment is refused rather than opened to its whole VPC."""
    cidrs = tuple(config.network.public_subnet_cidrs)
    if not cidrs:
        raise ValueError(
            f"{config.environment}: network.public_subnet_cidrs: the eks topology's NetworkPolicy admits the "
            "ALB by its subnets' CIDRs, which an existing VPC's subnet ids do not tell"
        )
    return cidrs


RESOURCES_SETTING = "eks.resources"
"""Where the containers' requests and limits are set."""


def container_resources(resources: ContainerResources, container: str) -> ResourceSettings:
    """``eks.resources.<container>`` as the container's ``ResourceSettings``.

    A ValueError names the setting at fault, ``eks.resources.<container>.<field>: <what is wrong>``, so both
    ``validate`` (:func:`rudder_ha.config.rules.eks_resources`) and synthesis report the same field.
    """
    try:
        return ResourceSettings(
            cpu_request=resources.cpu_request,
            memory_request=resources.memory_request,
            cpu_limit=resources.cpu_limit,
            memory_limit=resources.memory_limit,
        )
    except ValueError as exc:
        message = str(exc)
        names = [f.name for f in fields(ContainerResources)]
        field_name = next((n for n in names if message.startswith(n)), names[0])
        detail = message[len(field_name) :].lstrip(": ") if message.startswith(field_name) else message
        raise ValueError(f"{RESOURCES_SETTING}.{container}.{field_name}: {detail}") from None


def health_url(config: EnvironmentConfig) -> str:
    """What the health probe GETs: ``https://<load_balancer.domain_name>/health``, through the ALB like a
    client. The ALB's own DNS name is only known after the controller made it, so the name is required."""
    if not config.load_balancer.domain_name:
        raise ValueError(
            f"{config.environment}: load_balancer.domain_name: the eks topology's clients and health probe "
            "reach the Ingress's ALB by this name (point it at the ALB in DNS); set it"
        )
    return f"https://{config.load_balancer.domain_name}{HEALTH_PATH}"


def workload_settings(config: EnvironmentConfig) -> WorkloadSettings:
    """Everything the manifests of an ``eks`` environment are rendered from.

    The containers' requests and limits are ``eks.resources`` (defaults applied by the loader). Defaults
    kept from ``WorkloadSettings`` (no config setting yet): namespace ``rudder``, the drain timings, the
    transformer's CPU target, the uids. The jobsdb volumes use the account's default EBS key (the
    StorageClass names no key: the config does not know the cluster stack's key ARN).
    """
    eks = config.eks
    if eks is None:
        raise ValueError(f"{config.environment}: workload settings exist for topology eks only")
    rudder = config.rudder
    health_url(config)
    return WorkloadSettings(
        region=config.region,
        zones=tuple(config.network.availability_zones),
        backend_image=rudder.backend_image,
        transformer_image=rudder.transformer_image,
        postgres_image=rudder.postgres_image,
        drain_image=drain_image(config),
        control_plane_url=rudder.control_plane_url,
        extra_env=dict(rudder.extra_env),
        workspace_token=rudder.workspace_token,
        ingress=ingress_settings(config),
        kubernetes_version=eks.kubernetes_version,
        backend_replica_count=eks.backend_replica_count,
        termination_grace_period_seconds=eks.termination_grace_period_seconds,
        jobsdb_volume=JobsdbVolumeSettings(size=f"{eks.jobsdb_volume_size_gib}Gi"),
        transformer_scaling=TransformerScaling(
            min_replicas=eks.transformer_min_replicas, max_replicas=eks.transformer_max_replicas
        ),
        backend_resources=container_resources(eks.resources.backend, "backend"),
        transformer_resources=container_resources(eks.resources.transformer, "transformer"),
        postgres_resources=container_resources(eks.resources.postgres, "postgres"),
        drain_resources=container_resources(eks.resources.drain, "drain"),
        postgres_uid=postgres_uid(rudder.postgres_image),
        load_balancer_source_cidrs=load_balancer_source_cidrs(config),
        metrics_environment=config.environment,
    )

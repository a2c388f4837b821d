"""The single-node HA topology as a Pulumi program.

It reads the same ``environments/<env>.yaml`` through the same loader as the cdktf app, deploys the same
``lambdas/`` packages and the same ``ami/`` instance bundle, and composes the Pulumi twins of the cdktf
constructs (:mod:`rudder_ha.pulumi_components`) exactly as :class:`rudder_ha.stacks.single_node.SingleNodeStack`
composes the constructs. One Pulumi stack per environment: the stack's name is the environment's, unless
the stack sets ``rudder-ha:environment``.

Nothing here imports cdktf (the jsii runtime would add 10-15 s to every ``pulumi up``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from rudder_ha.config import ConfigError, EnvironmentConfig, Problem, load_environment
from rudder_ha.instance_bundle import build_bundle
from rudder_ha.pulumi_components.alerting import Alerting
from rudder_ha.pulumi_components.dashboard import OperationsDashboard
from rudder_ha.pulumi_components.drain_pipeline import DrainPipeline
from rudder_ha.pulumi_components.encryption_key import EncryptionKey
from rudder_ha.pulumi_components.image_pipeline import DataPlaneImagePipeline
from rudder_ha.pulumi_components.instance_artifacts import InstanceArtifacts
from rudder_ha.pulumi_components.instance_role import InstanceRole
from rudder_ha.pulumi_components.jobsdb_database import JobsdbDatabase
from rudder_ha.pulumi_components.load_balancer import DataPlaneLoadBalancer
from rudder_ha.pulumi_components.network import Network
from rudder_ha.pulumi_components.replacement import terraform_replacement_order
from rudder_ha.pulumi_components.single_node_group import SingleNodeGroup
from rudder_ha.specs import single_node as parts
from rudder_ha.tags import standard_tags

ENVIRONMENTS_DIR = Path(__file__).resolve().parents[1] / "environments"
ENVIRONMENT_SETTING = "environment"
"""Stack setting (``pulumi config set rudder-ha:environment prod``) naming the environment file."""


def load_stack_environment(
    stack: str, environment: str | None = None, environments_dir: Path = ENVIRONMENTS_DIR
) -> EnvironmentConfig:
    """The validated single-node configuration a Pulumi stack deploys.

    Raises :class:`ConfigError` (every line names the field and the fix) when the file is missing or
    invalid, or when it asks for the EKS topology, which only the cdktf app builds.
    """
    name = environment or stack
    path = environments_dir / f"{name}.yaml"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in environments_dir.glob("*.yaml"))) or "none"
        raise ConfigError(
            [
                Problem(
                    str(path),
                    "",
                    f"no environment file for Pulumi stack {stack!r} (environments: {shipped}); name the stack "
                    "after an environment (`pulumi stack init dev`) or set "
                    f"`pulumi config set rudder-ha:{ENVIRONMENT_SETTING} <environment>`",
                )
            ]
        )
    config = load_environment(path)
    if config.topology != "single_node":
        raise ConfigError(
            [
                Problem(
                    str(path),
                    "topology",
                    f"is {config.topology!r}, but the Pulumi program builds the single-node HA topology only; "
                    f"deploy it with cdktf (`make deploy ENV={config.environment}`), or set `topology: single_node`",
                )
            ]
        )
    return config


@dataclass
class SingleNodeDataPlane:
    """Every component of one environment's single-node topology, wired as the cdktf stack wires them."""

    config: EnvironmentConfig
    provider: aws.Provider
    key: EncryptionKey
    network: Network
    load_balancer: DataPlaneLoadBalancer
    jobsdb: JobsdbDatabase | None
    artifacts: InstanceArtifacts
    instance_role: InstanceRole
    data_plane: SingleNodeGroup
    alerting: Alerting
    drain: DrainPipeline
    dashboard: OperationsDashboard
    image_pipeline: DataPlaneImagePipeline | None

    def outputs(self) -> dict[str, Any]:
        """The same outputs as the cdktf stack, by the same names."""
        lb = self.load_balancer
        group = self.data_plane.group
        consoles = pulumi.Output.all(alb_arn=lb.alb.arn, target_group_arn=lb.target_group.arn, asg_name=group.name)
        urls = consoles.apply(lambda v: parts.console_urls(self.config.region, **v))
        values: dict[str, Any] = {
            "endpoint_url": lb.endpoint_url,
            "alb_dns_name": lb.alb.dns_name,
            "asg_name": group.name,
            "target_group_arn": lb.target_group.arn,
            "lifecycle_hook_name": self.data_plane.lifecycle_hook_name,
            "drain_queue_url": self.drain.queue.url,
            "drain_table_name": self.drain.table.name,
            **{name: urls[name] for name in ("alb_console_url", "target_group_console_url", "asg_console_url")},
            "alert_topic_arn": self.alerting.topic_arn,
            "dashboard_url": self.dashboard.console_url,
        }
        outputs = {name: values[name] for name in parts.OUTPUT_DESCRIPTIONS}
        if self.image_pipeline is not None:
            outputs[parts.IMAGE_PIPELINE_OUTPUT[0]] = self.image_pipeline.arn
        return outputs


def build(config: EnvironmentConfig) -> SingleNodeDataPlane:
    """Declares one environment's resources in the current Pulumi stack."""
    provider = aws.Provider(
        "aws",
        region=config.region,
        allowed_account_ids=list(config.allowed_account_ids) or None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=standard_tags(config, managed_by="pulumi")),
    )
    # Every component's resources get this provider and Terraform's replacement order.
    inherit = pulumi.ResourceOptions(provider=provider, transformations=[terraform_replacement_order])
    key = EncryptionKey("key", parts.key_props(config), inherit)
    network = Network("network", parts.network_props(config, log_key_arn=key.arn), inherit)
    lb = DataPlaneLoadBalancer(
        "load_balancer",
        parts.load_balancer_props(config, vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids),
        inherit,
    )
    jobsdb = None
    if config.jobsdb.on_rds:
        jobsdb = JobsdbDatabase(
            "jobsdb",
            parts.jobsdb_props(
                config, vpc_id=network.vpc_id, private_subnet_ids=network.private_subnet_ids, kms_key_arn=key.arn
            ),
            inherit,
        )
    bundle = build_bundle()
    artifacts = InstanceArtifacts(
        "artifacts", parts.artifacts_props(config, kms_key_arn=key.arn, bundle=bundle), inherit
    )
    instance_role = InstanceRole("instance_role", parts.instance_role_props(config), inherit)
    image_pipeline = None
    if config.image_pipeline.enabled:
        image_pipeline = DataPlaneImagePipeline(
            "image_pipeline",
            parts.image_pipeline_props(
                config,
                front_end="pulumi",
                kms_key_arn=key.arn,
                subnet_id=network.private_subnet_ids[0],
                vpc_id=network.vpc_id,
            ),
            inherit,
        )
    data_plane = SingleNodeGroup(
        "data_plane",
        parts.data_plane_props(
            config,
            front_end="pulumi",
            bundle=bundle,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            alb_security_group_id=lb.security_group.id,
            target_group_arn=lb.target_group.arn,
            instance_profile_arn=instance_role.profile.arn,
            # The first boot needs the bundle in place.
            preconditions=[*network.zone_preconditions, artifacts.bundle_object],
            # A baked image's launch template resolves the AMI parameter the first build writes.
            launch_template_depends_on=[image_pipeline.image] if image_pipeline is not None else [],
        ),
        inherit,
    )
    lb.allow_to(data_plane.security_group.id)
    artifacts.grant_read(instance_role.role.name)
    if jobsdb is not None:
        jobsdb.allow_from(data_plane.security_group.id)
        parameter, jobsdb_key = parts.jobsdb_grant(config, environment_key_arn=key.arn)
        instance_role.allow_jobsdb(parameter, jobsdb.master_secret_arn, jobsdb_key)
    alerting = Alerting(
        "alerting",
        parts.alerting_props(
            config,
            kms_key_arn=key.arn,
            health_url=lb.endpoint_url.apply(parts.health_url),
            alb_arn_suffix=lb.alb.arn_suffix,
            target_group_arn_suffix=lb.target_group.arn_suffix,
            asg_name=data_plane.group.name,
            instance_role_name=instance_role.role.name,
        ),
        inherit,
    )
    drain = DrainPipeline(
        "drain",
        parts.drain_props(
            config,
            kms_key_arn=key.arn,
            asg_name=data_plane.group_name,
            target_group_arn=lb.target_group.arn,
            alert_topic_arn=alerting.topic_arn,
        ),
        inherit,
    )
    alerting.watch_function("drain", drain.function.name, severity=parts.DRAIN_ALARMS_SEVERITY)
    alerting.watch_queue("drain", drain.dead_letter_queue.name, severity=parts.DRAIN_ALARMS_SEVERITY)
    dashboard = OperationsDashboard(
        "dashboard",
        parts.dashboard_props(
            config,
            alb_arn_suffix=lb.alb.arn_suffix,
            target_group_arn_suffix=lb.target_group.arn_suffix,
            asg_name=data_plane.group.name,
            alarm_arns=alerting.alarm_arns,
        ),
        inherit,
    )
    return SingleNodeDataPlane(
        config=config,
        provider=provider,
        key=key,
        network=network,
        load_balancer=lb,
        jobsdb=jobsdb,
        artifacts=artifacts,
        instance_role=instance_role,
        data_plane=data_plane,
        alerting=alerting,
        drain=drain,
        dashboard=dashboard,
        image_pipeline=image_pipeline,
    )


def main() -> None:
    """The program Pulumi runs (``pulumi-program/__main__.py``): load, validate, declare, export."""
    settings = pulumi.Config("rudder-ha")
    config = load_stack_environment(pulumi.get_stack(), settings.get(ENVIRONMENT_SETTING))
    for output, value in build(config).outputs().items():
        pulumi.export(output, value)

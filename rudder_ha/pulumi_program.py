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
from rudder_ha.config.model import HEALTH_PATH
from rudder_ha.image_component import bake_settings
from rudder_ha.instance_bundle import build_bundle
from rudder_ha.policies import console_url
from rudder_ha.pulumi_components.alerting import Alerting, AlertingProps
from rudder_ha.pulumi_components.dashboard import OperationsDashboard, OperationsDashboardProps
from rudder_ha.pulumi_components.drain_pipeline import DrainPipeline, DrainPipelineProps
from rudder_ha.pulumi_components.encryption_key import EncryptionKey, EncryptionKeyProps
from rudder_ha.pulumi_components.image_pipeline import DataPlaneImagePipeline, DataPlaneImagePipelineProps
from rudder_ha.pulumi_components.instance_artifacts import InstanceArtifacts, InstanceArtifactsProps
from rudder_ha.pulumi_components.instance_role import InstanceRole, InstanceRoleProps
from rudder_ha.pulumi_components.jobsdb_database import JobsdbDatabase, JobsdbDatabaseProps
from rudder_ha.pulumi_components.load_balancer import DataPlaneLoadBalancer, DataPlaneLoadBalancerProps
from rudder_ha.pulumi_components.network import Network, NetworkProps
from rudder_ha.pulumi_components.single_node_group import SingleNodeGroup, SingleNodeGroupProps
from rudder_ha.tags import standard_tags
from rudder_ha.user_data import encoded_user_data, jobsdb_parameter

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
        region = self.config.region
        lb = self.load_balancer
        group = self.data_plane.group
        ec2 = f"ec2/home?region={region}"
        outputs: dict[str, Any] = {
            "endpoint_url": lb.endpoint_url,
            "alb_dns_name": lb.alb.dns_name,
            "asg_name": group.name,
            "target_group_arn": lb.target_group.arn,
            "lifecycle_hook_name": self.data_plane.lifecycle_hook_name,
            "drain_queue_url": self.drain.queue.url,
            "drain_table_name": self.drain.table.name,
            "alb_console_url": lb.alb.arn.apply(
                lambda arn: console_url(region, f"{ec2}#LoadBalancer:loadBalancerArn={arn}")
            ),
            "target_group_console_url": lb.target_group.arn.apply(
                lambda arn: console_url(region, f"{ec2}#TargetGroup:targetGroupArn={arn}")
            ),
            "asg_console_url": group.name.apply(
                lambda name: console_url(region, f"{ec2}#AutoScalingGroupDetails:id={name};view=details")
            ),
            "alert_topic_arn": self.alerting.topic_arn,
            "dashboard_url": self.dashboard.console_url,
        }
        if self.image_pipeline is not None:
            outputs["image_pipeline_arn"] = self.image_pipeline.arn
        return outputs


def build(config: EnvironmentConfig) -> SingleNodeDataPlane:
    """Declares one environment's resources in the current Pulumi stack."""
    name = config.name_prefix
    provider = aws.Provider(
        "aws",
        region=config.region,
        allowed_account_ids=list(config.allowed_account_ids) or None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=standard_tags(config, managed_by="pulumi")),
    )
    inherit = pulumi.ResourceOptions(provider=provider)
    key = EncryptionKey("key", EncryptionKeyProps(name_prefix=name, region=config.region), inherit)
    network = Network("network", NetworkProps(name_prefix=name, settings=config.network, log_key_arn=key.arn), inherit)
    load_balancer = DataPlaneLoadBalancer(
        "load_balancer",
        DataPlaneLoadBalancerProps(
            name_prefix=name,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            settings=config.load_balancer,
            health_check=config.health_check,
        ),
        inherit,
    )
    jobsdb = None
    if config.jobsdb.on_rds:
        jobsdb = JobsdbDatabase(
            "jobsdb",
            JobsdbDatabaseProps(
                name_prefix=name,
                vpc_id=network.vpc_id,
                private_subnet_ids=network.private_subnet_ids,
                settings=config.jobsdb,
                kms_key_arn=key.arn,
                connection_parameter=jobsdb_parameter(config),
                final_snapshot=config.is_prod,
            ),
            inherit,
        )
    bundle = build_bundle()
    artifacts = InstanceArtifacts(
        "artifacts",
        InstanceArtifactsProps(
            name_prefix=name, environment=config.environment, region=config.region, kms_key_arn=key.arn, bundle=bundle
        ),
        inherit,
    )
    instance_role = InstanceRole(
        "instance_role",
        InstanceRoleProps(name_prefix=name, region=config.region, workspace_token=config.rudder.workspace_token),
        inherit,
    )
    image_pipeline = None
    if config.image_pipeline.enabled:
        image_pipeline = DataPlaneImagePipeline(
            "image_pipeline",
            DataPlaneImagePipelineProps(
                name_prefix=name,
                environment=config.environment,
                region=config.region,
                kms_key_arn=key.arn,
                subnet_id=network.private_subnet_ids[0],
                vpc_id=network.vpc_id,
                settings=config.image_pipeline,
                instance=config.instance,
                rudder=config.rudder,
                bake_settings=bake_settings(config),
                tags=standard_tags(config, managed_by="pulumi"),
            ),
            inherit,
        )
    data_plane = SingleNodeGroup(
        "data_plane",
        SingleNodeGroupProps(
            name_prefix=name,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            alb_security_group_id=load_balancer.security_group.id,
            target_group_arn=load_balancer.target_group.arn,
            instance_profile_arn=instance_role.profile.arn,
            user_data_base64=encoded_user_data(config, bundle),
            instance=config.instance,
            autoscaling=config.autoscaling,
            propagated_tags=standard_tags(config, managed_by="pulumi"),
            # The first boot needs the bundle in place.
            preconditions=[*network.zone_preconditions, artifacts.bundle_object],
            # A baked image's launch template resolves the AMI parameter the first build writes.
            launch_template_depends_on=[image_pipeline.image] if image_pipeline is not None else [],
        ),
        inherit,
    )
    load_balancer.allow_to(data_plane.security_group.id)
    artifacts.grant_read(instance_role.role.name)
    if jobsdb is not None:
        jobsdb.allow_from(data_plane.security_group.id)
        instance_role.allow_jobsdb(
            jobsdb_parameter(config), jobsdb.master_secret_arn, config.jobsdb.kms_key_arn or key.arn
        )
    alerting = Alerting(
        "alerting",
        AlertingProps(
            name_prefix=name,
            environment=config.environment,
            region=config.region,
            settings=config.alerting,
            kms_key_arn=key.arn,
            health_url=load_balancer.endpoint_url.apply(lambda url: f"{url}{HEALTH_PATH}"),
            alb_arn_suffix=load_balancer.alb.arn_suffix,
            target_group_arn_suffix=load_balancer.target_group.arn_suffix,
            asg_name=data_plane.group.name,
            instance_role_name=instance_role.role.name,
        ),
        inherit,
    )
    drain = DrainPipeline(
        "drain",
        DrainPipelineProps(
            name_prefix=name,
            environment=config.environment,
            region=config.region,
            settings=config.drain,
            kms_key_arn=key.arn,
            asg_names=[data_plane.group_name],
            target_group_arns=[load_balancer.target_group.arn],
            alert_topic_arn=alerting.topic_arn,
            jobsdb_mode=config.jobsdb.mode,
        ),
        inherit,
    )
    alerting.watch_function("drain", drain.function.name, severity="critical")
    alerting.watch_queue("drain", drain.dead_letter_queue.name, severity="critical")
    dashboard = OperationsDashboard(
        "dashboard",
        OperationsDashboardProps(
            name_prefix=name,
            environment=config.environment,
            region=config.region,
            alb_arn_suffix=load_balancer.alb.arn_suffix,
            target_group_arn_suffix=load_balancer.target_group.arn_suffix,
            asg_name=data_plane.group.name,
            thresholds=config.alerting.thresholds,
            alarm_arns=alerting.alarm_arns,
        ),
        inherit,
    )
    return SingleNodeDataPlane(
        config=config,
        provider=provider,
        key=key,
        network=network,
        load_balancer=load_balancer,
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

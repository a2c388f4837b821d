"""How the single-node HA topology is put together from one environment's configuration.

Both front ends compose the same parts (``rudder_ha.stacks.single_node`` in cdktf,
``rudder_ha.pulumi_program`` in Pulumi). Each part's props come from here, given the references the
front end holds (a Terraform token in cdktf, a ``pulumi.Output`` in Pulumi), so the two compositions can
only differ in how they hold references, never in what they pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rudder_ha.config.model import HEALTH_PATH, EnvironmentConfig
from rudder_ha.image_component import bake_settings
from rudder_ha.instance_bundle import InstanceBundle
from rudder_ha.policies import console_url
from rudder_ha.specs.alerting import AlertingProps
from rudder_ha.specs.dashboard import OperationsDashboardProps
from rudder_ha.specs.drain import DrainPipelineProps
from rudder_ha.specs.encryption_key import EncryptionKeyProps
from rudder_ha.specs.image_pipeline import DataPlaneImagePipelineProps
from rudder_ha.specs.instance_artifacts import InstanceArtifactsProps
from rudder_ha.specs.instance_role import InstanceRoleProps
from rudder_ha.specs.jobsdb_database import JobsdbDatabaseProps
from rudder_ha.specs.load_balancer import DataPlaneLoadBalancerProps
from rudder_ha.specs.network import NetworkProps
from rudder_ha.specs.refs import Ref
from rudder_ha.specs.single_node_group import SingleNodeGroupProps
from rudder_ha.tags import FrontEnd, standard_tags
from rudder_ha.user_data import encoded_user_data, jobsdb_parameter

DRAIN_ALARMS_SEVERITY = "critical"
"""The drain Lambda's errors and its dead letters page: a failed drain can lose accepted events."""

OUTPUT_DESCRIPTIONS = {
    "endpoint_url": "Where SDKs send events",
    "alb_dns_name": "The ALB's DNS name (point your domain's CNAME/alias here)",
    "asg_name": "The autoscaling group of one",
    "target_group_arn": "The gateway target group",
    "lifecycle_hook_name": "The terminating (drain) lifecycle hook",
    "drain_queue_url": "Lifecycle events and drain continuations",
    "drain_table_name": "Drain state, one item per lifecycle action",
    "alb_console_url": "The ALB in the AWS console",
    "target_group_console_url": "The target group's health in the AWS console",
    "asg_console_url": "The autoscaling group in the AWS console",
    "alert_topic_arn": "SNS topic every alarm and drain message goes to",
    "dashboard_url": "The environment's CloudWatch operations dashboard",
}
"""Every environment's outputs, by name, in both front ends (Pulumi exports the same names)."""
IMAGE_PIPELINE_OUTPUT = ("image_pipeline_arn", "The EC2 Image Builder pipeline that bakes the data-plane AMI")


def key_props(config: EnvironmentConfig) -> EncryptionKeyProps:
    return EncryptionKeyProps(name_prefix=config.name_prefix, region=config.region)


def network_props(config: EnvironmentConfig, *, log_key_arn: Ref) -> NetworkProps:
    return NetworkProps(name_prefix=config.name_prefix, settings=config.network, log_key_arn=log_key_arn)


def load_balancer_props(
    config: EnvironmentConfig, *, vpc_id: Ref, public_subnet_ids: Sequence[Ref]
) -> DataPlaneLoadBalancerProps:
    return DataPlaneLoadBalancerProps(
        name_prefix=config.name_prefix,
        vpc_id=vpc_id,
        public_subnet_ids=public_subnet_ids,
        settings=config.load_balancer,
        health_check=config.health_check,
    )


def jobsdb_props(
    config: EnvironmentConfig, *, vpc_id: Ref, private_subnet_ids: Sequence[Ref], kms_key_arn: Ref
) -> JobsdbDatabaseProps:
    """The RDS jobsdb (``jobsdb.mode: rds`` only)."""
    return JobsdbDatabaseProps(
        name_prefix=config.name_prefix,
        vpc_id=vpc_id,
        private_subnet_ids=private_subnet_ids,
        settings=config.jobsdb,
        kms_key_arn=kms_key_arn,
        connection_parameter=jobsdb_parameter(config),
        final_snapshot=config.is_prod,
    )


def jobsdb_grant(config: EnvironmentConfig, *, environment_key_arn: Ref) -> tuple[str, Ref]:
    """What the instance role needs to reach an RDS jobsdb: its connection parameter, and the key that
    encrypts the database's managed secret (the environment's unless the config names one)."""
    return jobsdb_parameter(config), config.jobsdb.kms_key_arn or environment_key_arn


def artifacts_props(config: EnvironmentConfig, *, kms_key_arn: Ref, bundle: InstanceBundle) -> InstanceArtifactsProps:
    return InstanceArtifactsProps(
        name_prefix=config.name_prefix,
        environment=config.environment,
        region=config.region,
        kms_key_arn=kms_key_arn,
        bundle=bundle,
    )


def instance_role_props(config: EnvironmentConfig) -> InstanceRoleProps:
    return InstanceRoleProps(
        name_prefix=config.name_prefix, region=config.region, workspace_token=config.rudder.workspace_token
    )


def data_plane_props(
    config: EnvironmentConfig,
    *,
    front_end: FrontEnd,
    bundle: InstanceBundle,
    vpc_id: Ref,
    private_subnet_ids: Sequence[Ref],
    alb_security_group_id: Ref,
    target_group_arn: Ref,
    instance_profile_arn: Ref,
    preconditions: Sequence[Any] = (),
    launch_template_depends_on: Sequence[Any] = (),
) -> SingleNodeGroupProps:
    """The autoscaling group of one; user data carries the same instance bundle in both front ends."""
    return SingleNodeGroupProps(
        name_prefix=config.name_prefix,
        vpc_id=vpc_id,
        private_subnet_ids=private_subnet_ids,
        alb_security_group_id=alb_security_group_id,
        target_group_arn=target_group_arn,
        instance_profile_arn=instance_profile_arn,
        user_data_base64=encoded_user_data(config, bundle),
        instance=config.instance,
        autoscaling=config.autoscaling,
        propagated_tags=standard_tags(config, managed_by=front_end),
        preconditions=list(preconditions),
        launch_template_depends_on=list(launch_template_depends_on),
    )


def health_url(endpoint_url: str) -> str:
    """What the probe GETs: the public endpoint's /health, through the ALB like a client."""
    return f"{endpoint_url}{HEALTH_PATH}"


def alerting_props(
    config: EnvironmentConfig,
    *,
    kms_key_arn: Ref,
    health_url: Ref,
    alb_arn_suffix: Ref,
    target_group_arn_suffix: Ref,
    asg_name: Ref,
    instance_role_name: Ref,
) -> AlertingProps:
    return AlertingProps(
        name_prefix=config.name_prefix,
        environment=config.environment,
        region=config.region,
        settings=config.alerting,
        kms_key_arn=kms_key_arn,
        health_url=health_url,
        alb_arn_suffix=alb_arn_suffix,
        target_group_arn_suffix=target_group_arn_suffix,
        asg_name=asg_name,
        instance_role_name=instance_role_name,
    )


def drain_props(
    config: EnvironmentConfig, *, kms_key_arn: Ref, asg_name: Ref, target_group_arn: Ref, alert_topic_arn: Ref
) -> DrainPipelineProps:
    return DrainPipelineProps(
        name_prefix=config.name_prefix,
        environment=config.environment,
        region=config.region,
        settings=config.drain,
        kms_key_arn=kms_key_arn,
        asg_names=[asg_name],
        target_group_arns=[target_group_arn],
        alert_topic_arn=alert_topic_arn,
        jobsdb_mode=config.jobsdb.mode,
    )


def dashboard_props(
    config: EnvironmentConfig,
    *,
    alb_arn_suffix: Ref,
    target_group_arn_suffix: Ref,
    asg_name: Ref,
    alarm_arns: Callable[[], Sequence[Ref]] | Sequence[Ref] | Ref,
) -> OperationsDashboardProps:
    return OperationsDashboardProps(
        name_prefix=config.name_prefix,
        environment=config.environment,
        region=config.region,
        alb_arn_suffix=alb_arn_suffix,
        target_group_arn_suffix=target_group_arn_suffix,
        asg_name=asg_name,
        thresholds=config.alerting.thresholds,
        alarm_arns=alarm_arns,
    )


def image_pipeline_props(
    config: EnvironmentConfig, *, front_end: FrontEnd, kms_key_arn: Ref, subnet_id: Ref, vpc_id: Ref
) -> DataPlaneImagePipelineProps:
    """The image pipeline (``image_pipeline.enabled`` only); it builds in the first private subnet."""
    return DataPlaneImagePipelineProps(
        name_prefix=config.name_prefix,
        environment=config.environment,
        region=config.region,
        kms_key_arn=kms_key_arn,
        subnet_id=subnet_id,
        vpc_id=vpc_id,
        settings=config.image_pipeline,
        instance=config.instance,
        rudder=config.rudder,
        bake_settings=bake_settings(config),
        tags=standard_tags(config, managed_by=front_end),
    )


def console_urls(region: str, *, alb_arn: str, target_group_arn: str, asg_name: str) -> dict[str, str]:
    """The console links among the outputs, from the resolved ARNs and name."""
    ec2 = f"ec2/home?region={region}"
    return {
        "alb_console_url": console_url(region, f"{ec2}#LoadBalancer:loadBalancerArn={alb_arn}"),
        "target_group_console_url": console_url(region, f"{ec2}#TargetGroup:targetGroupArn={target_group_arn}"),
        "asg_console_url": console_url(region, f"{ec2}#AutoScalingGroupDetails:id={asg_name};view=details"),
    }

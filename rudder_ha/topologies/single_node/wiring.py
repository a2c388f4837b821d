"""How the single-node HA topology is put together from one environment's configuration, written once.

:func:`compose` adds the parts in one order, passes each the props built below from the configuration and
the references the parts before it provide, declares what waits for what, and adds the outputs, all through
a :class:`rudder_ha.frontends.composer.Composer`. The cdktf stack
(:class:`rudder_ha.topologies.single_node.cdktf.SingleNodeStack`) and the Pulumi program
(:func:`rudder_ha.topologies.single_node.pulumi.build`) each run it with their own composer, so the two
front ends cannot differ in order or in what they pass, only in how they hold references (a Terraform token
in cdktf, a ``pulumi.Output`` in Pulumi).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rudder_ha.common.policies import console_url
from rudder_ha.common.refs import Ref
from rudder_ha.common.tags import FrontEnd, standard_tags
from rudder_ha.config.model import HEALTH_PATH, EnvironmentConfig
from rudder_ha.frontends.composer import Composer
from rudder_ha.instance.bundle import InstanceBundle, build_bundle
from rudder_ha.instance.image_component import bake_settings
from rudder_ha.instance.server_metrics import namespace as server_metrics_namespace
from rudder_ha.instance.user_data import encoded_user_data, jobsdb_parameter
from rudder_ha.parts.alerting import spec as alerting_spec
from rudder_ha.parts.alerting.spec import AlertingProps
from rudder_ha.parts.dashboard import spec as dashboard_spec
from rudder_ha.parts.dashboard.spec import OperationsDashboardProps
from rudder_ha.parts.drain_pipeline import spec as drain_pipeline_spec
from rudder_ha.parts.drain_pipeline.spec import DrainPipelineProps
from rudder_ha.parts.drill_experiment import spec as drill_experiment_spec
from rudder_ha.parts.drill_experiment.spec import DrillExperimentProps
from rudder_ha.parts.encryption_key import spec as encryption_key_spec
from rudder_ha.parts.encryption_key.spec import EncryptionKeyProps
from rudder_ha.parts.event_archive import spec as event_archive_spec
from rudder_ha.parts.event_archive.spec import EventArchiveProps
from rudder_ha.parts.image_pipeline import spec as image_pipeline_spec
from rudder_ha.parts.image_pipeline.spec import DataPlaneImagePipelineProps
from rudder_ha.parts.instance_artifacts import spec as instance_artifacts_spec
from rudder_ha.parts.instance_artifacts.spec import InstanceArtifactsProps
from rudder_ha.parts.instance_role import spec as instance_role_spec
from rudder_ha.parts.instance_role.spec import InstanceRoleProps
from rudder_ha.parts.jobsdb_database import spec as jobsdb_database_spec
from rudder_ha.parts.jobsdb_database.spec import JobsdbDatabaseProps
from rudder_ha.parts.load_balancer import spec as load_balancer_spec
from rudder_ha.parts.load_balancer.spec import DataPlaneLoadBalancerProps
from rudder_ha.parts.network import spec as network_spec
from rudder_ha.parts.network.spec import NetworkProps
from rudder_ha.parts.single_node_group import spec as single_node_group_spec
from rudder_ha.parts.single_node_group.spec import SingleNodeGroupProps

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
EVENT_ARCHIVE_OUTPUT = ("event_archive_bucket", "The S3 bucket rudder-server archives gateway jobs to (replay source)")
IMAGE_PIPELINE_OUTPUT = ("image_pipeline_arn", "The EC2 Image Builder pipeline that bakes the data-plane AMI")


def key_props(config: EnvironmentConfig) -> EncryptionKeyProps:
    return EncryptionKeyProps(name_prefix=config.name_prefix, region=config.region)


def network_props(config: EnvironmentConfig, *, log_key_arn: Ref) -> NetworkProps:
    return NetworkProps(name_prefix=config.name_prefix, settings=config.network, log_key_arn=log_key_arn)


def load_balancer_props(
    config: EnvironmentConfig, *, vpc_id: Ref, public_subnet_ids: Sequence[Ref], log_key_arn: Ref
) -> DataPlaneLoadBalancerProps:
    return DataPlaneLoadBalancerProps(
        name_prefix=config.name_prefix,
        vpc_id=vpc_id,
        public_subnet_ids=public_subnet_ids,
        settings=config.load_balancer,
        health_check=config.health_check,
        prod=config.is_prod,
        log_key_arn=log_key_arn,
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
        name_prefix=config.name_prefix,
        region=config.region,
        workspace_token=config.rudder.workspace_token,
        server_metrics_namespace=server_metrics_namespace(config.environment),
    )


def event_archive_props(config: EnvironmentConfig, *, kms_key_arn: Ref, instance_role_arn: Ref) -> EventArchiveProps:
    """The event archive (``event_archive.enabled`` only), encrypted with the environment key."""
    return EventArchiveProps(
        name_prefix=config.name_prefix,
        environment=config.environment,
        region=config.region,
        settings=config.event_archive,
        kms_key_arn=kms_key_arn,
        instance_role_arn=instance_role_arn,
    )


def drill_experiment_props(
    config: EnvironmentConfig, *, vpc_id: Ref, private_subnet_ids: Sequence[Ref], group_arn: Ref
) -> DrillExperimentProps:
    """The az-loss drill's FIS templates (``drill.az_loss_experiment`` only), one per private subnet."""
    return DrillExperimentProps(
        name_prefix=config.name_prefix,
        environment=config.environment,
        region=config.region,
        vpc_id=vpc_id,
        private_subnet_ids=private_subnet_ids,
        group_arn=group_arn,
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
    depends_on: Sequence[Any] = (),
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
        depends_on=list(depends_on),
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
        standby_targets=config.autoscaling.failover.group_size - 1,
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
        server_metrics=True,
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


@dataclass
class SingleNodeParts:
    """Every part of one environment's single-node topology, as the front end rendered them."""

    key: Any
    network: Any
    load_balancer: Any
    jobsdb: Any | None
    artifacts: Any
    instance_role: Any
    image_pipeline: Any | None
    data_plane: Any
    alerting: Any
    drain: Any
    dashboard: Any
    event_archive: Any | None = None
    drill_experiment: Any | None = None


def compose(config: EnvironmentConfig, c: Composer) -> SingleNodeParts:
    """Adds every part of the single-node topology and its outputs through ``c``; returns the parts.

    Construct ids (cdktf) and component names (Pulumi) are the ids below: a contract, since they name every
    deployed resource.
    """
    key = c.add(encryption_key_spec.PART, "key", key_props(config))
    network = c.add(network_spec.PART, "network", network_props(config, log_key_arn=key.arn))
    lb = c.add(
        load_balancer_spec.PART,
        "load_balancer",
        load_balancer_props(
            config, vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids, log_key_arn=key.arn
        ),
    )
    jobsdb = None
    if config.jobsdb.on_rds:
        jobsdb = c.add(
            jobsdb_database_spec.PART,
            "jobsdb",
            jobsdb_props(
                config, vpc_id=network.vpc_id, private_subnet_ids=network.private_subnet_ids, kms_key_arn=key.arn
            ),
        )
    bundle = build_bundle()
    artifacts = c.add(
        instance_artifacts_spec.PART, "artifacts", artifacts_props(config, kms_key_arn=key.arn, bundle=bundle)
    )
    instance_role = c.add(instance_role_spec.PART, "instance_role", instance_role_props(config))
    event_archive = None
    if config.event_archive.enabled:
        event_archive = c.add(
            event_archive_spec.PART,
            "event_archive",
            event_archive_props(config, kms_key_arn=key.arn, instance_role_arn=instance_role.role.arn),
        )
        event_archive.grant_use(instance_role.role.name)
    image_pipeline = None
    if config.image_pipeline.enabled:
        # Bakes the data-plane AMI; the first launch waits for the first image (and its SSM parameter).
        image_pipeline = c.add(
            image_pipeline_spec.PART,
            "image_pipeline",
            image_pipeline_props(
                config,
                front_end=c.front_end,
                kms_key_arn=key.arn,
                subnet_id=network.private_subnet_ids[0],
                vpc_id=network.vpc_id,
            ),
        )
    data_plane = c.add(
        single_node_group_spec.PART,
        "data_plane",
        data_plane_props(
            config,
            front_end=c.front_end,
            bundle=bundle,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            alb_security_group_id=lb.security_group.id,
            target_group_arn=lb.target_group.arn,
            instance_profile_arn=instance_role.profile.arn,
            preconditions=network.zone_preconditions,
            # The first boot needs the bundle in place (and, with an archive, the parameter naming it).
            depends_on=[c.dependency(artifacts.bundle_object)]
            + ([c.dependency(event_archive.parameter)] if event_archive is not None else []),
            # The launch template's resolve:ssm: image id is checked when the template is created, and the
            # group launches from it: both wait until the first build has written the parameter.
            launch_template_depends_on=[c.dependency(image_pipeline.image)] if image_pipeline is not None else [],
        ),
    )
    lb.allow_to(data_plane.security_group.id)
    artifacts.grant_read(instance_role.role.name)
    if jobsdb is not None:
        jobsdb.allow_from(data_plane.security_group.id)
        parameter, jobsdb_key = jobsdb_grant(config, environment_key_arn=key.arn)
        instance_role.allow_jobsdb(parameter, jobsdb.master_secret_arn, jobsdb_key)
    group = data_plane.group
    alerting = c.add(
        alerting_spec.PART,
        "alerting",
        alerting_props(
            config,
            kms_key_arn=key.arn,
            health_url=c.map(health_url, lb.endpoint_url),
            alb_arn_suffix=lb.alb.arn_suffix,
            target_group_arn_suffix=lb.target_group.arn_suffix,
            asg_name=group.name,
            instance_role_name=instance_role.role.name,
        ),
    )
    drain = c.add(
        drain_pipeline_spec.PART,
        "drain",
        drain_props(
            config,
            kms_key_arn=key.arn,
            asg_name=data_plane.group_name,
            target_group_arn=lb.target_group.arn,
            alert_topic_arn=alerting.topic_arn,
        ),
    )
    alerting.watch_function("drain", drain.function.name, severity=DRAIN_ALARMS_SEVERITY)
    alerting.watch_queue("drain", drain.dead_letter_queue.name, severity=DRAIN_ALARMS_SEVERITY)
    dashboard = c.add(
        dashboard_spec.PART,
        "dashboard",
        dashboard_props(
            config,
            alb_arn_suffix=lb.alb.arn_suffix,
            target_group_arn_suffix=lb.target_group.arn_suffix,
            asg_name=group.name,
            # Read when the body is built: every alarm above, the drain's included.
            alarm_arns=lambda: alerting.alarm_arns,
        ),
    )
    drill_experiment = None
    if config.drill.az_loss_experiment:
        drill_experiment = c.add(
            drill_experiment_spec.PART,
            "drill_experiment",
            drill_experiment_props(
                config, vpc_id=network.vpc_id, private_subnet_ids=network.private_subnet_ids, group_arn=group.arn
            ),
        )
    parts = SingleNodeParts(
        key=key,
        network=network,
        load_balancer=lb,
        jobsdb=jobsdb,
        artifacts=artifacts,
        instance_role=instance_role,
        image_pipeline=image_pipeline,
        data_plane=data_plane,
        alerting=alerting,
        drain=drain,
        dashboard=dashboard,
        event_archive=event_archive,
        drill_experiment=drill_experiment,
    )
    _outputs(config, c, parts)
    return parts


def _outputs(config: EnvironmentConfig, c: Composer, parts: SingleNodeParts) -> None:
    lb = parts.load_balancer
    group = parts.data_plane.group
    urls = c.map(
        lambda alb_arn, target_group_arn, asg_name: console_urls(
            config.region, alb_arn=alb_arn, target_group_arn=target_group_arn, asg_name=asg_name
        ),
        lb.alb.arn,
        lb.target_group.arn,
        group.name,
    )
    values = {
        "endpoint_url": lb.endpoint_url,
        "alb_dns_name": lb.alb.dns_name,
        "asg_name": group.name,
        "target_group_arn": lb.target_group.arn,
        "lifecycle_hook_name": parts.data_plane.lifecycle_hook_name,
        "drain_queue_url": parts.drain.queue.url,
        "drain_table_name": parts.drain.table.name,
        **{name: urls[name] for name in ("alb_console_url", "target_group_console_url", "asg_console_url")},
        "alert_topic_arn": parts.alerting.topic_arn,
        "dashboard_url": parts.dashboard.console_url,
    }
    for name, description in OUTPUT_DESCRIPTIONS.items():
        c.output(name, values[name], description)
    if parts.event_archive is not None:
        name, description = EVENT_ARCHIVE_OUTPUT
        c.output(name, parts.event_archive.bucket.bucket, description)
    if parts.image_pipeline is not None:
        name, description = IMAGE_PIPELINE_OUTPUT
        c.output(name, parts.image_pipeline.arn, description)

"""The single-node HA topology of one environment (the parts and their props: :mod:`rudder_ha.specs.single_node`)."""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.constructs.alerting import Alerting
from rudder_ha.constructs.dashboard import OperationsDashboard
from rudder_ha.constructs.drain_pipeline import DrainPipeline
from rudder_ha.constructs.encryption_key import EncryptionKey
from rudder_ha.constructs.image_pipeline import DataPlaneImagePipeline
from rudder_ha.constructs.instance_artifacts import InstanceArtifacts
from rudder_ha.constructs.instance_role import InstanceRole
from rudder_ha.constructs.jobsdb_database import JobsdbDatabase
from rudder_ha.constructs.load_balancer import DataPlaneLoadBalancer
from rudder_ha.constructs.naming import address
from rudder_ha.constructs.network import Network
from rudder_ha.constructs.single_node_group import SingleNodeGroup
from rudder_ha.instance_bundle import build_bundle
from rudder_ha.specs import single_node as parts
from rudder_ha.stacks.environment_stack import EnvironmentStack


def stack_name(config: EnvironmentConfig) -> str:
    """The stack users deploy: ``cdktf deploy rudder-ha-<environment>``."""
    return config.name_prefix


class SingleNodeStack(EnvironmentStack):
    """Network, ALB with /health checks, and an autoscaling group of one data-plane instance."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, stack_name(config), config)
        self.key = EncryptionKey(self, "key", parts.key_props(config))
        self.network = Network(self, "network", parts.network_props(config, log_key_arn=self.key.arn))
        network = self.network
        self.load_balancer = DataPlaneLoadBalancer(
            self,
            "load_balancer",
            parts.load_balancer_props(config, vpc_id=network.vpc_id, public_subnet_ids=network.public_subnet_ids),
        )
        lb = self.load_balancer
        self.jobsdb = None
        if config.jobsdb.on_rds:
            self.jobsdb = JobsdbDatabase(
                self,
                "jobsdb",
                parts.jobsdb_props(
                    config,
                    vpc_id=network.vpc_id,
                    private_subnet_ids=network.private_subnet_ids,
                    kms_key_arn=self.key.arn,
                ),
            )
        bundle = build_bundle()
        self.artifacts = InstanceArtifacts(
            self, "artifacts", parts.artifacts_props(config, kms_key_arn=self.key.arn, bundle=bundle)
        )
        self.instance_role = InstanceRole(self, "instance_role", parts.instance_role_props(config))
        self.data_plane = SingleNodeGroup(
            self,
            "data_plane",
            parts.data_plane_props(
                config,
                front_end="cdktf",
                bundle=bundle,
                vpc_id=network.vpc_id,
                private_subnet_ids=network.private_subnet_ids,
                alb_security_group_id=lb.security_group.id,
                target_group_arn=lb.target_group.arn,
                instance_profile_arn=self.instance_role.profile.arn,
                preconditions=network.zone_preconditions,
            ),
        )
        lb.allow_to(self.data_plane.security_group.id)
        self.artifacts.grant_read(self.instance_role.role.name)
        # The first boot needs the bundle in place.
        group = self.data_plane.group
        group.depends_on = [*(group.depends_on or []), address(self.artifacts.bundle_object)]
        if self.jobsdb is not None:
            self.jobsdb.allow_from(self.data_plane.security_group.id)
            parameter, key = parts.jobsdb_grant(config, environment_key_arn=self.key.arn)
            self.instance_role.allow_jobsdb(parameter, self.jobsdb.master_secret_arn, key)
        self.alerting = Alerting(
            self,
            "alerting",
            parts.alerting_props(
                config,
                kms_key_arn=self.key.arn,
                health_url=parts.health_url(lb.endpoint_url),
                alb_arn_suffix=lb.alb.arn_suffix,
                target_group_arn_suffix=lb.target_group.arn_suffix,
                asg_name=group.name,
                instance_role_name=self.instance_role.role.name,
            ),
        )
        self.drain = DrainPipeline(
            self,
            "drain",
            parts.drain_props(
                config,
                kms_key_arn=self.key.arn,
                asg_name=self.data_plane.group_name,
                target_group_arn=lb.target_group.arn,
                alert_topic_arn=self.alerting.topic_arn,
            ),
        )
        self.alerting.watch_function("drain", self.drain.function.name, severity=parts.DRAIN_ALARMS_SEVERITY)
        self.alerting.watch_queue("drain", self.drain.dead_letter_queue.name, severity=parts.DRAIN_ALARMS_SEVERITY)
        self.dashboard = OperationsDashboard(
            self,
            "dashboard",
            parts.dashboard_props(
                config,
                alb_arn_suffix=lb.alb.arn_suffix,
                target_group_arn_suffix=lb.target_group.arn_suffix,
                asg_name=group.name,
                alarm_arns=lambda: self.alerting.alarm_arns,
            ),
        )
        self.image_pipeline: DataPlaneImagePipeline | None = None
        if config.image_pipeline.enabled:
            self._image_pipeline()
        self._outputs()

    def _image_pipeline(self) -> None:
        """Bakes the data-plane AMI; the first launch waits for the first image (and its SSM parameter)."""
        self.image_pipeline = DataPlaneImagePipeline(
            self,
            "image_pipeline",
            parts.image_pipeline_props(
                self.config,
                front_end="cdktf",
                kms_key_arn=self.key.arn,
                subnet_id=self.network.private_subnet_ids[0],
                vpc_id=self.network.vpc_id,
            ),
        )
        # The launch template's resolve:ssm: image id is checked when the template is created, and
        # the group launches from it: both wait until the first build has written the parameter.
        image = address(self.image_pipeline.image)
        for resource in (self.data_plane.launch_template, self.data_plane.group):
            resource.depends_on = [*(resource.depends_on or []), image]
        name, description = parts.IMAGE_PIPELINE_OUTPUT
        TerraformOutput(self, name, value=self.image_pipeline.arn, description=description)

    def _outputs(self) -> None:
        lb = self.load_balancer
        group = self.data_plane.group
        values = {
            "endpoint_url": lb.endpoint_url,
            "alb_dns_name": lb.alb.dns_name,
            "asg_name": group.name,
            "target_group_arn": lb.target_group.arn,
            "lifecycle_hook_name": self.data_plane.lifecycle_hook_name,
            "drain_queue_url": self.drain.queue.url,
            "drain_table_name": self.drain.table.name,
            **parts.console_urls(
                self.config.region, alb_arn=lb.alb.arn, target_group_arn=lb.target_group.arn, asg_name=group.name
            ),
            "alert_topic_arn": self.alerting.topic_arn,
            "dashboard_url": self.dashboard.console_url,
        }
        self.add_outputs({name: (values[name], text) for name, text in parts.OUTPUT_DESCRIPTIONS.items()})

"""The single-node HA topology of one environment."""

from __future__ import annotations

from cdktf import TerraformOutput
from constructs import Construct

from rudder_ha.config.model import HEALTH_PATH, EnvironmentConfig
from rudder_ha.constructs.alerting import Alerting, AlertingProps
from rudder_ha.constructs.dashboard import OperationsDashboard, OperationsDashboardProps
from rudder_ha.constructs.drain_pipeline import DrainPipeline, DrainPipelineProps
from rudder_ha.constructs.encryption_key import EncryptionKey, EncryptionKeyProps
from rudder_ha.constructs.image_pipeline import DataPlaneImagePipeline, DataPlaneImagePipelineProps
from rudder_ha.constructs.instance_artifacts import InstanceArtifacts, InstanceArtifactsProps
from rudder_ha.constructs.instance_role import InstanceRole, InstanceRoleProps
from rudder_ha.constructs.jobsdb_database import JobsdbDatabase, JobsdbDatabaseProps
from rudder_ha.constructs.load_balancer import DataPlaneLoadBalancer, DataPlaneLoadBalancerProps
from rudder_ha.constructs.naming import address, console_url
from rudder_ha.constructs.network import Network, NetworkProps
from rudder_ha.constructs.single_node_group import SingleNodeGroup, SingleNodeGroupProps
from rudder_ha.image_component import bake_settings
from rudder_ha.instance_bundle import build_bundle
from rudder_ha.stacks.environment_stack import EnvironmentStack, standard_tags
from rudder_ha.user_data import encoded_user_data, jobsdb_parameter


def stack_name(config: EnvironmentConfig) -> str:
    """The stack users deploy: ``cdktf deploy rudder-ha-<environment>``."""
    return config.name_prefix


class SingleNodeStack(EnvironmentStack):
    """Network, ALB with /health checks, and an autoscaling group of one data-plane instance."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, stack_name(config), config)
        name = config.name_prefix
        self.key = EncryptionKey(self, "key", EncryptionKeyProps(name_prefix=name, region=config.region))
        self.network = Network(
            self, "network", NetworkProps(name_prefix=name, settings=config.network, log_key_arn=self.key.arn)
        )
        self.load_balancer = DataPlaneLoadBalancer(
            self,
            "load_balancer",
            DataPlaneLoadBalancerProps(
                name_prefix=name,
                vpc_id=self.network.vpc_id,
                public_subnet_ids=self.network.public_subnet_ids,
                settings=config.load_balancer,
                health_check=config.health_check,
            ),
        )
        self.jobsdb = None
        if config.jobsdb.on_rds:
            self.jobsdb = JobsdbDatabase(
                self,
                "jobsdb",
                JobsdbDatabaseProps(
                    name_prefix=name,
                    vpc_id=self.network.vpc_id,
                    private_subnet_ids=self.network.private_subnet_ids,
                    settings=config.jobsdb,
                    kms_key_arn=self.key.arn,
                    connection_parameter=jobsdb_parameter(config),
                    final_snapshot=config.is_prod,
                ),
            )
        bundle = build_bundle()
        self.artifacts = InstanceArtifacts(
            self,
            "artifacts",
            InstanceArtifactsProps(
                name_prefix=name,
                environment=config.environment,
                region=config.region,
                kms_key_arn=self.key.arn,
                bundle=bundle,
            ),
        )
        self.instance_role = InstanceRole(
            self,
            "instance_role",
            InstanceRoleProps(name_prefix=name, region=config.region, workspace_token=config.rudder.workspace_token),
        )
        self.data_plane = SingleNodeGroup(
            self,
            "data_plane",
            SingleNodeGroupProps(
                name_prefix=name,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                alb_security_group_id=self.load_balancer.security_group.id,
                target_group_arn=self.load_balancer.target_group.arn,
                instance_profile_arn=self.instance_role.profile.arn,
                user_data_base64=encoded_user_data(config, bundle),
                instance=config.instance,
                autoscaling=config.autoscaling,
                propagated_tags=standard_tags(config),
                preconditions=self.network.zone_preconditions,
            ),
        )
        self.load_balancer.allow_to(self.data_plane.security_group.id)
        self.artifacts.grant_read(self.instance_role.role.name)
        # The first boot needs the bundle in place.
        group = self.data_plane.group
        group.depends_on = [*(group.depends_on or []), address(self.artifacts.bundle_object)]
        if self.jobsdb is not None:
            self.jobsdb.allow_from(self.data_plane.security_group.id)
            self.instance_role.allow_jobsdb(
                jobsdb_parameter(config), self.jobsdb.master_secret_arn, config.jobsdb.kms_key_arn or self.key.arn
            )
        self.alerting = Alerting(
            self,
            "alerting",
            AlertingProps(
                name_prefix=name,
                environment=config.environment,
                region=config.region,
                settings=config.alerting,
                kms_key_arn=self.key.arn,
                health_url=f"{self.load_balancer.endpoint_url}{HEALTH_PATH}",
                alb_arn_suffix=self.load_balancer.alb.arn_suffix,
                target_group_arn_suffix=self.load_balancer.target_group.arn_suffix,
                asg_name=self.data_plane.group.name,
                instance_role_name=self.instance_role.role.name,
            ),
        )
        self.drain = DrainPipeline(
            self,
            "drain",
            DrainPipelineProps(
                name_prefix=name,
                environment=config.environment,
                region=config.region,
                settings=config.drain,
                kms_key_arn=self.key.arn,
                asg_names=[self.data_plane.group_name],
                target_group_arns=[self.load_balancer.target_group.arn],
                alert_topic_arn=self.alerting.topic_arn,
                jobsdb_mode=config.jobsdb.mode,
            ),
        )
        self.alerting.watch_function("drain", self.drain.function.name, severity="critical")
        self.alerting.watch_queue("drain", self.drain.dead_letter_queue.name, severity="critical")
        self.dashboard = OperationsDashboard(
            self,
            "dashboard",
            OperationsDashboardProps(
                name_prefix=name,
                environment=config.environment,
                region=config.region,
                alb_arn_suffix=self.load_balancer.alb.arn_suffix,
                target_group_arn_suffix=self.load_balancer.target_group.arn_suffix,
                asg_name=self.data_plane.group.name,
                thresholds=config.alerting.thresholds,
                alarm_arns=lambda: self.alerting.alarm_arns,
            ),
        )
        self.image_pipeline: DataPlaneImagePipeline | None = None
        if config.image_pipeline.enabled:
            self._image_pipeline()
        self._outputs()

    def _image_pipeline(self) -> None:
        """Bakes the data-plane AMI; the first launch waits for the first image (and its SSM parameter)."""
        config = self.config
        self.image_pipeline = DataPlaneImagePipeline(
            self,
            "image_pipeline",
            DataPlaneImagePipelineProps(
                name_prefix=config.name_prefix,
                environment=config.environment,
                region=config.region,
                kms_key_arn=self.key.arn,
                subnet_id=self.network.private_subnet_ids[0],
                vpc_id=self.network.vpc_id,
                settings=config.image_pipeline,
                instance=config.instance,
                rudder=config.rudder,
                bake_settings=bake_settings(config),
                tags=standard_tags(config),
            ),
        )
        # The launch template's resolve:ssm: image id is checked when the template is created, and
        # the group launches from it: both wait until the first build has written the parameter.
        image = address(self.image_pipeline.image)
        for resource in (self.data_plane.launch_template, self.data_plane.group):
            resource.depends_on = [*(resource.depends_on or []), image]
        TerraformOutput(
            self,
            "image_pipeline_arn",
            value=self.image_pipeline.arn,
            description="The EC2 Image Builder pipeline that bakes the data-plane AMI",
        )

    def _outputs(self) -> None:
        region = self.config.region
        lb = self.load_balancer
        group = self.data_plane.group
        ec2 = f"ec2/home?region={region}"
        outputs = {
            "endpoint_url": (lb.endpoint_url, "Where SDKs send events"),
            "alb_dns_name": (lb.alb.dns_name, "The ALB's DNS name (point your domain's CNAME/alias here)"),
            "asg_name": (group.name, "The autoscaling group of one"),
            "target_group_arn": (lb.target_group.arn, "The gateway target group"),
            "lifecycle_hook_name": (self.data_plane.lifecycle_hook_name, "The terminating (drain) lifecycle hook"),
            "drain_queue_url": (self.drain.queue.url, "Lifecycle events and drain continuations"),
            "drain_table_name": (self.drain.table.name, "Drain state, one item per lifecycle action"),
            "alb_console_url": (
                console_url(region, f"{ec2}#LoadBalancer:loadBalancerArn={lb.alb.arn}"),
                "The ALB in the AWS console",
            ),
            "target_group_console_url": (
                console_url(region, f"{ec2}#TargetGroup:targetGroupArn={lb.target_group.arn}"),
                "The target group's health in the AWS console",
            ),
            "asg_console_url": (
                console_url(region, f"{ec2}#AutoScalingGroupDetails:id={group.name};view=details"),
                "The autoscaling group in the AWS console",
            ),
            "alert_topic_arn": (self.alerting.topic_arn, "SNS topic every alarm and drain message goes to"),
            "dashboard_url": (self.dashboard.console_url, "The environment's CloudWatch operations dashboard"),
        }
        self.add_outputs(outputs)

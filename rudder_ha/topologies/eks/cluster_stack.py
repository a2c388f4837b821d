"""The eks topology's cluster stack: network, EKS, zonal node groups and the node drain pipeline.

The data plane's Kubernetes workloads live in a separate stack, so they plan against an existing cluster.
"""

from __future__ import annotations

from cdktf_cdktf_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktf_cdktf_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktf_cdktf_provider_aws.cloudwatch_log_metric_filter import (
    CloudwatchLogMetricFilter,
    CloudwatchLogMetricFilterMetricTransformation,
)
from cdktf_cdktf_provider_aws.eks_access_entry import EksAccessEntry
from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.frontends.cdktf.environment_stack import EnvironmentStack, standard_tags
from rudder_ha.frontends.cdktf.naming import address
from rudder_ha.parts.alerting import spec as alerting_spec
from rudder_ha.parts.alerting.cdktf import Alerting, AlertingProps, topic_alarm
from rudder_ha.parts.drain_pipeline.cdktf import DrainPipeline, DrainPipelineProps
from rudder_ha.parts.eks_cluster.cdktf import DataPlaneCluster, EksClusterProps
from rudder_ha.parts.eks_node_groups.cdktf import EksNodeGroupsProps, ZonalNodeGroups
from rudder_ha.parts.encryption_key.cdktf import EncryptionKey, EncryptionKeyProps
from rudder_ha.parts.network.cdktf import Network, NetworkProps
from rudder_ha.topologies.eks import observability
from rudder_ha.topologies.eks.contract import (
    BACKEND_NAMESPACE,
    NODE_DRAINER_GROUP,
    cluster_name,
    cluster_stack_name,
    state_key,
)
from rudder_ha.topologies.eks.k8s.from_config import health_url

HTTPS = 443
DRAIN_ALARMS_SEVERITY = "critical"
"""The node drain's errors and dead letters page, as in single-node: a failed drain can lose events."""


class EksClusterStack(EnvironmentStack):
    """A multi-AZ EKS cluster (three AZs in prod), one managed node group per AZ, the same drain pipeline
    as the single-node topology, here cordoning and evicting a node before it terminates, and the same
    alerting (topic, subscribed router, probe), with the cluster's own alarms
    (:func:`rudder_ha.topologies.eks.observability.cluster_alarms`)."""

    def __init__(self, scope: Construct, config: EnvironmentConfig) -> None:
        super().__init__(scope, cluster_stack_name(config), config, state_key(config, "cluster"))
        assert config.eks is not None
        name = config.name_prefix
        self.key = EncryptionKey(self, "key", EncryptionKeyProps(name_prefix=name, region=config.region))
        self.network = Network(
            self,
            "network",
            NetworkProps(
                name_prefix=name,
                settings=config.network,
                log_key_arn=self.key.arn,
                public_subnet_tags={"kubernetes.io/role/elb": "1"},
                private_subnet_tags={"kubernetes.io/role/internal-elb": "1"},
            ),
        )
        self.cluster = DataPlaneCluster(
            self,
            "eks",
            EksClusterProps(
                name_prefix=name,
                private_subnet_ids=self.network.private_subnet_ids,
                settings=config.eks,
                kms_key_arn=self.key.arn,
            ),
        )
        self.node_groups = ZonalNodeGroups(
            self,
            "nodes",
            EksNodeGroupsProps(
                name_prefix=name,
                cluster_name=self.cluster.cluster.name,
                availability_zones=list(config.network.availability_zones),
                private_subnet_ids=self.network.private_subnet_ids,
                settings=config.eks,
                lifecycle_hook=config.autoscaling.lifecycle_hook,
                tags=standard_tags(config),
                kubernetes_version=self.cluster.cluster.version,
            ),
        )
        # Nodes join only with networking in place; coredns only becomes healthy once nodes run it.
        for group in self.node_groups.groups:
            group.depends_on = [
                *(group.depends_on or []),
                address(self.cluster.pod_identity_agent),
                address(self.cluster.vpc_cni),
            ]
        for addon in self.cluster.addons:
            addon.depends_on = [*(addon.depends_on or []), *(address(g) for g in self.node_groups.groups)]
        self.alerting = Alerting(
            self,
            "alerting",
            AlertingProps(
                name_prefix=name,
                environment=config.environment,
                region=config.region,
                settings=config.alerting,
                kms_key_arn=self.key.arn,
                health_url=health_url(config),
            ),
        )
        self.alert_topic = self.alerting.topic
        self._drain()
        self._watch()
        self._outputs()

    def _watch(self) -> None:
        """The node drain's alarms, failed node launches and terminations, failed nodes, drain overruns."""
        config = self.config
        name = config.name_prefix
        self.alerting.watch_function("drain", self.drain.function.name, severity=DRAIN_ALARMS_SEVERITY)
        self.alerting.watch_queue("drain", self.drain.dead_letter_queue.name, severity=DRAIN_ALARMS_SEVERITY)
        rule = CloudwatchEventRule(
            self,
            "node_failures",
            **alerting_spec.asg_failure_rule(name),
            event_pattern=alerting_spec.asg_failure_event_pattern(self.node_groups.asg_names),
        )
        CloudwatchEventTarget(
            self,
            "node_failures_target",
            rule=rule.name,
            target_id=alerting_spec.ASG_FAILURES_TARGET_ID,
            arn=self.alert_topic.arn,
        )
        CloudwatchLogMetricFilter(
            self,
            "drain_overrun",
            name=f"{name}-drain-overrun",
            log_group_name=self.cluster.container_insights_logs["application"].name,
            pattern=observability.drain_overrun_pattern(BACKEND_NAMESPACE),
            metric_transformation=CloudwatchLogMetricFilterMetricTransformation(
                name=observability.DRAIN_OVERRUN_METRIC,
                namespace=observability.drain_overrun_namespace(config),
                value="1",
                default_value="0",
                unit="Count",
            ),
        )
        self.alarms = [topic_alarm(self, spec, self.alert_topic.arn) for spec in observability.cluster_alarms(config)]

    def _drain(self) -> None:
        config = self.config
        name = config.name_prefix
        cluster = self.cluster.cluster
        function_sg = SecurityGroup(
            self,
            "drain_sg",
            name=f"{name}-node-drain",
            description=f"{name} node-drain Lambda: the cluster API and AWS APIs over HTTPS only",
            vpc_id=self.network.vpc_id,
            tags={"Name": f"{name}-node-drain"},
        )
        VpcSecurityGroupEgressRule(
            self,
            "drain_sg_https",
            security_group_id=function_sg.id,
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="the EKS endpoint and AWS APIs (through the NAT gateways)",
        )
        VpcSecurityGroupIngressRule(
            self,
            "cluster_from_drain",
            security_group_id=cluster.vpc_config.cluster_security_group_id,
            referenced_security_group_id=function_sg.id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="the node-drain Lambda reaches the private API endpoint",
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
                asg_names=self.node_groups.asg_names,
                target_group_arns=[],
                alert_topic_arn=self.alert_topic.arn,
                strategy="eks",
                strategy_environment={
                    "EKS_CLUSTER_NAME": cluster.name,
                    "EKS_CLUSTER_ENDPOINT": cluster.endpoint,
                    "EKS_CLUSTER_CA": cluster.certificate_authority.get(0).data,
                },
                vpc_subnet_ids=self.network.private_subnet_ids,
                vpc_security_group_ids=[function_sg.id],
            ),
        )
        EksAccessEntry(
            self,
            "drain_access",
            cluster_name=cluster.name,
            principal_arn=self.drain.function.role.arn,
            kubernetes_groups=[NODE_DRAINER_GROUP],
            type="STANDARD",
        )

    def _outputs(self) -> None:
        config = self.config
        cluster = self.cluster.cluster
        outputs = {
            "cluster_name": (cluster.name, "The EKS cluster"),
            "cluster_endpoint": (cluster.endpoint, "The Kubernetes API endpoint (private unless configured)"),
            "kubeconfig_command": (
                f"aws eks update-kubeconfig --region {config.region} --name {cluster_name(config)}",
                "Run this (as one of eks.admin_principal_arns) to use kubectl",
            ),
            "node_group_asgs": (self.node_groups.asg_names, "Auto Scaling groups held by the node-drain hook"),
            "alert_topic_arn": (self.alert_topic.arn, "Every alarm and drain message goes here; the router reads it"),
        }
        self.add_outputs(outputs)

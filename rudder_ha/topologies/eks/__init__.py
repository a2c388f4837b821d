"""The EKS topology: a multi-AZ cluster running the data plane as Kubernetes workloads.

``cluster_stack.py`` (network, cluster, zonal node groups, node drain) and ``workload_stack.py`` (what runs
on the cluster, planned against it) are its two cdktf stacks, ``stacks.py`` adds both, ``contract.py`` holds
what the two agree on (names, state keys, the node drainer's group); ``k8s/`` renders the data plane's
manifests (and, in ``k8s/orphan_drain.py``, the processor-only Job over a removed backend's volume);
``observability.py`` and ``dashboard.py`` are what watches it (alarms of both stacks, the dashboard body).
The pods' roles and charts are parts: ``rudder_ha/parts/lb_controller/`` and
``rudder_ha/parts/secrets_store/``."""

from rudder_ha.topologies.topology import EVERY_TOPOLOGY_READS, Topology

TOPOLOGY = Topology(
    name="eks",
    title="EKS",
    description="a multi-AZ EKS cluster running the data plane as Kubernetes workloads",
    cdktf_stacks="rudder_ha.topologies.eks.stacks:build_stacks",
    settings_section="eks",
    fixed_jobsdb_mode="instance",
    # What cluster_stack.py, workload_stack.py and k8s/from_config.py read; everything else would be ignored.
    # alerting: receivers and thresholds, all of them (cluster_stack.py and observability.py).
    reads=(
        *EVERY_TOPOLOGY_READS,
        "load_balancer.domain_name",
        "load_balancer.certificate_arn",
        "load_balancer.ssl_policy",
        "load_balancer.deletion_protection",
        "load_balancer.idle_timeout_seconds",
        "load_balancer.ingress_cidrs",
        "load_balancer.waf_web_acl_arn",
        "health_check",
        "autoscaling.lifecycle_hook",
        "rudder.backend_image",
        "rudder.transformer_image",
        "rudder.postgres_image",
        "rudder.control_plane_url",
        "rudder.workspace_token",
        "rudder.extra_env",
        "drain",
        "alerting",
        "eks",
    ),
    unread_reasons=(
        ("jobsdb", "each backend pod keeps its own jobsdb"),
        ("instance", "nodes are sized by eks.node_instance_type and eks.node_volume_size_gib"),
        ("autoscaling.warm_pool", "the node groups keep no warm pool"),
        ("autoscaling.health_check_grace_period_seconds", "pods are health-checked by the Ingress, not an ASG"),
        ("autoscaling.default_instance_warmup_seconds", "the node groups are sized by eks.nodes_per_az"),
        ("load_balancer.http_only", "the Ingress is HTTPS only"),
        ("load_balancer.access_logs_retention_days", "the Ingress's ALB keeps no access logs"),
        (
            "load_balancer.hosted_zone_id",
            "the Ingress's ALB is made by the load balancer controller, after apply; point domain_name at it "
            "in DNS yourself",
        ),
        ("image_pipeline", "nodes run the EKS-optimised AMI"),
        ("degraded_mode", "Kubernetes restarts crashing pods; there is no crash guard"),
    ),
    state_parts=("cluster", "workload"),
)

"""The single-node HA topology: one instance running backend and transformer, in an autoscaling group of
exactly one over two or more AZs, behind an ALB health-checking ``/health``.

``wiring.py`` composes the parts once for both front ends; ``cdktf.py`` is the stack, ``pulumi.py`` the
program; ``rto.py`` models its worst-case failover."""

from rudder_ha.topologies.topology import EVERY_TOPOLOGY_READS, Topology

TOPOLOGY = Topology(
    name="single_node",
    title="single-node HA",
    description="one data-plane instance in an autoscaling group of one behind an ALB",
    cdktf_stacks="rudder_ha.topologies.single_node.cdktf:build_stacks",
    pulumi_program=True,
    failover_model="rudder_ha.topologies.single_node.rto:timeline",
    reads=(
        *EVERY_TOPOLOGY_READS,
        "load_balancer",
        "health_check",
        "instance",
        "autoscaling",
        "rudder",
        "drain",
        "alerting",
        "image_pipeline",
        "jobsdb",
        "degraded_mode",
        "event_archive",
        "drill",
    ),
)

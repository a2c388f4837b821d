"""The EKS topology: a multi-AZ cluster running the data plane as Kubernetes workloads.

``cluster_stack.py`` (network, cluster, zonal node groups, node drain) and ``workload_stack.py`` (what runs
on the cluster, planned against it) are its two cdktf stacks, ``stacks.py`` adds both, ``contract.py`` holds
what the two agree on (names, state keys, the node drainer's group); ``k8s/`` renders the data plane's
manifests. The pods' roles and charts are parts: ``rudder_ha/parts/lb_controller/`` and
``rudder_ha/parts/secrets_store/``."""

from rudder_ha.topologies.topology import Topology

TOPOLOGY = Topology(
    name="eks",
    title="EKS",
    description="a multi-AZ EKS cluster running the data plane as Kubernetes workloads",
    cdktf_stacks="rudder_ha.topologies.eks.stacks:build_stacks",
    settings_section="eks",
    jobsdb_section=False,
    fixed_jobsdb_mode="instance",
    fixed_jobsdb_reason="each backend pod keeps its own jobsdb",
)

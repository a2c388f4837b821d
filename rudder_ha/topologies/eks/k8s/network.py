"""NetworkPolicies of the namespace: deny everything, then allow exactly what the data plane needs.

What is allowed, and why:

- **ALB -> backend, TCP 8080.** The ALB reaches each backend pod by its IP (target type ``ip``) from its own
  addresses in its subnets (``load_balancer_source_cidrs``): event intake and the ALB's health checks.
  Nothing else reaches the gateway: not the internet directly, not other pods (they run in the private
  subnets, outside the ALB's public ones).
- **backend -> transformer, TCP 9090**, and nothing else into the transformer but the processor-only Jobs
  that drain a removed backend's retained volume (``orphan_drain.py``), which get the backend's egress and
  no ingress at all.
- **every pod -> cluster DNS (kube-dns in kube-system), UDP and TCP 53.**
- **backend and transformer -> anywhere, TCP 443**: the control plane (``CONFIG_BACKEND_URL``), AWS APIs
  (directly or through VPC interface endpoints, which have VPC addresses: hence no exception for the
  VPC's range) and the destinations, nearly all of which are HTTPS APIs. Destinations listening elsewhere
  (a warehouse on 5439 or 5432, Kafka on 9092...) need their port in ``backend_egress_ports``; none is
  open by default. No egress to the instance metadata service or to the node (the Secrets Store CSI
  driver fetches the token on the node, not in the pod).
- **backend -> the EKS Pod Identity agent (169.254.170.23, TCP 80)**, only where the backend pods publish
  their backlog metrics (:mod:`rudder_ha.topologies.eks.k8s.metrics`): the AWS CLI gets the pod's
  credentials from the agent, a host-network DaemonSet on that link-local address of every node.

Not governed here: the traffic inside a pod. PostgreSQL listens on no TCP port at all, the drain agent and
rudder-server reach it through the pod-local socket, and the preStop hook and the drain agent talk
through a shared emptyDir, none of which is network traffic a NetworkPolicy sees. kubelet's probes come
from the node's own address, which the EKS network policy agent (and every other common implementation)
always admits.
"""

from __future__ import annotations

from typing import Any

from rudder_ha.config.model import GATEWAY_PORT, TRANSFORMER_PORT
from rudder_ha.topologies.eks.k8s.common import (
    BACKEND,
    BACKEND_NAME,
    TRANSFORMER,
    TRANSFORMER_NAME,
    Manifest,
    metadata,
    selector,
)
from rudder_ha.topologies.eks.k8s.settings import DNS_PORT, HTTPS_PORT, WorkloadSettings

ANYWHERE = "0.0.0.0/0"
ORPHAN_DRAIN = "orphan-drain"
"""The component of the processor-only Jobs over retained volumes (``orphan_drain.py``)."""
ORPHAN_DRAIN_POLICY = "rudder-orphan-drain"
POD_IDENTITY_AGENT_CIDR = "169.254.170.23/32"
POD_IDENTITY_AGENT_PORT = 80
DEFAULT_DENY = "default-deny"
ALLOW_DNS = "allow-dns"
KUBE_DNS_NAMESPACE = "kube-system"
KUBE_DNS_LABELS = {"k8s-app": "kube-dns"}
"""The label of the cluster DNS pods (CoreDNS on EKS keeps kube-dns's label)."""
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace: selects a namespace by its name."""


def _tcp(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def _policy(name: str, settings: WorkloadSettings, component: str, spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, settings, component),
        "spec": spec,
    }


def default_deny(settings: WorkloadSettings) -> Manifest:
    """Every pod of the namespace: no ingress, no egress, but what another policy allows."""
    return _policy(DEFAULT_DENY, settings, "network", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]})


def allow_dns(settings: WorkloadSettings) -> Manifest:
    """Every pod of the namespace may ask the cluster DNS (Service names, the control plane's host name)."""
    return _policy(
        ALLOW_DNS,
        settings,
        "network",
        {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: KUBE_DNS_NAMESPACE}},
                            "podSelector": {"matchLabels": dict(KUBE_DNS_LABELS)},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": DNS_PORT}, _tcp(DNS_PORT)],
                }
            ],
        },
    )


def _https_and(ports: tuple[int, ...]) -> dict[str, Any]:
    """Egress to any address on 443 and ``ports``."""
    return {"to": [{"ipBlock": {"cidr": ANYWHERE}}], "ports": [_tcp(HTTPS_PORT), *(_tcp(p) for p in ports)]}


def backend(settings: WorkloadSettings) -> Manifest:
    """The backend pods: the ALB in on the gateway port; the transformer, HTTPS (and chosen ports) out."""
    return _policy(
        BACKEND_NAME,
        settings,
        BACKEND,
        {
            "podSelector": {"matchLabels": selector(BACKEND)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [{"ipBlock": {"cidr": cidr}} for cidr in settings.load_balancer_source_cidrs],
                    "ports": [_tcp(GATEWAY_PORT)],
                }
            ],
            "egress": _backend_egress(settings),
        },
    )


def _backend_egress(settings: WorkloadSettings) -> list[dict[str, Any]]:
    """Where rudder-server (and its sidecars) may connect: the transformer, HTTPS and chosen ports, and the
    Pod Identity agent where the backlog is published."""
    return [
        {"to": [{"podSelector": {"matchLabels": selector(TRANSFORMER)}}], "ports": [_tcp(TRANSFORMER_PORT)]},
        _https_and(settings.backend_egress_ports),
        *(
            [{"to": [{"ipBlock": {"cidr": POD_IDENTITY_AGENT_CIDR}}], "ports": [_tcp(POD_IDENTITY_AGENT_PORT)]}]
            if settings.metrics_environment is not None
            else []
        ),
    ]


def orphan_drain(settings: WorkloadSettings) -> Manifest:
    """The processor-only Jobs over retained volumes (:mod:`rudder_ha.topologies.eks.k8s.orphan_drain`):
    nothing in, the backend's egress out."""
    return _policy(
        ORPHAN_DRAIN_POLICY,
        settings,
        ORPHAN_DRAIN,
        {
            "podSelector": {"matchLabels": selector(ORPHAN_DRAIN)},
            "policyTypes": ["Ingress", "Egress"],
            "egress": _backend_egress(settings),
        },
    )


def transformer(settings: WorkloadSettings) -> Manifest:
    """The transformer pods: the backend in on 9090; HTTPS out (user transformations' libraries, APIs)."""
    return _policy(
        TRANSFORMER_NAME,
        settings,
        TRANSFORMER,
        {
            "podSelector": {"matchLabels": selector(TRANSFORMER)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": selector(BACKEND)}},
                        {"podSelector": {"matchLabels": selector(ORPHAN_DRAIN)}},
                    ],
                    "ports": [_tcp(TRANSFORMER_PORT)],
                }
            ],
            "egress": [_https_and(())],
        },
    )


def policies(settings: WorkloadSettings) -> list[Manifest]:
    """The namespace's NetworkPolicies, the default deny first."""
    return [
        default_deny(settings),
        allow_dns(settings),
        backend(settings),
        transformer(settings),
        orphan_drain(settings),
    ]

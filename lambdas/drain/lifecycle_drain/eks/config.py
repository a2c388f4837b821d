"""Strategy selection and the EKS settings of the drain Lambda, read from its environment.

Environment variables
---------------------
``DRAIN_STRATEGY`` (default ``ec2``)
    ``ec2``: drain EC2 data-plane instances (target groups + on-node jobsdb check).
    ``eks``: drain the EKS node backing the terminating instance (cordon + evict its pods).
``EKS_CLUSTER_NAME`` (required with ``eks``)
    The cluster's name; it is signed into every bearer token (``x-k8s-aws-id``).
``EKS_CLUSTER_ENDPOINT`` and ``EKS_CLUSTER_CA`` (optional, both or neither)
    The API server URL (``https://...``) and the cluster CA as EKS publishes it
    (``certificateAuthority.data``: base64 of the PEM). When unset, the function reads both once
    per execution environment with ``eks:DescribeCluster``. Setting them avoids that call and
    its IAM permission.
``EKS_NODE_LABEL_SELECTOR`` (optional)
    Label selector narrowing the node listing used to find the node of an instance (e.g.
    ``eks.amazonaws.com/nodegroup=rudder``). A node it does not find is searched once more
    without it.
``K8S_REQUEST_TIMEOUT_SECONDS`` (default 10, 1..60)
    Timeout of every Kubernetes API request (connect and each read).
``EKS_MAX_EVICTIONS_PER_STEP`` (default 20, 1..500)
    Eviction requests sent in one step at most (the rest follow in the next steps).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from ..config import ConfigError, read_integer
from .k8s_client import decode_ca

STRATEGY_EC2 = "ec2"
STRATEGY_EKS = "eks"
STRATEGIES = (STRATEGY_EC2, STRATEGY_EKS)


def selected_strategy(env: Mapping[str, str]) -> str:
    """The value of ``DRAIN_STRATEGY`` (``ec2`` when unset); :class:`ConfigError` when unknown."""
    value = env.get("DRAIN_STRATEGY", "").strip().lower() or STRATEGY_EC2
    if value not in STRATEGIES:
        raise ConfigError(f"invalid drain configuration: DRAIN_STRATEGY must be one of {STRATEGIES}, got {value!r}")
    return value


@dataclass(frozen=True)
class EksSettings:
    """Settings of the EKS node drain (see the module docstring)."""

    cluster_name: str
    endpoint: str | None = None
    ca_pem: str | None = None
    node_label_selector: str | None = None
    request_timeout_seconds: int = 10
    max_evictions_per_step: int = 20

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> EksSettings:
        """Read and validate; raise :class:`ConfigError` listing every problem."""
        problems: list[str] = []

        def integer(name: str, default: int, low: int, high: int) -> int:
            return read_integer(env, problems, name, default, low, high)

        cluster = env.get("EKS_CLUSTER_NAME", "").strip()
        if not cluster:
            problems.append("EKS_CLUSTER_NAME is required with DRAIN_STRATEGY=eks")
        endpoint = env.get("EKS_CLUSTER_ENDPOINT", "").strip() or None
        ca_data = env.get("EKS_CLUSTER_CA", "").strip() or None
        ca_pem: str | None = None
        if (endpoint is None) != (ca_data is None):
            problems.append("EKS_CLUSTER_ENDPOINT and EKS_CLUSTER_CA must be set together (or both left unset)")
        if endpoint is not None:
            parts = urllib.parse.urlsplit(endpoint)
            if parts.scheme != "https" or not parts.hostname:
                problems.append(f"EKS_CLUSTER_ENDPOINT must be an https:// URL, got {endpoint!r}")
        if ca_data is not None:
            try:
                ca_pem = decode_ca(ca_data)
            except ValueError as exc:
                problems.append(f"EKS_CLUSTER_CA: {exc}")
        settings = cls(
            cluster_name=cluster,
            endpoint=endpoint,
            ca_pem=ca_pem,
            node_label_selector=env.get("EKS_NODE_LABEL_SELECTOR", "").strip() or None,
            request_timeout_seconds=integer("K8S_REQUEST_TIMEOUT_SECONDS", 10, 1, 60),
            max_evictions_per_step=integer("EKS_MAX_EVICTIONS_PER_STEP", 20, 1, 500),
        )
        if problems:
            raise ConfigError("invalid drain configuration: " + "; ".join(problems))
        return settings

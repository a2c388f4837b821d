"""EKS ``DescribeClusterVersions`` (moto does not implement it).

Reproduces the documented answer: ``clusterVersions`` lists Kubernetes versions with their
``versionStatus`` (``STANDARD_SUPPORT``, ``EXTENDED_SUPPORT``, ``UNSUPPORTED``), filtered by the
``clusterVersions`` parameter; a version EKS does not know is simply absent from the list (EKS user
guide, "Kubernetes version lifecycle on EKS"; API reference, DescribeClusterVersions).
"""

from __future__ import annotations

from typing import Any

from tests.support.aws_emulation.answered_operations import answer_operations

VERSIONS: dict[str, str] = {
    "1.30": "UNSUPPORTED",
    "1.31": "EXTENDED_SUPPORT",
    "1.32": "EXTENDED_SUPPORT",
    "1.33": "STANDARD_SUPPORT",
    "1.34": "STANDARD_SUPPORT",
    "1.35": "STANDARD_SUPPORT",
}
"""The lifecycle the tests assume (a snapshot shape, not a claim about today's calendar)."""


def answer_cluster_versions(client: Any, versions: dict[str, str] | None = None) -> Any:
    """Makes an EKS client answer ``DescribeClusterVersions`` from ``versions`` (default :data:`VERSIONS`)."""
    table = dict(VERSIONS if versions is None else versions)

    def describe(params: dict[str, Any]) -> dict[str, Any]:
        wanted = params.get("clusterVersions") or list(table)
        return {
            "clusterVersions": [
                {"clusterVersion": v, "versionStatus": table[v], "status": table[v]} for v in wanted if v in table
            ]
        }

    return answer_operations(client, {"DescribeClusterVersions": describe})

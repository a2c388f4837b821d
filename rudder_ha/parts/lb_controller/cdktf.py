"""The AWS Load Balancer Controller, added to a stack as plain resources (no construct of its own, so its
resources keep their construct paths): its Pod Identity role and the pinned Helm release."""

from __future__ import annotations

from typing import NamedTuple

import yaml
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_helm.release import Release, ReleaseSet
from constructs import Construct

from rudder_ha.parts.eks_cluster.cdktf import pod_identity_role
from rudder_ha.parts.lb_controller import spec
from rudder_ha.parts.lb_controller.spec import LbControllerProps

__all__ = ["LbController", "LbControllerProps", "lb_controller"]


class LbController(NamedTuple):
    """What :func:`lb_controller` adds that others refer to."""

    role: IamRole
    release: Release


def lb_controller(scope: Construct, id_: str, props: LbControllerProps) -> LbController:
    """Adds to ``scope`` the controller's Pod Identity role (``<id>_role``, ``<id>_policy``,
    ``<id>_pod_identity``) and its Helm release ``<id>``, installed once the role's credentials can be
    injected. The scope needs the helm provider configured for the cluster."""
    identity = pod_identity_role(
        scope,
        id_,
        name=spec.role_name(props.cluster_name),
        policy=spec.policy(props),
        cluster_name=props.cluster_name,
        namespace=spec.NAMESPACE,
        service_account=spec.SERVICE_ACCOUNT,
    )
    release = Release(
        scope,
        id_,
        name=spec.CHART,
        namespace=spec.NAMESPACE,
        repository=spec.REPOSITORY,
        chart=spec.CHART,
        version=spec.VERSION,
        values=[yaml.safe_dump(spec.helm_values(props), sort_keys=True)],
        set=[ReleaseSet(name="vpcId", value=props.vpc_id)],
        wait=True,
        atomic=True,
        # Credentials are injected when a pod starts: the association and policy come first.
        depends_on=[identity.policy, identity.association],
    )
    return LbController(identity.role, release)

"""What the stacks take from the platform: a pinned AMI, a supported EKS version, service-linked roles."""

from __future__ import annotations

from botocore.exceptions import ClientError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.doctor.identity import Caller
from rudder_ha.doctor.results import ACCESS_DENIED, NOT_FOUND, Check, ClientFactory, denied, error_code, fail, ok, skip

SUPPORTED_EKS_STATUSES = frozenset({"STANDARD_SUPPORT", "EXTENDED_SUPPORT"})


def pinned_ami(config: EnvironmentConfig, clients: ClientFactory) -> Check:
    """A pinned ``instance.ami`` exists in the region, is available and has the instance's architecture."""
    ami = config.instance.ami
    if config.eks is not None or not ami.startswith("ami-"):
        return skip("AMI", f"not pinned ({ami or 'EKS nodes use the EKS-optimized image'})")
    name = f"AMI {ami}"
    try:
        images = clients("ec2", config.region).describe_images(ImageIds=[ami])["Images"]
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return denied(name, "ec2:DescribeImages", exc)
        if error_code(exc) not in NOT_FOUND:
            raise
        images = []
    if not images:
        return fail(name, f"not found in {config.region} (or not shared with this account)", "fix instance.ami")
    image = images[0]
    if image.get("State", "available") != "available":
        return fail(name, f"is {image.get('State')}", "wait for the image, or pin another instance.ami")
    arch = image.get("Architecture", config.instance.architecture)
    if arch != config.instance.architecture:
        return fail(name, f"is {arch}, instance.architecture is {config.instance.architecture}", "make them agree")
    return ok(name, f"available, {arch}")


def eks_version(config: EnvironmentConfig, clients: ClientFactory) -> Check:
    """The EKS cluster's Kubernetes version is offered by EKS in the region (standard or extended support)."""
    if config.eks is None:
        return skip("EKS version", "not an EKS environment")
    version = config.eks.kubernetes_version
    name = f"EKS version {version}"
    try:
        found = clients("eks", config.region).describe_cluster_versions(clusterVersions=[version])["clusterVersions"]
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return denied(name, "eks:DescribeClusterVersions", exc)
        raise
    statuses = [v.get("versionStatus") or v.get("status", "") for v in found if v.get("clusterVersion") == version]
    if not statuses or statuses[0] not in SUPPORTED_EKS_STATUSES:
        listed = clients("eks", config.region).describe_cluster_versions()["clusterVersions"]
        offered = sorted(
            (
                str(v["clusterVersion"])
                for v in listed
                if (v.get("versionStatus") or v.get("status")) in SUPPORTED_EKS_STATUSES
            ),
            key=lambda text: tuple(int(p) for p in text.split(".")),
        )
        return fail(
            name,
            f"not offered by EKS in {config.region} ({statuses[0] if statuses else 'unknown version'})",
            f"set eks.kubernetes_version to one of {', '.join(offered) or 'the versions EKS lists'}",
        )
    return ok(name, statuses[0].replace("_", " ").lower())


def service_linked_roles(config: EnvironmentConfig) -> dict[str, str]:
    """``role name -> service principal`` of the service-linked roles the stacks rely on."""
    roles = {
        "AWSServiceRoleForAutoScaling": "autoscaling.amazonaws.com",
        "AWSServiceRoleForElasticLoadBalancing": "elasticloadbalancing.amazonaws.com",
    }
    if config.eks is not None:
        roles["AWSServiceRoleForAmazonEKS"] = "eks.amazonaws.com"
        roles["AWSServiceRoleForAmazonEKSNodegroup"] = "eks-nodegroup.amazonaws.com"
    else:
        if config.image_pipeline.enabled:
            roles["AWSServiceRoleForImageBuilder"] = "imagebuilder.amazonaws.com"
        if config.jobsdb.on_rds:
            roles["AWSServiceRoleForRDS"] = "rds.amazonaws.com"
    return roles


def _principal_arn(who: Caller) -> str:
    """The IAM ARN a policy simulation takes: an assumed-role session is simulated as its role."""
    parts = who.arn.split(":")
    if len(parts) == 6 and parts[5].startswith("assumed-role/"):
        role = parts[5].split("/")[1]
        return ":".join([*parts[:2], "iam", "", parts[4], f"role/{role}"])
    return who.arn


def check_service_linked_role(
    clients: ClientFactory, config: EnvironmentConfig, who: Caller, role: str, service: str
) -> Check:
    """The role exists, or the caller may create it (it is created on first use)."""
    name = f"service-linked role {role}"
    iam = clients("iam", config.region)
    try:
        iam.get_role(RoleName=role)
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return denied(name, "iam:GetRole", exc)
        if error_code(exc) not in NOT_FOUND:
            raise
    else:
        return ok(name, "exists")
    create = f"aws iam create-service-linked-role --aws-service-name {service}"
    try:
        result = iam.simulate_principal_policy(
            PolicySourceArn=_principal_arn(who),
            ActionNames=["iam:CreateServiceLinkedRole"],
            ContextEntries=[
                {"ContextKeyName": "iam:AWSServiceName", "ContextKeyValues": [service], "ContextKeyType": "string"}
            ],
        )["EvaluationResults"]
    except (ClientError, NotImplementedError):
        return fail(name, "absent, and doctor could not tell whether these credentials may create it", create)
    if result and result[0].get("EvalDecision") == "allowed":
        return ok(name, "absent; AWS creates it on first use (these credentials may)")
    return fail(name, "absent, and these credentials may not create it", create)

"""The artifacts bucket's settings, the SSM parameter naming it and the read policy of the instance bundle,
shared by the cdktf construct (:mod:`rudder_ha.parts.instance_artifacts.cdktf`) and the Pulumi component
(:mod:`rudder_ha.parts.instance_artifacts.pulumi`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rudder_ha.common.refs import Ref
from rudder_ha.instance.bundle import KEY_PREFIX, InstanceBundle
from rudder_ha.parts import Part
from rudder_ha.parts.instance_role.spec import ssm_parameter_arn

PART = Part("instance_artifacts", "InstanceArtifacts")
"""Renderers: :class:`rudder_ha.parts.instance_artifacts.cdktf.InstanceArtifacts` and its Pulumi twin."""

LIFECYCLE_RULE_ID = "expire-old-versions"
NONCURRENT_DAYS = 90
"""Superseded bundles stay readable this long (instances launched from an older template still fetch them)."""
BUNDLE_CONTENT_TYPE = "application/gzip"
PARAMETER_TYPE = "SecureString"
READ_POLICY_NAME = "read-instance-bundle"


@dataclass(frozen=True)
class InstanceArtifactsProps:
    """Props of ``InstanceArtifacts`` (the cdktf construct and the Pulumi component alike)."""

    name_prefix: str
    environment: str
    region: str
    kms_key_arn: Ref
    """Encrypts the bucket, the bundle object and the SSM parameter (the environment's key)."""
    bundle: InstanceBundle
    """From :func:`rudder_ha.instance.bundle.build_bundle`; uploaded as a file under its SHA-256."""


def artifacts_parameter(environment: str) -> str:
    """The SSM parameter naming the artifacts bucket (read by ``ami/bootstrap.sh``)."""
    return f"/rudder-ha/{environment}/artifacts-bucket"


def bucket_prefix(name_prefix: str) -> str:
    """The artifacts bucket's name prefix (S3 appends a unique suffix)."""
    return f"{name_prefix}-artifacts-"


def parameter_description(name_prefix: str) -> str:
    """The SSM parameter's description."""
    return f"{name_prefix}: bucket holding the instance bundle"


def bucket_args(name_prefix: str, kms_key_arn: Ref) -> dict[str, Any]:
    """The fields of the bucket's ``PrivateBucketProps``: versioned, old versions expire, KMS-encrypted."""
    return {
        "bucket_prefix": bucket_prefix(name_prefix),
        "lifecycle_rule_id": LIFECYCLE_RULE_ID,
        "noncurrent_days": NONCURRENT_DAYS,
        "kms_key_arn": kms_key_arn,
    }


def bundle_object_args(bucket_id: Ref, bundle: InstanceBundle, kms_key_arn: Ref) -> dict[str, Any]:
    """The bundle object's settings, apart from its source (a Terraform asset path or a Pulumi ``FileAsset``)."""
    return {"bucket": bucket_id, "key": bundle.key, "kms_key_id": kms_key_arn, "content_type": BUNDLE_CONTENT_TYPE}


def parameter_args(props: InstanceArtifactsProps, bucket_name: Ref) -> dict[str, Any]:
    """The SSM parameter that tells instances which bucket holds their bundle."""
    return {
        "name": artifacts_parameter(props.environment),
        "type": PARAMETER_TYPE,
        "key_id": props.kms_key_arn,
        "description": parameter_description(props.name_prefix),
        "value": bucket_name,
    }


def bundle_read_policy(
    bucket_arn: str, environment: str, kms_key_arn: str, partition: str, region: str, account: str
) -> dict:
    """Lets a role find the bucket and read instance bundles, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FindArtifactsBucket",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": ssm_parameter_arn(partition, region, account, artifacts_parameter(environment)),
            },
            {
                "Sid": "ReadInstanceBundles",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{bucket_arn}/{KEY_PREFIX}/*",
            },
            {
                "Sid": "DecryptArtifacts",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {
                    "StringEquals": {"kms:ViaService": [f"s3.{region}.amazonaws.com", f"ssm.{region}.amazonaws.com"]}
                },
            },
        ],
    }

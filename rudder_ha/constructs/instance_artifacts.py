"""The environment's artifacts bucket, holding the instance bundle that the user data fetches at boot."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.s3_object import S3Object
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from rudder_ha.constructs.naming import policy_json
from rudder_ha.constructs.private_bucket import PrivateBucketProps, add_private_bucket
from rudder_ha.instance_bundle import KEY_PREFIX, InstanceBundle


def artifacts_parameter(environment: str) -> str:
    """The SSM parameter naming the artifacts bucket (read by ``ami/bootstrap.sh``)."""
    return f"/rudder-ha/{environment}/artifacts-bucket"


@dataclass(frozen=True)
class InstanceArtifactsProps:
    """Props of :class:`InstanceArtifacts`."""

    name_prefix: str
    environment: str
    region: str
    kms_key_arn: str
    bundle: InstanceBundle


class InstanceArtifacts(Construct):
    """A private, versioned, KMS-encrypted, TLS-only bucket with the instance bundle under its SHA-256,
    and the SSM parameter that tells instances where it is."""

    def __init__(self, scope: Construct, id_: str, props: InstanceArtifactsProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self._partition = DataAwsPartition(self, "partition").partition
        self._account = DataAwsCallerIdentity(self, "account").account_id
        self.bucket = add_private_bucket(
            self,
            PrivateBucketProps(
                bucket_prefix=f"{props.name_prefix}-artifacts-",
                lifecycle_rule_id="expire-old-versions",
                noncurrent_days=90,
                kms_key_arn=props.kms_key_arn,
            ),
        )
        asset = TerraformAsset(self, "bundle_file", path=str(props.bundle.path), type=AssetType.FILE)
        self.bundle_object = S3Object(
            self,
            "bundle",
            bucket=self.bucket.id,
            key=props.bundle.key,
            source=asset.path,
            kms_key_id=props.kms_key_arn,
            content_type="application/gzip",
        )
        self.parameter = SsmParameter(
            self,
            "bucket_name",
            name=artifacts_parameter(props.environment),
            type="SecureString",
            key_id=props.kms_key_arn,
            description=f"{props.name_prefix}: bucket holding the instance bundle",
            value=self.bucket.bucket,
        )

    def grant_read(self, role_name: str) -> None:
        """Lets ``role_name`` find the bucket and read instance bundles, nothing else."""
        p = self._props
        IamRolePolicy(
            self,
            "instance_read",
            role=role_name,
            name="read-instance-bundle",
            policy=policy_json(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "FindArtifactsBucket",
                            "Effect": "Allow",
                            "Action": "ssm:GetParameter",
                            "Resource": (
                                f"arn:{self._partition}:ssm:{p.region}:{self._account}:parameter"
                                f"{artifacts_parameter(p.environment)}"
                            ),
                        },
                        {
                            "Sid": "ReadInstanceBundles",
                            "Effect": "Allow",
                            "Action": "s3:GetObject",
                            "Resource": f"{self.bucket.arn}/{KEY_PREFIX}/*",
                        },
                        {
                            "Sid": "DecryptArtifacts",
                            "Effect": "Allow",
                            "Action": "kms:Decrypt",
                            "Resource": p.kms_key_arn,
                            "Condition": {
                                "StringEquals": {
                                    "kms:ViaService": [f"s3.{p.region}.amazonaws.com", f"ssm.{p.region}.amazonaws.com"]
                                }
                            },
                        },
                    ],
                }
            ),
        )

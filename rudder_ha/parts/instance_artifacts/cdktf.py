"""The environment's artifacts bucket, holding the instance bundle that the user data fetches at boot."""

from __future__ import annotations

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.s3_object import S3Object
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.instance_artifacts import spec
from rudder_ha.parts.instance_artifacts.spec import InstanceArtifactsProps, artifacts_parameter
from rudder_ha.parts.private_bucket.cdktf import PrivateBucketProps, add_private_bucket

__all__ = ["InstanceArtifacts", "InstanceArtifactsProps", "artifacts_parameter"]


class InstanceArtifacts(Construct):
    """A private, versioned, KMS-encrypted, TLS-only bucket with the instance bundle under its SHA-256,
    and the SSM parameter that tells instances where it is."""

    def __init__(self, scope: Construct, id_: str, props: InstanceArtifactsProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self._partition = DataAwsPartition(self, "partition").partition
        self._account = DataAwsCallerIdentity(self, "account").account_id
        self.bucket = add_private_bucket(
            self, PrivateBucketProps(**spec.bucket_args(props.name_prefix, props.kms_key_arn))
        )
        asset = TerraformAsset(self, "bundle_file", path=str(props.bundle.path), type=AssetType.FILE)
        self.bundle_object = S3Object(
            self,
            "bundle",
            **spec.bundle_object_args(self.bucket.id, props.bundle, props.kms_key_arn),
            source=asset.path,
        )
        self.parameter = SsmParameter(self, "bucket_name", **spec.parameter_args(props, self.bucket.bucket))

    def grant_read(self, role_name: str) -> None:
        """Lets ``role_name`` find the bucket and read instance bundles, nothing else."""
        p = self._props
        IamRolePolicy(
            self,
            "instance_read",
            role=role_name,
            name=spec.READ_POLICY_NAME,
            policy=policy_json(
                spec.bundle_read_policy(
                    self.bucket.arn, p.environment, p.kms_key_arn, self._partition, p.region, self._account
                )
            ),
        )

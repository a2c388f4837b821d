"""The environment's artifacts bucket, holding the instance bundle that the user data fetches at boot
(Pulumi counterpart of :mod:`rudder_ha.parts.instance_artifacts.cdktf`; settings and the read policy from
:mod:`rudder_ha.parts.instance_artifacts.spec`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.parts.instance_artifacts import spec
from rudder_ha.parts.instance_artifacts.spec import InstanceArtifactsProps, artifacts_parameter
from rudder_ha.parts.private_bucket.pulumi import PrivateBucketProps, add_private_bucket

__all__ = ["InstanceArtifacts", "InstanceArtifactsProps", "artifacts_parameter"]


class InstanceArtifacts(pulumi.ComponentResource):
    """A private, versioned, KMS-encrypted, TLS-only bucket with the instance bundle under its SHA-256,
    and the SSM parameter that tells instances where it is.

    Attributes: ``bucket``, ``bundle_object`` (what the group's first launch must wait for), ``parameter``.
    :meth:`grant_read` lets the instance role find the bucket and read bundles."""

    def __init__(self, name: str, props: InstanceArtifactsProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:instance_artifacts:InstanceArtifacts", name, None, opts)
        self._name = name
        self._props = props
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._partition = aws.get_partition_output(opts=invoke).partition
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self.bucket = add_private_bucket(
            self, name, PrivateBucketProps(**spec.bucket_args(props.name_prefix, props.kms_key_arn))
        )
        self.bundle_object = aws.s3.BucketObjectv2(
            f"{name}-bundle",
            **spec.bundle_object_args(self.bucket.id, props.bundle, props.kms_key_arn),
            source=pulumi.FileAsset(str(props.bundle.path)),
            opts=child,
        )
        self.parameter = aws.ssm.Parameter(
            f"{name}-bucket_name", **spec.parameter_args(props, self.bucket.bucket), opts=child
        )
        self.register_outputs({"bucket": self.bucket.bucket, "bundle_key": props.bundle.key})

    def grant_read(self, role_name: pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Lets ``role_name`` find the bucket and read instance bundles, nothing else."""
        p = self._props
        return aws.iam.RolePolicy(
            f"{self._name}-instance_read",
            role=role_name,
            name=spec.READ_POLICY_NAME,
            policy=pulumi.Output.all(self.bucket.arn, p.kms_key_arn, self._partition, self._account).apply(
                lambda v: policy_json(spec.bundle_read_policy(v[0], p.environment, v[1], v[2], p.region, v[3]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

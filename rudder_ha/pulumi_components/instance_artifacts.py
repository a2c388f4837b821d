"""The environment's artifacts bucket, holding the instance bundle that the user data fetches at boot
(Pulumi counterpart of :mod:`rudder_ha.constructs.instance_artifacts`; settings and the read policy from
:mod:`rudder_ha.specs.instance_artifacts`)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from rudder_ha.instance_bundle import InstanceBundle
from rudder_ha.policies import policy_json
from rudder_ha.pulumi_components.private_bucket import PrivateBucketProps, add_private_bucket
from rudder_ha.specs import instance_artifacts as spec
from rudder_ha.specs.instance_artifacts import artifacts_parameter

__all__ = ["InstanceArtifacts", "InstanceArtifactsProps", "artifacts_parameter"]


@dataclass(frozen=True)
class InstanceArtifactsProps:
    """Props of :class:`InstanceArtifacts`."""

    name_prefix: str
    environment: str
    region: str
    kms_key_arn: pulumi.Input[str]
    bundle: InstanceBundle
    """From :func:`rudder_ha.instance_bundle.build_bundle`; uploaded as a file under its SHA-256."""


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
            self,
            name,
            PrivateBucketProps(
                bucket_prefix=spec.bucket_prefix(props.name_prefix),
                lifecycle_rule_id=spec.LIFECYCLE_RULE_ID,
                noncurrent_days=spec.NONCURRENT_DAYS,
                kms_key_arn=props.kms_key_arn,
            ),
        )
        self.bundle_object = aws.s3.BucketObjectv2(
            f"{name}-bundle",
            bucket=self.bucket.id,
            key=props.bundle.key,
            source=pulumi.FileAsset(str(props.bundle.path)),
            kms_key_id=props.kms_key_arn,
            content_type=spec.BUNDLE_CONTENT_TYPE,
            opts=child,
        )
        self.parameter = aws.ssm.Parameter(
            f"{name}-bucket_name",
            name=artifacts_parameter(props.environment),
            type=spec.PARAMETER_TYPE,
            key_id=props.kms_key_arn,
            description=spec.parameter_description(props.name_prefix),
            value=self.bucket.bucket,
            opts=child,
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

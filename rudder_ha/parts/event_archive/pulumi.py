"""The event archive (Pulumi counterpart of :mod:`rudder_ha.parts.event_archive.cdktf`; names, settings and
policies from :mod:`rudder_ha.parts.event_archive.spec`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.parts.event_archive import spec
from rudder_ha.parts.event_archive.spec import EventArchiveProps
from rudder_ha.parts.private_bucket.pulumi import PrivateBucketProps, add_private_bucket

__all__ = ["EventArchive", "EventArchiveProps"]


class EventArchive(pulumi.ComponentResource):
    """The archive bucket, the writer role and its policy, the parameter naming both.

    Attributes: ``bucket``, ``writer_role``, ``writer_policy``, ``parameter``. :meth:`grant_use` lets the
    instance role find the archive and assume the writer role."""

    def __init__(self, name: str, props: EventArchiveProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:event_archive:EventArchive", name, None, opts)
        self._name = name
        self._props = props
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self._partition = aws.get_partition_output(opts=invoke).partition
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self.writer_role = aws.iam.Role(
            f"{name}-writer_role",
            **spec.writer_role_args(props.name_prefix),
            assume_role_policy=pulumi.Output.from_input(props.instance_role_arn).apply(
                lambda arn: policy_json(spec.writer_trust_policy(arn))
            ),
            opts=child,
        )
        self.bucket = add_private_bucket(
            self,
            name,
            PrivateBucketProps(**spec.bucket_args(props)),
            lambda bucket: pulumi.Output.all(bucket.arn, self.writer_role.arn).apply(
                lambda v: spec.bucket_statements(v[0], v[1])
            ),
        )
        self.writer_policy = aws.iam.RolePolicy(
            f"{name}-writer_policy",
            role=self.writer_role.id,
            name=spec.WRITER_POLICY_NAME,
            policy=pulumi.Output.all(self.bucket.arn, props.kms_key_arn).apply(
                lambda v: policy_json(spec.writer_policy(v[0], v[1], props.region))
            ),
            opts=child,
        )
        value = pulumi.Output.all(self.bucket.bucket, self.writer_role.arn).apply(
            lambda v: spec.parameter_value(v[0], v[1])
        )
        self.parameter = aws.ssm.Parameter(f"{name}-parameter", **spec.parameter_args(props, value), opts=child)
        self.register_outputs({"bucket": self.bucket.bucket, "writer_role_arn": self.writer_role.arn})

    def grant_use(self, role_name: pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Lets ``role_name`` (the instance role) read the archive parameter and assume the writer role."""
        p = self._props
        return aws.iam.RolePolicy(
            f"{self._name}-instance_use",
            role=role_name,
            name=spec.INSTANCE_POLICY_NAME,
            policy=pulumi.Output.all(self.writer_role.arn, p.kms_key_arn, self._partition, self._account).apply(
                lambda v: policy_json(spec.instance_policy(v[0], v[1], p.environment, v[2], p.region, v[3]))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

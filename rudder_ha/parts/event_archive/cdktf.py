"""The event archive (cdktf): a private, KMS-encrypted bucket with a lifecycle, the role rudder-server's
archiver writes with, and the SSM parameter telling the instance both (settings from
:mod:`rudder_ha.parts.event_archive.spec`)."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.ssm_parameter import SsmParameter
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.event_archive import spec
from rudder_ha.parts.event_archive.spec import EventArchiveProps
from rudder_ha.parts.private_bucket.cdktf import PrivateBucketProps, add_private_bucket

__all__ = ["EventArchive", "EventArchiveProps"]


class EventArchive(Construct):
    """The archive bucket (ids of :func:`add_private_bucket`), the writer role and its policy, the parameter.

    :meth:`grant_use` lets the instance role find the archive and assume the writer role."""

    def __init__(self, scope: Construct, id_: str, props: EventArchiveProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self._partition = DataAwsPartition(self, "partition").partition
        self._account = DataAwsCallerIdentity(self, "account").account_id
        self.writer_role = IamRole(
            self,
            "writer_role",
            **spec.writer_role_args(props.name_prefix),
            assume_role_policy=policy_json(spec.writer_trust_policy(props.instance_role_arn)),
        )
        self.bucket = add_private_bucket(
            self,
            PrivateBucketProps(**spec.bucket_args(props)),
            lambda bucket: spec.bucket_statements(bucket.arn, self.writer_role.arn),
        )
        self.writer_policy = IamRolePolicy(
            self,
            "writer_policy",
            role=self.writer_role.id,
            name=spec.WRITER_POLICY_NAME,
            policy=policy_json(spec.writer_policy(self.bucket.arn, props.kms_key_arn, props.region)),
        )
        self.parameter = SsmParameter(
            self,
            "parameter",
            **spec.parameter_args(props, spec.parameter_value(self.bucket.bucket, self.writer_role.arn)),
        )

    def grant_use(self, role_name: str) -> None:
        """Lets ``role_name`` (the instance role) read the archive parameter and assume the writer role."""
        p = self._props
        IamRolePolicy(
            self,
            "instance_use",
            role=role_name,
            name=spec.INSTANCE_POLICY_NAME,
            policy=policy_json(
                spec.instance_policy(
                    self.writer_role.arn, p.kms_key_arn, p.environment, self._partition, p.region, self._account
                )
            ),
        )

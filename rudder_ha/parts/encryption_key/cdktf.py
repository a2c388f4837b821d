"""A customer-managed KMS key per environment for logs, queues, topics and tables."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.encryption_key import spec
from rudder_ha.parts.encryption_key.spec import EncryptionKeyProps

__all__ = ["EncryptionKey", "EncryptionKeyProps"]


class EncryptionKey(Construct):
    """A rotating KMS key whose policy lets the account administer it and named services use it."""

    def __init__(self, scope: Construct, id_: str, props: EncryptionKeyProps) -> None:
        super().__init__(scope, id_)
        self.account = DataAwsCallerIdentity(self, "account")
        self.partition = DataAwsPartition(self, "partition")
        self.key = KmsKey(
            self,
            "key",
            **spec.key_settings(props),
            policy=policy_json(
                spec.key_policy(
                    self.partition.partition,
                    self.account.account_id,
                    props.region,
                    props.service_principals,
                    name_prefix=props.name_prefix,
                )
            ),
        )
        KmsAlias(self, "alias", name=spec.alias_name(props.name_prefix), target_key_id=self.key.key_id)

    @property
    def arn(self) -> str:
        """The key's ARN."""
        return self.key.arn

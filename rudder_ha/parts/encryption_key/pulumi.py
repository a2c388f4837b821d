"""A customer-managed KMS key per environment for logs, queues, topics and tables (Pulumi counterpart of
:mod:`rudder_ha.parts.encryption_key.cdktf`; the policy comes from :mod:`rudder_ha.parts.encryption_key.spec`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.parts.encryption_key import spec
from rudder_ha.parts.encryption_key.spec import EncryptionKeyProps

__all__ = ["EncryptionKey", "EncryptionKeyProps"]


class EncryptionKey(pulumi.ComponentResource):
    """A rotating KMS key whose policy lets the account administer it and named services use it.

    Attributes: ``key`` (the ``aws.kms.Key``), ``alias``, ``account`` and ``partition`` (the data-source
    results, as Outputs), and :attr:`arn`.
    """

    def __init__(self, name: str, props: EncryptionKeyProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:encryption_key:EncryptionKey", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self.account = aws.get_caller_identity_output(opts=invoke)
        self.partition = aws.get_partition_output(opts=invoke)
        policy = pulumi.Output.all(self.partition.partition, self.account.account_id).apply(
            lambda v: policy_json(
                spec.key_policy(v[0], v[1], props.region, props.service_principals, name_prefix=props.name_prefix)
            )
        )
        self.key = aws.kms.Key(
            f"{name}-key",
            **spec.key_settings(props),
            policy=policy,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alias = aws.kms.Alias(
            f"{name}-alias",
            name=spec.alias_name(props.name_prefix),
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"arn": self.key.arn, "alias": self.alias.name})

    @property
    def arn(self) -> pulumi.Output[str]:
        """The key's ARN."""
        return self.key.arn

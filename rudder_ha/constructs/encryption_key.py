"""A customer-managed KMS key per environment for logs, queues, topics and tables."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_partition import DataAwsPartition
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from rudder_ha.constructs.naming import policy_json


@dataclass(frozen=True)
class EncryptionKeyProps:
    """Props of :class:`EncryptionKey`."""

    name_prefix: str
    region: str
    deletion_window_days: int = 30
    service_principals: tuple[str, ...] = ("logs", "cloudwatch", "events", "sns")
    """Services (short names, e.g. ``logs``, ``sns``) allowed to use the key in this account."""


class EncryptionKey(Construct):
    """A rotating KMS key whose policy lets the account administer it and named services use it."""

    def __init__(self, scope: Construct, id_: str, props: EncryptionKeyProps) -> None:
        super().__init__(scope, id_)
        self.account = DataAwsCallerIdentity(self, "account")
        self.partition = DataAwsPartition(self, "partition")
        account_root = f"arn:{self.partition.partition}:iam::{self.account.account_id}:root"
        statements: list[dict] = [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": account_root},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        for service in props.service_principals:
            principal = f"logs.{props.region}.amazonaws.com" if service == "logs" else f"{service}.amazonaws.com"
            statement: dict = {
                "Sid": f"{service.capitalize()}UsesKey",
                "Effect": "Allow",
                "Principal": {"Service": principal},
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "*",
            }
            if service == "logs":
                statement["Condition"] = {
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{self.partition.partition}:logs:{props.region}:{self.account.account_id}:*"
                        )
                    }
                }
            elif service != "cloudwatch":
                # CloudWatch alarms publishing to an encrypted topic call KMS without a source-account
                # context, so that statement stays unconditioned (AWS's own example key policy).
                statement["Condition"] = {"StringEquals": {"aws:SourceAccount": self.account.account_id}}
            statements.append(statement)
        self.key = KmsKey(
            self,
            "key",
            description=f"{props.name_prefix}: logs, queues, topics and tables",
            enable_key_rotation=True,
            deletion_window_in_days=props.deletion_window_days,
            policy=policy_json({"Version": "2012-10-17", "Statement": statements}),
        )
        KmsAlias(self, "alias", name=f"alias/{props.name_prefix}", target_key_id=self.key.key_id)

    @property
    def arn(self) -> str:
        """The key's ARN."""
        return self.key.arn

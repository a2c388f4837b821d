"""The Lambda functions deployed from ``lambdas/``: fixed settings, names and the role's documents.

Shared by the cdktf :mod:`rudder_ha.parts.python_function.cdktf` and the Pulumi
:mod:`rudder_ha.parts.python_function.pulumi`. Values may be Terraform tokens (cdktf) or plain strings
resolved from Pulumi outputs; the documents come out the same.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rudder_ha.common.policies import service_assume_role_policy
from rudder_ha.common.refs import Ref
from rudder_ha.parts.python_function.package import RUNTIME

ARCHITECTURES = ["arm64"]
HANDLER = "handler.handler"
"""Every directory of ``lambdas/`` has ``handler.py`` with a ``handler`` function."""
TRACING_MODE = "Active"
ROLE_POLICY_NAME = "least-privilege"
"""Name of the role's inline policy."""
LAMBDA_SERVICE = "lambda.amazonaws.com"
LAMBDA_VIA_SERVICE = "lambda.*.amazonaws.com"
"""``kms:ViaService`` of Lambda decrypting a function's environment (any region's Lambda; the key is
regional)."""
VPC_ACCESS_POLICY_NAME = "vpc-access"
"""The inline policy of a function in the VPC (:func:`vpc_access_policy`), in place of the AWS managed
``AWSLambdaVPCAccessExecutionRole`` (network interfaces anywhere, any log group)."""


@dataclass(frozen=True)
class PythonFunctionProps:
    """Props of ``PythonFunction`` (the cdktf construct and the Pulumi component alike)."""

    name: str
    """The function name, e.g. ``rudder-ha-prod-drain``."""
    source: str
    """Directory under ``lambdas/`` holding ``handler.py``."""
    description: str
    kms_key_arn: Ref
    """Encrypts the environment variables and the log group."""
    policy_statements: Sequence[Mapping[str, Any]] | Ref = field(default_factory=list)
    """IAM statements added to the role's inline policy; their values may be Refs. In Pulumi the whole list
    may also be one Output."""
    environment: Mapping[str, Ref] | Ref = field(default_factory=dict)
    """Environment variables; their values may be Refs. In Pulumi the whole mapping may also be one Output."""
    timeout_seconds: int = 60
    memory_mb: int = 256
    reserved_concurrency: int = 5
    log_retention_days: int = 365
    vpc_subnet_ids: Sequence[Ref] = field(default_factory=list)
    """Run inside the VPC (only when the function must reach something private)."""
    vpc_security_group_ids: Sequence[Ref] = field(default_factory=list)
    dead_letter_queue_arn: Ref | None = None
    """An SQS queue, encrypted with ``kms_key_arn``, for failed asynchronous invocations."""


def log_group(props: PythonFunctionProps) -> dict[str, Any]:
    """The function's log group settings."""
    return {
        "name": log_group_name(props.name),
        "retention_in_days": props.log_retention_days,
        "kms_key_id": props.kms_key_arn,
    }


def function_settings(props: PythonFunctionProps, source_code_hash: str) -> dict[str, Any]:
    """The function's settings apart from its name, role, code, environment and nested blocks (the argument
    naming the function and the one holding the code differ between the front ends)."""
    return {
        "description": props.description,
        "runtime": RUNTIME,
        "architectures": ARCHITECTURES,
        "handler": HANDLER,
        "source_code_hash": source_code_hash,
        "timeout": props.timeout_seconds,
        "memory_size": props.memory_mb,
        "reserved_concurrent_executions": props.reserved_concurrency,
        "kms_key_arn": props.kms_key_arn,
    }


def vpc_config(props: PythonFunctionProps) -> dict[str, Any] | None:
    """The ``vpc_config`` block, or None when the function runs outside the VPC."""
    if not props.vpc_subnet_ids:
        return None
    return {"subnet_ids": props.vpc_subnet_ids, "security_group_ids": props.vpc_security_group_ids}


def dead_letter_config(props: PythonFunctionProps) -> dict[str, Any] | None:
    """The ``dead_letter_config`` block, or None without a dead-letter queue."""
    return {"target_arn": props.dead_letter_queue_arn} if props.dead_letter_queue_arn else None


def log_group_name(function_name: str) -> str:
    """The log group Lambda writes the function's logs to."""
    return f"/aws/lambda/{function_name}"


def assume_role_policy(account_id: str) -> str:
    """The trust policy: Lambda may assume the role, for functions of this account only."""
    return service_assume_role_policy(LAMBDA_SERVICE, {"StringEquals": {"aws:SourceAccount": account_id}})


def role_statements(props: PythonFunctionProps, log_group_arn: str) -> list[dict]:
    """The statements of the role's inline policy: own logs, traces, own environment's key, the caller's
    ``policy_statements``, then (with a dead-letter queue) sending to it encrypted. ``props`` holds plain
    values or Terraform tokens (Pulumi resolves its Outputs first)."""
    kms_key_arn = props.kms_key_arn
    dead_letter_queue_arn = props.dead_letter_queue_arn
    statements = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
        {
            # X-Ray has no resource-level permissions: these two actions only accept "*".
            "Sid": "WriteTraces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
        {
            # Lambda decrypts the environment variables at start: the key through Lambda only.
            "Sid": "DecryptOwnEnvironment",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
            "Condition": {"StringLike": {"kms:ViaService": LAMBDA_VIA_SERVICE}},
        },
        *props.policy_statements,
    ]
    if dead_letter_queue_arn:
        statements += [
            {
                "Sid": "SendDeadLetters",
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": dead_letter_queue_arn,
            },
            {
                "Sid": "EncryptDeadLetters",
                "Effect": "Allow",
                "Action": "kms:GenerateDataKey",
                "Resource": kms_key_arn,
                "Condition": {"StringLike": {"kms:ViaService": "sqs.*.amazonaws.com"}},
            },
        ]
    return statements


def role_policy(statements: list[dict]) -> dict:
    """The inline policy document holding ``statements``."""
    return {"Version": "2012-10-17", "Statement": statements}


def _ec2_arn(kind: str, resource_id: str) -> str:
    """An EC2 ARN by resource id (ids are unique: partition, region and account need not be spelled out)."""
    return f"arn:*:ec2:*:*:{kind}/{resource_id}"


def vpc_access_policy(subnet_ids: list[str], security_group_ids: list[str]) -> dict:
    """What Lambda needs to give the function network interfaces in its own subnets and security groups
    (Lambda's developer guide, "Giving Lambda functions access to resources in an Amazon VPC"), and no more.

    ``CreateNetworkInterface`` is authorized on the new interface, the subnet and the security groups: held to
    the function's subnets and groups. Deleting and (un)assigning addresses is authorized on the interface:
    held to interfaces in the function's subnets (``ec2:Subnet``). The two Describe calls take no resource.
    """
    subnets = [_ec2_arn("subnet", s) for s in subnet_ids]
    groups = [_ec2_arn("security-group", g) for g in security_group_ids]
    interfaces = "arn:*:ec2:*:*:network-interface/*"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateInterfacesInOwnSubnets",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": [interfaces, *subnets, *groups],
            },
            {
                "Sid": "ManageInterfacesInOwnSubnets",
                "Effect": "Allow",
                "Action": [
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                "Resource": interfaces,
                "Condition": {"ArnLike": {"ec2:Subnet": subnets}},
            },
            {
                "Sid": "DescribeInterfaces",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Resource": "*",
            },
        ],
    }

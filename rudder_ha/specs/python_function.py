"""The Lambda functions deployed from ``lambdas/``: fixed settings, names and the role's documents.

Shared by the cdktf :mod:`rudder_ha.constructs.python_function` and the Pulumi
:mod:`rudder_ha.pulumi_components.python_function`. Values may be Terraform tokens (cdktf) or plain strings
resolved from Pulumi outputs; the documents come out the same.
"""

from __future__ import annotations

from rudder_ha.policies import service_assume_role_policy

ARCHITECTURES = ["arm64"]
HANDLER = "handler.handler"
"""Every directory of ``lambdas/`` has ``handler.py`` with a ``handler`` function."""
TRACING_MODE = "Active"
ROLE_POLICY_NAME = "least-privilege"
"""Name of the role's inline policy."""
LAMBDA_SERVICE = "lambda.amazonaws.com"
VPC_ACCESS_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
"""Network interfaces in the VPC; the managed policy is what Lambda documents for this."""


def log_group_name(function_name: str) -> str:
    """The log group Lambda writes the function's logs to."""
    return f"/aws/lambda/{function_name}"


def assume_role_policy(account_id: str) -> str:
    """The trust policy: Lambda may assume the role, for functions of this account only."""
    return service_assume_role_policy(LAMBDA_SERVICE, {"StringEquals": {"aws:SourceAccount": account_id}})


def role_statements(
    log_group_arn: str,
    kms_key_arn: str,
    policy_statements: list[dict],
    dead_letter_queue_arn: str | None = None,
) -> list[dict]:
    """The statements of the role's inline policy: own logs, traces, own environment's key, the caller's
    ``policy_statements``, then (with a dead-letter queue) sending to it encrypted."""
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
            "Sid": "DecryptOwnEnvironment",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": kms_key_arn,
        },
        *policy_statements,
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

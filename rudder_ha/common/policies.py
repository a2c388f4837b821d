"""IAM and resource-policy documents as JSON, shared by the cdktf constructs and the Pulumi components.

Nothing here imports a front end: values may be Terraform tokens (cdktf) or plain strings resolved from
Pulumi outputs, and the documents come out the same.
"""

from __future__ import annotations

import json


def policy_json(document: dict) -> str:
    """A policy document as stable JSON (tokens inside stay Terraform expressions)."""
    return json.dumps(document, sort_keys=False)


def deny_insecure_transport(action: str, resource: str | list[str]) -> dict:
    """The resource-policy statement refusing any request not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def service_assume_role_policy(service: str, conditions: dict | None = None) -> str:
    """A trust policy letting one AWS service (e.g. ``ec2.amazonaws.com``) assume the role."""
    statement: dict = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if conditions:
        statement["Condition"] = conditions
    return policy_json({"Version": "2012-10-17", "Statement": [statement]})


def console_url(region: str, fragment: str) -> str:
    """A link to the AWS console page for a resource in ``region``."""
    return f"https://{region}.console.aws.amazon.com/{fragment}"


def allow_statement(sid: str, actions: list[str], resources: str | list[str], condition: dict | None = None) -> dict:
    """An ``Allow`` statement of an IAM policy; ``Condition`` only when one is given."""
    statement: dict = {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}
    if condition:
        statement["Condition"] = condition
    return statement

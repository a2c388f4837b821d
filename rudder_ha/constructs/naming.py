"""Resource naming and the console links the stacks output."""

from __future__ import annotations

import json

from cdktf import Fn, TerraformResource


def policy_json(document: dict) -> str:
    """A policy document as stable JSON (tokens inside stay Terraform expressions)."""
    return json.dumps(document, sort_keys=False)


def console_url(region: str, fragment: str) -> str:
    """A link to the AWS console page for a resource in ``region``."""
    return f"https://{region}.console.aws.amazon.com/{fragment}"


def join_ids(values: list[str]) -> str:
    """A comma-joined list of Terraform values, for outputs."""
    return Fn.join(",", values)


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


def address(resource: TerraformResource) -> str:
    """The Terraform address (``type.name``) of a resource, as ``depends_on`` takes it."""
    return f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"

"""Terraform addressing for the cdktf constructs; the policy helpers live in :mod:`rudder_ha.common.policies`
(shared with the Pulumi program) and are re-exported here."""

from __future__ import annotations

from cdktf import Fn, TerraformResource

from rudder_ha.common.policies import console_url, deny_insecure_transport, policy_json, service_assume_role_policy

__all__ = ["address", "console_url", "deny_insecure_transport", "join_ids", "policy_json", "service_assume_role_policy"]


def join_ids(values: list[str]) -> str:
    """A comma-joined list of Terraform values, for outputs."""
    return Fn.join(",", values)


def address(resource: TerraformResource) -> str:
    """The Terraform address (``type.name``) of a resource, as ``depends_on`` takes it."""
    return f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"

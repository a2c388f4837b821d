"""Resource naming and the console links the stacks output."""

from __future__ import annotations

import json

from cdktf import Fn


def policy_json(document: dict) -> str:
    """A policy document as stable JSON (tokens inside stay Terraform expressions)."""
    return json.dumps(document, sort_keys=False)


def console_url(region: str, fragment: str) -> str:
    """A link to the AWS console page for a resource in ``region``."""
    return f"https://{region}.console.aws.amazon.com/{fragment}"


def join_ids(values: list[str]) -> str:
    """A comma-joined list of Terraform values, for outputs."""
    return Fn.join(",", values)

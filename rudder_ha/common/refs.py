"""Types for props shared by both front ends."""

from __future__ import annotations

from typing import Any, TypeAlias

Ref: TypeAlias = Any
"""A value another resource provides: a Terraform token string in cdktf (``${aws_vpc.x.id}``), a
``pulumi.Input[str]`` in Pulumi, or a plain literal (e.g. an existing VPC's id) in either."""

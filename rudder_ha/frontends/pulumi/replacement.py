"""Replacement order: Terraform's, in the Pulumi program.

Terraform replaces a resource by destroying it first, unless ``create_before_destroy`` is set; Pulumi
creates the replacement first by default. With the fixed physical names both front ends give their
resources (so they can be found and matched), creating first would fail on "already exists", so the
program replaces delete-first everywhere, except where the cdktf side asks for create-before-destroy and
the component says so with ``CREATE_FIRST`` (Image Builder components, recipe and image, whose names are
versioned by content).
"""

from __future__ import annotations

import pulumi

CREATE_FIRST = pulumi.ResourceOptions(delete_before_replace=False)
"""Options of a resource the cdktf side marks ``create_before_destroy``."""


def terraform_replacement_order(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
    """A transformation for the program's components: delete-first, unless the resource says otherwise."""
    if not isinstance(args.resource, pulumi.CustomResource) or args.opts.delete_before_replace is not None:
        return None
    return pulumi.ResourceTransformationResult(
        args.props, pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(delete_before_replace=True))
    )

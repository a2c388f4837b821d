"""The Pulumi implementation of :class:`rudder_ha.frontends.composer.Composer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi

from rudder_ha.common.refs import Ref
from rudder_ha.common.tags import FrontEnd
from rudder_ha.parts import Part


class PulumiComposer:
    """Adds parts as component resources of the current Pulumi stack, each with ``opts`` (the environment's
    provider and Terraform's replacement order). Values are ``Output`` s: :meth:`map` applies its function
    once they resolve. Outputs are collected in :attr:`outputs`; the program exports them."""

    front_end: FrontEnd = "pulumi"

    def __init__(self, opts: pulumi.ResourceOptions) -> None:
        self.opts = opts
        self.outputs: dict[str, Any] = {}

    def add(self, part: Part, id_: str, props: Any) -> Any:
        return part.renderer_for(self.front_end)(id_, props, self.opts)

    def dependency(self, resource: Any) -> Any:
        return resource

    def map(self, fn: Callable[..., Any], *values: Ref) -> Ref:
        return pulumi.Output.all(*values).apply(lambda resolved: fn(*resolved))

    def output(self, name: str, value: Ref, description: str) -> None:
        self.outputs[name] = value

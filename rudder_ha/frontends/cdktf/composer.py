"""The cdktf implementation of :class:`rudder_ha.frontends.composer.Composer`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cdktf import TerraformOutput

from rudder_ha.common.refs import Ref
from rudder_ha.common.tags import FrontEnd
from rudder_ha.frontends.cdktf.environment_stack import EnvironmentStack
from rudder_ha.parts import Part


class CdktfComposer:
    """Adds parts as constructs of one environment stack.

    Values are Terraform tokens, strings that carry the reference through Python string operations, so
    :meth:`map` applies its function at synthesis; a dependency is the resource itself, which cdktf
    writes as its Terraform address.
    """

    front_end: FrontEnd = "cdktf"

    def __init__(self, stack: EnvironmentStack) -> None:
        self.stack = stack

    def add(self, part: Part, id_: str, props: Any) -> Any:
        return part.renderer_for(self.front_end)(self.stack, id_, props)

    def dependency(self, resource: Any) -> Any:
        return resource

    def map(self, fn: Callable[..., Any], *values: Ref) -> Ref:
        return fn(*values)

    def output(self, name: str, value: Ref, description: str) -> None:
        TerraformOutput(self.stack, name, value=value, description=description)

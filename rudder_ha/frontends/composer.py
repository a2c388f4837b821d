"""The small interface a topology's wiring is written against, once for both front ends.

A wiring function (e.g. :func:`rudder_ha.topologies.single_node.wiring.compose`) only ever:

- **adds a part** (:meth:`Composer.add`): the part's props, built from the configuration, go to the front
  end's renderer of that part (a cdktf construct or a Pulumi component), which it returns;
- **declares a dependency** by passing the resources one part must wait for in the next part's props
  (``depends_on`` fields); :meth:`Composer.dependency` turns a resource into what those fields take;
- **maps a value** another resource provides (:meth:`Composer.map`): a Terraform token is a string the
  function can be applied to at synthesis, a Pulumi ``Output`` is applied once it resolves;
- **adds an output** (:meth:`Composer.output`).

Because the order of calls is the wiring's own, the two front ends cannot build the parts in different
orders or pass them different values; what differs between them lives in the two implementations,
:class:`rudder_ha.frontends.cdktf.composer.CdktfComposer` and
:class:`rudder_ha.frontends.pulumi.composer.PulumiComposer`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from rudder_ha.common.refs import Ref
from rudder_ha.common.tags import FrontEnd
from rudder_ha.parts import Part


class Composer(Protocol):
    """What a front end offers a topology's wiring."""

    front_end: FrontEnd

    def add(self, part: Part, id_: str, props: Any) -> Any:
        """Renders ``part`` with ``props`` under the construct id (cdktf) or name (Pulumi) ``id_``; returns
        the construct or component. The id is a contract: it names every resource of the part."""
        ...

    def dependency(self, resource: Any) -> Any:
        """``resource`` as a ``depends_on`` entry of another part's props."""
        ...

    def map(self, fn: Callable[..., Any], *values: Ref) -> Ref:
        """``fn(*values)`` once the values are known: at synthesis in cdktf, at deployment in Pulumi."""
        ...

    def output(self, name: str, value: Ref, description: str) -> None:
        """One output of the environment, by ``name`` (the same in both front ends)."""
        ...

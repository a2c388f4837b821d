"""The parts a topology is built from, one folder each.

A part's folder holds its front-end-neutral definition (``spec.py``: the props dataclass, names, policy
documents, settings) and its two renderers, ``cdktf.py`` (a construct taking ``scope, id, props``) and
``pulumi.py`` (a component resource taking ``name, props, opts``). Both renderers build every resource from
the spec, so the two front ends cannot drift apart; a change to one part stays in its folder.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from rudder_ha.common.tags import FrontEnd


@dataclass(frozen=True)
class Part:
    """Names one part: its folder under ``rudder_ha/parts/`` and the class both renderers define.

    Each ``spec.py`` declares its ``PART``; a composer (:mod:`rudder_ha.frontends.composer`) loads the
    renderer of its own front end only, so the Pulumi program never imports cdktf and the other way round.
    """

    folder: str
    renderer: str

    def renderer_for(self, front_end: FrontEnd) -> Any:
        """The construct (cdktf) or component (Pulumi) class of this part."""
        module = importlib.import_module(f"{__name__}.{self.folder}.{front_end}")
        return getattr(module, self.renderer)

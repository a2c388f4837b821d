"""Has the jsii kernel load the prebuilt providers' JavaScript one resource module at a time.

:mod:`rudder_ha.frontends.cdktf.lazy_providers` keeps Python from importing every resource module of a
provider package. The jsii kernel did the same on its side: loading the ``@cdktf/provider-aws`` assembly
requires its ``lib/index.js``, which requires all 2,212 resource modules (60 MB of JavaScript), about
2.5 s of CPU each time a process starts the kernel, whatever the stacks use.

:func:`install` adds ``--require <lazy_kernel_exports.js>`` to ``NODE_OPTIONS``, which the kernel's Node.js
processes inherit (the kernel starts when the first jsii assembly is imported, so call it before that).
The script makes each ``exports.x = require("./x")`` line of those index files a property that requires
its module when first read (see the script's header). The synthesized JSON is byte for byte the same;
``make synth`` of the four shipped environments went from 7.6 s to 4.9 s (6.8 s to 4.6 s of user CPU).
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

SCRIPT = Path(__file__).with_name("lazy_kernel_exports.js")
"""The script Node.js preloads (shipped beside this module, in the wheel too)."""
NODE_OPTIONS = "NODE_OPTIONS"


def require_option(script: Path) -> str:
    """``--require "<script>"``, quoted and escaped as Node.js reads ``NODE_OPTIONS``."""
    escaped = str(script).replace("\\", "\\\\").replace('"', '\\"')
    return f'--require "{escaped}"'


def install(environ: MutableMapping[str, str] = os.environ) -> None:
    """Adds the script to ``NODE_OPTIONS`` in ``environ`` (idempotent; keeps what is already there; does
    nothing if the script is missing)."""
    if not SCRIPT.is_file():
        return
    option = require_option(SCRIPT)
    current = environ.get(NODE_OPTIONS, "")
    if option not in current:
        environ[NODE_OPTIONS] = f"{current} {option}".strip()

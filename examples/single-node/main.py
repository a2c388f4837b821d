"""The single-node HA data plane as one stack of your own cdktf app.

Run ``python main.py [OUTDIR]`` (or ``cdktf synth``), then ``terraform -chdir=OUTDIR/stacks/rudder-ha-example
init && terraform ... apply``. The settings are in ``example.yaml`` beside this file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# Before any provider import: rudder-ha's loader then imports only the provider modules a stack names
# (the AWS provider package alone would otherwise import some 2,200 of them).
import rudder_ha.frontends.cdktf  # noqa: F401

# isort: split

from cdktf import App

from rudder_ha.config import ConfigError, load_environments
from rudder_ha.topologies.single_node.cdktf import SingleNodeStack

HERE = Path(__file__).resolve().parent


def main(outdir: str) -> int:
    """Synthesizes the example into ``outdir``; returns the exit code."""
    try:
        (config,) = load_environments([HERE / "example.yaml"])
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 1
    app = App(outdir=outdir)
    stack = SingleNodeStack(app, config)
    # stack.parts holds every part's construct (network, load_balancer, data_plane...) for further wiring.
    print(f"synthesizing {stack.node.id} into {outdir}")
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CDKTF_OUTDIR", "cdktf.out")))

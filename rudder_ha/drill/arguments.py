"""The ``drill`` subcommand's arguments (argparse only, so building the parser stays cheap)."""

from __future__ import annotations

import argparse
from typing import Any

SCENARIO_HELP = (
    "instance-loss: terminate the instance through its group (lifecycle hook and drain run); hang: freeze the "
    "backend through Run Command so only the health check notices; scale-in: the same termination, read as a "
    "scale-in or instance refresh; az-loss: an AWS FIS experiment cuts the instance's zone off"
)


def add_drill_parser(sub: Any, environments_dir: str) -> argparse.ArgumentParser:
    """Adds ``drill`` to the subcommands ``sub`` and returns its parser."""
    from rudder_ha.drill import SCENARIOS

    drill = sub.add_parser("drill", help="inject a failure into a deployed ENV and measure the failover")
    drill.add_argument("environment", metavar="ENV")
    drill.add_argument("--scenario", required=True, choices=SCENARIOS, help=SCENARIO_HELP)
    drill.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    drill.add_argument("--i-mean-prod", action="store_true", help="allow a drill on a prod-tier environment")
    drill.add_argument(
        "--endpoint", metavar="URL", help="the /health URL to probe (default: through the load balancer)"
    )
    drill.add_argument("--ca-file", metavar="PEM", help="extra CA bundle to verify the endpoint's TLS certificate")
    drill.add_argument("--timeout", type=float, metavar="SECONDS", help="give up after this long (default: from rto)")
    drill.add_argument(
        "--fis-role-arn",
        metavar="ARN",
        help="az-loss without the stack's template (drill.az_loss_experiment): the role FIS assumes, to create one",
    )
    drill.add_argument(
        "--fis-duration-minutes",
        type=int,
        default=10,
        help="az-loss: how long the zone is lost (a template the drill creates; the stack's last 10)",
    )
    drill.add_argument("--json", action="store_true", help="print the measured timeline as JSON")
    drill.add_argument("--ascii", action="store_true", help="draw the chart with ASCII characters only")
    drill.add_argument("--environments-dir", default=environments_dir, help="where the *.yaml files are")
    return drill

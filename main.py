"""cdktf entry point (``cdktf synth`` / ``cdktf deploy rudder-ha-<env>`` run this).

Synthesizes every environment in ``environments/``, or only those named in RUDDER_HA_ENVIRONMENTS
(comma-separated). An invalid environment file is refused with one line per problem and nothing is
written. ``make synth`` and ``python -m rudder_ha synth`` do the same.
"""

import os
import sys

from rudder_ha.cli import main

if __name__ == "__main__":
    names = [n for n in os.environ.get("RUDDER_HA_ENVIRONMENTS", "").split(",") if n]
    sys.exit(main(["synth", *names]))

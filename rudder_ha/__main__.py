"""``python -m rudder_ha``: see rudder_ha.cli."""

import sys

from rudder_ha.cli import main

sys.exit(main())

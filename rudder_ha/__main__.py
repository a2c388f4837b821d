"""``python -m rudder_ha``, the same as the ``rudder-ha`` command: see :mod:`rudder_ha.cli`."""

import sys

from rudder_ha.cli import main

if __name__ == "__main__":
    sys.exit(main())

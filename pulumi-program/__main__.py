"""Entry point Pulumi runs: the program itself is rudder_ha.topologies.single_node.pulumi (importable and tested)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rudder_ha.config import ConfigError
from rudder_ha.topologies.single_node.pulumi import main

try:
    main()
except ConfigError as exc:
    # One line per problem, naming the field and the fix; Pulumi then stops before creating anything.
    raise SystemExit(f"rudder-ha: the environment cannot be deployed:\n{exc}") from None

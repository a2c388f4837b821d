"""Per-environment configuration: JSON Schema, cross-field rules and the typed settings model.

The contract, with no exceptions: an environment file either validates *and* synthesizes, or it is
refused with one ``FILE: field: what is wrong; how to fix it`` line per problem (:class:`Problem`, always
one line), exit status 1, no traceback, within a second and in bounded memory. In the order checked:

1. Reading (:mod:`.reading`): at most 256 KiB, a regular file, strict UTF-8 without BOM or control and
   invisible characters; one YAML document of JSON values only (YAML 1.2 core scalars, dates and
   ``yes``/``no`` read as strings; tags other than the core JSON ones refused; no anchors or aliases;
   string keys, each once; at most 16 levels, 500 entries per collection, 10 000 values).
2. Every value (:mod:`.hygiene`): printable strings of bounded length, finite numbers, no ``${``/``%{``
   (Terraform would evaluate them), no wildcard in an ARN.
3. The schema (:mod:`.schema_messages`): integers are ints, patterns match whole strings.
4. Document rules (:mod:`.rules`): among them, every setting the chosen topology does not read
   (``Topology.reads``) is refused, and reserved tag keys (``aws:``, the project's own).
5. The typed settings (:mod:`.loader`, the one place defaults are applied), then settings rules: ARNs
   in the environment's partition, region and accounts (:mod:`.arns`), a state key of the environment's
   own, and for eks the workload settings built exactly as synthesis builds them.
6. Across the files loaded together (:func:`.loader.cross_file_problems`): unique names, and no two
   environments sharing a Terraform state object.
"""

from rudder_ha.config.errors import ConfigError, Problem
from rudder_ha.config.loader import load_environment, load_environments, shipped_environment_files
from rudder_ha.config.model import EnvironmentConfig

__all__ = [
    "ConfigError",
    "EnvironmentConfig",
    "Problem",
    "load_environment",
    "load_environments",
    "shipped_environment_files",
]

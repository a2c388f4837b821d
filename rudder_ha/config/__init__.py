"""Per-environment configuration: JSON Schema, cross-field rules and the typed settings model."""

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

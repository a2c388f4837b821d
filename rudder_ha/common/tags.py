"""The tags every resource of an environment carries, whichever front end deploys it."""

from __future__ import annotations

from typing import Literal

from rudder_ha import PROJECT
from rudder_ha.config.model import EnvironmentConfig

FrontEnd = Literal["cdktf", "pulumi"]


def standard_tags(config: EnvironmentConfig, managed_by: FrontEnd = "cdktf") -> dict[str, str]:
    """The user's tags, then project, environment and managed-by (which win)."""
    return {**config.tags, "project": PROJECT, "environment": config.environment, "managed-by": managed_by}

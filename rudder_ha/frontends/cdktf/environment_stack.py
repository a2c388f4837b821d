"""What every environment stack has: the AWS provider with default tags, its own S3 remote state, and
literal text kept literal (:mod:`rudder_ha.frontends.cdktf.templates`)."""

from __future__ import annotations

from typing import Any

from cdktf import S3Backend, TerraformOutput, TerraformStack
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from rudder_ha.common.tags import standard_tags
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.frontends.cdktf.templates import escape_synthesized

__all__ = ["EnvironmentStack", "standard_tags"]


class EnvironmentStack(TerraformStack):
    """Base of the per-environment stacks: provider pinned to the environment's region and accounts,
    default tags, and S3 remote state with encryption and S3-native locking.

    Every string of the synthesized stack reaches Terraform as literal text but for its cdktf tokens:
    ``${`` and ``%{`` from the configuration or the project's files (scripts, documents, tags, names)
    are escaped at synthesis, in one place, for every construct.
    """

    def __init__(self, scope: Construct, id_: str, config: EnvironmentConfig, state_key: str | None = None) -> None:
        super().__init__(scope, id_)
        self.config = config
        AwsProvider(
            self,
            "aws",
            region=config.region,
            allowed_account_ids=list(config.allowed_account_ids) or None,
            default_tags=[AwsProviderDefaultTags(tags=standard_tags(config))],
        )
        backend = S3Backend(
            self,
            bucket=config.state.bucket,
            key=state_key or config.state.key,
            region=config.state.region,
            encrypt=True,
            kms_key_id=config.state.kms_key_id,
        )
        # Terraform >= 1.10 locks with a lock file next to the state; cdktf 0.21 predates the setting.
        backend.add_override("use_lockfile", True)

    def to_terraform(self) -> Any:
        """The stack's Terraform JSON (what ``app.synth()`` writes), literal template sequences escaped."""
        return escape_synthesized(self, super().to_terraform())

    def add_outputs(self, outputs: dict[str, tuple[Any, str]]) -> None:
        """One Terraform output per ``name: (value, description)``."""
        for name, (value, description) in outputs.items():
            TerraformOutput(self, name, value=value, description=description)

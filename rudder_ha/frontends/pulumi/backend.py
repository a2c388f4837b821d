"""Where a Pulumi stack keeps its state and how it encrypts secrets, from the environment's ``state``
settings: the same bucket as Terraform's state, under its own prefix, and the same KMS key.

Pulumi's self-managed S3 backend keeps every stack of the project under one prefix; the prefix here is
``pulumi/`` so it never collides with the Terraform state objects (``rudder-ha/<env>/terraform.tfstate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from rudder_ha.config.model import EnvironmentConfig

STATE_PREFIX = "pulumi"


@dataclass(frozen=True)
class PulumiBackend:
    """What ``pulumi login`` and ``pulumi stack init --secrets-provider`` take for one environment."""

    url: str
    secrets_provider: str

    def shell(self) -> str:
        """Lines a shell can ``eval`` (the Makefile's Pulumi targets do)."""
        return f"export PULUMI_BACKEND_URL='{self.url}'\nexport PULUMI_SECRETS_PROVIDER='{self.secrets_provider}'"


def pulumi_backend(config: EnvironmentConfig) -> PulumiBackend:
    """The S3 backend URL and secrets provider of ``config``'s Pulumi stack.

    With ``state.kms_key_id`` the stack's secrets are encrypted with that key (``awskms``); without it,
    with a passphrase (``PULUMI_CONFIG_PASSPHRASE``). The program itself stores no secret in its
    configuration: tokens and webhooks stay in SSM SecureString or Secrets Manager.
    """
    state = config.state
    url = f"s3://{state.bucket}/{STATE_PREFIX}?region={state.region}&awssdk=v2"
    key = state.kms_key_id
    if not key:
        return PulumiBackend(url, "passphrase")
    if key.startswith("arn:"):
        provider = f"awskms:///{quote(key, safe=':/')}?region={state.region}"
    else:
        provider = f"awskms://{quote(key, safe='/')}?region={state.region}"
    return PulumiBackend(url, provider)

"""The fake AWS account and region of the emulation, and fake credentials.

moto answers for account ``123456789012`` by default; every emulated part builds its ARNs and
error messages with the same account and region, and :func:`use_fake_credentials` makes sure no
client can reach a real account.
"""

from __future__ import annotations

import pytest

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


def use_fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region, so nothing can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)

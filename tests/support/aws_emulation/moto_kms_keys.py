"""moto's KMS keys without a fresh RSA key pair each, for speed.

moto's ``Key`` generates an asymmetric private key for every key it creates: for the RSA and ECC key
specs, whose Sign/Verify/GetPublicKey use it, but also for ``SYMMETRIC_DEFAULT`` and the HMAC specs, which
fall through to a 2048-bit RSA pair no operation of theirs reads (moto encrypts with the key's own random
material). Every environment the tests provision has a symmetric customer managed key, and one RSA
generation costs tens of milliseconds: seconds over the suite.

:func:`share_unused_key_pairs` keeps the asymmetric specs as moto has them and gives every key of another
spec one RSA pair generated once per process, where moto would have generated an unused one of the same
kind. Nothing a test can observe through the KMS API changes for symmetric keys.
"""

from __future__ import annotations

import functools
from typing import Any

ASYMMETRIC_PREFIXES = ("RSA_", "ECC_")


def share_unused_key_pairs() -> None:
    """Installs the shared pair for non-asymmetric specs in moto's KMS models (call once per process)."""
    from moto.kms import models

    generate = models.generate_private_key
    if getattr(generate, "shares_unused_pairs", False):
        return

    @functools.cache
    def unused_pair() -> Any:
        return generate("SYMMETRIC_DEFAULT")  # moto's 2048-bit RSA fallback

    def generate_or_share(key_spec: str) -> Any:
        if (key_spec or "").startswith(ASYMMETRIC_PREFIXES):
            return generate(key_spec)
        return unused_pair()

    generate_or_share.shares_unused_pairs = True  # type: ignore[attr-defined]
    models.generate_private_key = generate_or_share

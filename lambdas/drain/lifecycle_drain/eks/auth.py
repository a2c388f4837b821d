"""Bearer tokens for the EKS Kubernetes API, made from the function's own IAM credentials.

EKS authenticates IAM principals (mapped to Kubernetes users/groups by an access entry or the
``aws-auth`` ConfigMap) with a token that is a presigned STS ``GetCallerIdentity`` request, the
format ``aws eks get-token`` prints:

* the request: ``GET https://sts.<region>.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15``
  signed with SigV4 in the query string (``X-Amz-Algorithm``, ``X-Amz-Credential``,
  ``X-Amz-Date``, ``X-Amz-Expires=60``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``, and
  ``X-Amz-Security-Token`` with temporary credentials such as the Lambda role's);
* the header ``x-k8s-aws-id: <cluster name>`` is signed too (it is listed in
  ``X-Amz-SignedHeaders``), so the token is only good for that cluster: the API server replays
  the request to STS with its own cluster name in that header;
* the token is ``k8s-aws-v1.`` followed by the URL in base64url without ``=`` padding.

Signing is local (botocore's request signer with the STS client's credentials, no API call), so
tokens are cheap: :class:`EksTokenProvider` keeps one for ``refresh_after_seconds`` (45 s, before
the 60 s the URL advertises) and signs a new one afterwards, or at once when the API server
answered 401 (:meth:`EksTokenProvider.invalidate`).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Any

from ..clock import Clock

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - the token format's prefix, not a secret
CLUSTER_ID_HEADER = "x-k8s-aws-id"
URL_EXPIRES_SECONDS = 60
DEFAULT_REFRESH_AFTER_SECONDS = 45.0
_HANDLER_ID = "rudder-ha-drain-eks-cluster-id"


class TokenError(Exception):
    """No token could be made (no credentials, signer failure)."""


def encode_token(url: str) -> str:
    """``k8s-aws-v1.`` + base64url(url) without padding."""
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str) -> str:
    """Inverse of :func:`encode_token` (ValueError when it is not one)."""
    if not token.startswith(TOKEN_PREFIX):
        raise ValueError("not a k8s-aws-v1 token")
    body = token[len(TOKEN_PREFIX) :]
    if "=" in body:
        raise ValueError("token carries base64 padding")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode("utf-8")


def presigned_caller_identity_url(sts: Any, cluster_name: str) -> str:
    """A presigned ``GetCallerIdentity`` URL whose signature covers ``x-k8s-aws-id: cluster_name``.

    The header is added by one ``before-sign`` handler per client, for presign requests made
    here only (a normal ``GetCallerIdentity`` call through the same client is left alone); the
    cluster name travels in a thread-local, so one client can sign for several clusters.
    """
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", _add_cluster_id, unique_id=_HANDLER_ID)
    _SIGNING.cluster = cluster_name
    try:
        return str(
            sts.generate_presigned_url(
                "get_caller_identity", Params={}, ExpiresIn=URL_EXPIRES_SECONDS, HttpMethod="GET"
            )
        )
    finally:
        _SIGNING.cluster = None


_SIGNING = threading.local()


def _add_cluster_id(request: Any, **_: Any) -> None:
    """botocore ``before-sign`` handler: the cluster id header, only while presigning a token."""
    cluster = getattr(_SIGNING, "cluster", None)
    if cluster and request.context.get("is_presign_request"):
        request.headers[CLUSTER_ID_HEADER] = cluster


class EksTokenProvider:
    """Signs and caches the bearer token of one cluster (see the module docstring)."""

    def __init__(
        self,
        sts: Callable[[], Any],
        cluster_name: str,
        clock: Clock,
        *,
        refresh_after_seconds: float = DEFAULT_REFRESH_AFTER_SECONDS,
    ) -> None:
        """``sts`` returns the STS client (called lazily, once per token)."""
        self._sts = sts
        self._cluster = cluster_name
        self._clock = clock
        self._refresh_after = float(refresh_after_seconds)
        self._token: str | None = None
        self._issued_at = 0.0
        #: How many tokens were signed (for logs and tests).
        self.issued = 0

    @property
    def cluster_name(self) -> str:
        """The cluster the tokens are for."""
        return self._cluster

    def token(self) -> str:
        """A token, signed anew when the cached one is older than ``refresh_after_seconds``."""
        now = self._clock.now()
        age = now - self._issued_at
        if self._token is None or age >= self._refresh_after or age < 0:
            try:
                url = presigned_caller_identity_url(self._sts(), self._cluster)
            except Exception as exc:  # NoCredentialsError, endpoint resolution, ...
                raise TokenError(f"cannot sign the EKS token: {type(exc).__name__}: {exc}") from exc
            self._token = encode_token(url)
            self._issued_at = now
            self.issued += 1
        return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the API server refused it)."""
        self._token = None

"""Fetches receiver secrets from SSM Parameter Store or Secrets Manager, cached per container."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

from . import logs

SECRETS_MANAGER_ARN_PREFIX = "arn:aws:secretsmanager:"
_CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=5, retries={"mode": "standard", "max_attempts": 3})


class SecretUnavailableError(Exception):
    """A configured secret could not be read (missing, access denied, empty, throttled...)."""


_session: boto3.session.Session | None = None
_session_lock = threading.Lock()


def _default_client(service: str) -> Any:
    """Make a client from one private, lazily created boto3 session shared by this container.

    boto3's default session is not thread-safe; this one is only used under a lock.
    """
    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(service, config=_CLIENT_CONFIG)


def _is_secrets_manager(name: str) -> bool:
    """Secrets Manager ARNs (any partition) select Secrets Manager; anything else is an SSM name."""
    return name.startswith(SECRETS_MANAGER_ARN_PREFIX) or (name.startswith("arn:aws-") and ":secretsmanager:" in name)


def _unwrap_secret_string(value: str) -> str:
    """Accept a plain string, or a JSON object holding exactly one string value."""
    stripped = value.strip()
    if stripped.startswith("{"):
        try:
            document = json.loads(stripped)
        except ValueError:
            return stripped
        values = [v for v in document.values() if isinstance(v, str)] if isinstance(document, dict) else []
        if len(values) != 1:
            raise SecretUnavailableError("secret JSON must hold exactly one string value")
        return values[0].strip()
    return stripped


def _describe(exc: Exception) -> str:
    """Name an exception by type and, for AWS API errors, error code (never by message)."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"{type(exc).__name__}: {code}" if code else type(exc).__name__


class SecretStore:
    """Reads secrets with decryption and keeps them for ``ttl_seconds``.

    Failures are not cached: the next call tries again. Every value read is registered with the
    log scrubber so it can never be logged.
    """

    def __init__(
        self,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        client_factory: Callable[[str], Any] | None = None,
    ) -> None:
        """Create an empty cache; boto3 clients are made lazily on first use."""
        self._ttl = ttl_seconds
        self._clock = clock
        self._client_factory = client_factory or _default_client
        self._clients: dict[str, Any] = {}
        self._cache: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._client_lock = threading.Lock()

    def _client(self, service: str) -> Any:
        """Return (and memoize) the boto3 client for ``service``; creation is serialized."""
        with self._client_lock:
            if service not in self._clients:
                self._clients[service] = self._client_factory(service)
            return self._clients[service]

    def _fetch(self, name: str) -> str:
        """Read ``name`` from its store, decrypted."""
        if _is_secrets_manager(name):
            response = self._client("secretsmanager").get_secret_value(SecretId=name)
            value = response.get("SecretString")
            if not isinstance(value, str):
                raise SecretUnavailableError("secret has no SecretString")
            return _unwrap_secret_string(value)
        response = self._client("ssm").get_parameter(Name=name, WithDecryption=True)
        return str(response["Parameter"]["Value"]).strip()

    def get(self, name: str) -> str:
        """Return the secret stored under ``name``, raising :class:`SecretUnavailableError`."""
        now = self._clock()
        with self._lock:
            cached = self._cache.get(name)
            if cached is not None and now - cached[0] < self._ttl:
                return cached[1]
        try:
            value = self._fetch(name)
        except SecretUnavailableError:
            raise
        except Exception as exc:  # botocore ClientError/BotoCoreError and malformed answers alike
            raise SecretUnavailableError(_describe(exc)) from exc
        if not value:
            raise SecretUnavailableError("secret is empty")
        logs.register_secret(value)
        with self._lock:
            self._cache[name] = (now, value)
        return value

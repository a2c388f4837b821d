"""AWS client construction and error helpers.

Clients come from a :data:`ClientFactory` (service name -> boto3 client) so tests can hand in
emulated ones. The default factory configures short timeouts and bounded retries, which keeps
each invocation's worst case at a few minutes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Builds a boto3 client for a service name such as ``"autoscaling"``.
ClientFactory = Callable[[str], Any]

SERVICES = ("autoscaling", "elbv2", "ec2", "ssm", "dynamodb", "sqs", "sns")


def default_client_factory(region: str | None = None) -> ClientFactory:
    """A factory of real boto3 clients with bounded timeouts and standard retries."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=5,
        read_timeout=15,
        retries={"mode": "standard", "max_attempts": 4},
    )
    session = boto3.session.Session(region_name=region)

    def factory(service: str) -> Any:
        return session.client(service, config=config)  # type: ignore[call-overload]

    return factory


@dataclass
class AwsClients:
    """Lazily created clients, one per service, from a :data:`ClientFactory`."""

    factory: ClientFactory
    _cache: dict[str, Any] = field(default_factory=dict)

    def get(self, service: str) -> Any:
        """The client for ``service`` (created on first use)."""
        if service not in self._cache:
            self._cache[service] = self.factory(service)
        return self._cache[service]

    @property
    def autoscaling(self) -> Any:
        """Auto Scaling client."""
        return self.get("autoscaling")

    @property
    def elbv2(self) -> Any:
        """Elastic Load Balancing v2 client."""
        return self.get("elbv2")

    @property
    def ec2(self) -> Any:
        """EC2 client."""
        return self.get("ec2")

    @property
    def ssm(self) -> Any:
        """Systems Manager client."""
        return self.get("ssm")

    @property
    def dynamodb(self) -> Any:
        """DynamoDB (low-level) client."""
        return self.get("dynamodb")

    @property
    def sqs(self) -> Any:
        """SQS client."""
        return self.get("sqs")

    @property
    def sns(self) -> Any:
        """SNS client."""
        return self.get("sns")


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError`` ("" for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict):
            return str(error.get("Code") or "")
    return ""


def error_message(exc: BaseException) -> str:
    """The AWS error message of a botocore ``ClientError`` (``str(exc)`` otherwise)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        error = response.get("Error")
        if isinstance(error, dict) and error.get("Message"):
            return str(error["Message"])
    return str(exc)


def is_client_error(exc: BaseException, *codes: str) -> bool:
    """Tell whether ``exc`` is an AWS client error with one of ``codes``."""
    return bool(codes) and error_code(exc) in codes

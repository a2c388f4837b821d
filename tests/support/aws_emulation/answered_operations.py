"""Answering a few AWS operations moto does not implement, on one boto3 client, through botocore's
``before-call`` event (botocore then skips the HTTP layer, so moto never sees the call).

Reproduces no AWS behaviour by itself: :mod:`.eks_versions` and :mod:`.service_quotas` say which
documented behaviour their answers follow. Parameter validation by botocore still applies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse

Answer = Callable[[dict[str, Any]], dict[str, Any] | None]
"""Takes the caller's API parameters; returns the parsed answer (None: leave the call to moto), or raises
:class:`AnsweredError`."""


class AnsweredError(Exception):
    """An error answer: botocore raises it as the usual ``ClientError``."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        """``code`` is the AWS error code."""
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def answer_operations(client: Any, answers: dict[str, Answer]) -> Any:
    """Makes ``client`` answer the named operations (``{"DescribeClusterVersions": fn}``); returns it."""
    events = client.meta.events
    service = client.meta.service_model.service_name

    def keep(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["answered_params"] = dict(params)

    def respond(model: Any, context: dict[str, Any], **_: Any) -> Any:
        answer = answers.get(model.name)
        if answer is None:
            return None
        meta = {"RequestId": str(uuid.uuid4()), "HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}
        try:
            parsed = answer(context.get("answered_params", {}))
            if parsed is None:
                return None
        except AnsweredError as exc:
            error = {"Code": exc.code, "Message": exc.message}
            parsed = {"Error": error, "ResponseMetadata": {**meta, "HTTPStatusCode": exc.status}}
            return AWSResponse("https://emulated.invalid/", exc.status, {}, None), parsed
        parsed.setdefault("ResponseMetadata", meta)
        return AWSResponse("https://emulated.invalid/", 200, {}, None), parsed

    events.register(f"before-parameter-build.{service}", keep)
    events.register(f"before-call.{service}", respond)
    return client

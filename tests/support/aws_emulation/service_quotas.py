"""Service Quotas for EC2 (moto answers only the ``vpc`` service code).

Reproduces the documented behaviour of ``GetServiceQuota``: the applied value of a quota by service
and quota code (``Quota.Value``), and ``NoSuchResourceException`` for a quota with no applied value,
in which case ``GetAWSDefaultServiceQuota`` answers the AWS default (Service Quotas API reference).
"""

from __future__ import annotations

from typing import Any

from tests.support.aws_emulation.answered_operations import AnsweredError, answer_operations


def answer_quotas(
    client: Any,
    applied: dict[tuple[str, str], float],
    defaults: dict[tuple[str, str], float],
    services: frozenset[str] = frozenset({"ec2"}),
) -> Any:
    """Makes a service-quotas client answer the quotas of ``services`` from ``applied`` and ``defaults``
    (``(service, code) -> value``); moto keeps answering the other services (it knows ``vpc``)."""

    def lookup(table: dict[tuple[str, str], float]) -> Any:
        def answer(params: dict[str, Any]) -> dict[str, Any] | None:
            key = (params["ServiceCode"], params["QuotaCode"])
            if key[0] not in services:
                return None
            if key not in table:
                raise AnsweredError("NoSuchResourceException", f"quota {key[1]} of {key[0]} has no such value")
            return {"Quota": {"ServiceCode": key[0], "QuotaCode": key[1], "Value": table[key]}}

        return answer

    return answer_operations(
        client, {"GetServiceQuota": lookup(applied), "GetAWSDefaultServiceQuota": lookup(defaults)}
    )

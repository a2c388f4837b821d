"""The ALB access-log bucket's settings and delivery policy, shared by
:mod:`rudder_ha.constructs.access_log_bucket` (cdktf) and :mod:`rudder_ha.pulumi_components.access_log_bucket`."""

from __future__ import annotations

from typing import Any

LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
DEFAULT_LOG_PREFIX = "alb"
"""Where in the bucket the ALB writes (``<prefix>/AWSLogs/<account>/...``)."""
LIFECYCLE_RULE_ID = "expire-access-logs"
NONCURRENT_DAYS = 7
"""Overwritten or deleted log objects are kept this long."""


def bucket_prefix(name_prefix: str) -> str:
    """The bucket's name prefix (S3 appends a unique suffix)."""
    return f"{name_prefix}-alb-logs-"


def delivery_statements(
    bucket_arn: str, log_prefix: str, account_id: str, elb_account_arn: str
) -> list[dict[str, Any]]:
    """Lets Elastic Load Balancing write the account's logs under ``log_prefix``: both the regional ELB
    account (older regions) and the log-delivery service principal (newer regions)."""
    objects = f"{bucket_arn}/{log_prefix}/AWSLogs/{account_id}/*"
    return [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:PutObject",
            "Resource": objects,
        }
        for sid, principal in (
            ("ElbAccountDelivers", {"AWS": elb_account_arn}),
            ("LogDeliveryServiceDelivers", {"Service": LOG_DELIVERY_SERVICE}),
        )
    ]

"""The ALB access-log bucket's settings and delivery policy, shared by
:mod:`rudder_ha.parts.access_log_bucket.cdktf` (cdktf) and :mod:`rudder_ha.parts.access_log_bucket.pulumi`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rudder_ha.parts.private_bucket.spec import PrivateBucketProps

LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
DEFAULT_LOG_PREFIX = "alb"
"""Where in the bucket the ALB writes (``<prefix>/AWSLogs/<account>/...``)."""
LIFECYCLE_RULE_ID = "expire-access-logs"
NONCURRENT_DAYS = 7
"""Overwritten or deleted log objects are kept this long."""


@dataclass(frozen=True)
class AccessLogBucketProps:
    """Props of the ``AccessLogBucket`` construct (cdktf) and component (Pulumi)."""

    name_prefix: str
    retention_days: int
    log_prefix: str = DEFAULT_LOG_PREFIX
    force_destroy: bool = False


def bucket_prefix(name_prefix: str) -> str:
    """The bucket's name prefix (S3 appends a unique suffix)."""
    return f"{name_prefix}-alb-logs-"


def private_bucket_props(props: AccessLogBucketProps) -> PrivateBucketProps:
    """The private bucket holding the logs: SSE-S3 (no customer key), log objects expiring after the retention."""
    return PrivateBucketProps(
        bucket_prefix=bucket_prefix(props.name_prefix),
        lifecycle_rule_id=LIFECYCLE_RULE_ID,
        noncurrent_days=NONCURRENT_DAYS,
        expiration_days=props.retention_days,
        force_destroy=props.force_destroy,
    )


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

"""An S3 bucket that receives the ALB's access logs (Pulumi counterpart of
:mod:`rudder_ha.parts.access_log_bucket.cdktf`; settings from :mod:`rudder_ha.parts.access_log_bucket.spec`)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.parts.access_log_bucket import spec
from rudder_ha.parts.access_log_bucket.spec import AccessLogBucketProps
from rudder_ha.parts.private_bucket.pulumi import add_private_bucket

__all__ = ["AccessLogBucket", "AccessLogBucketProps"]


class AccessLogBucket(pulumi.ComponentResource):
    """Private, versioned, encrypted (SSE-S3: the only encryption ALB log delivery supports), TLS-only,
    expiring after the retention period, with the delivery policy Elastic Load Balancing needs
    (both the regional ELB account of older regions and the log-delivery service principal).

    Attributes: ``bucket`` (the ``aws.s3.Bucket``) and ``log_prefix``.
    """

    def __init__(self, name: str, props: AccessLogBucketProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:access_log_bucket:AccessLogBucket", name, None, opts)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke)
        elb_account = aws.elb.get_service_account_output(opts=invoke)
        self.log_prefix = props.log_prefix

        def delivery(bucket: aws.s3.Bucket) -> pulumi.Output[list[dict]]:
            return pulumi.Output.all(bucket.arn, account.account_id, elb_account.arn).apply(
                lambda v: spec.delivery_statements(v[0], props.log_prefix, v[1], v[2])
            )

        self.bucket = add_private_bucket(
            self,
            name,
            spec.private_bucket_props(props),
            delivery,
        )
        self.register_outputs({"bucket": self.bucket.bucket, "log_prefix": self.log_prefix})

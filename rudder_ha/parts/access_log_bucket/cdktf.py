"""An S3 bucket that receives the ALB's access logs."""

from __future__ import annotations

from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from constructs import Construct

from rudder_ha.parts.access_log_bucket import spec
from rudder_ha.parts.access_log_bucket.spec import AccessLogBucketProps
from rudder_ha.parts.private_bucket.cdktf import add_private_bucket

__all__ = ["AccessLogBucket", "AccessLogBucketProps"]


class AccessLogBucket(Construct):
    """Private, versioned, encrypted (SSE-S3: the only encryption ALB log delivery supports), TLS-only,
    expiring after the retention period, with the delivery policy Elastic Load Balancing needs
    (both the regional ELB account of older regions and the log-delivery service principal)."""

    def __init__(self, scope: Construct, id_: str, props: AccessLogBucketProps) -> None:
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account")
        elb_account = DataAwsElbServiceAccount(self, "elb_account")
        self.log_prefix = props.log_prefix

        def delivery(bucket: S3Bucket) -> list[dict]:
            return spec.delivery_statements(bucket.arn, props.log_prefix, account.account_id, elb_account.arn)

        self.bucket = add_private_bucket(
            self,
            spec.private_bucket_props(props),
            delivery,
        )

"""The Terraform state bucket: there, in the region the file says, reachable, versioned and encrypted."""

from __future__ import annotations

from botocore.exceptions import ClientError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.doctor.results import ACCESS_DENIED, NOT_FOUND, Check, ClientFactory, error_code, fail, ok


def _location(answer: dict[str, object]) -> str:
    """GetBucketLocation's region (``None`` stands for us-east-1, ``EU`` for eu-west-1)."""
    value = answer.get("LocationConstraint") or "us-east-1"
    return "eu-west-1" if value == "EU" else str(value)


def state_bucket(config: EnvironmentConfig, clients: ClientFactory) -> list[Check]:
    """One check per property of ``state.bucket``; the later ones are left out once the bucket is not there."""
    bucket, region = config.state.bucket, config.state.region
    name = f"state bucket {bucket}"
    s3 = clients("s3", region)
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = error_code(exc)
        if code in NOT_FOUND:
            return [
                fail(
                    name,
                    "does not exist",
                    f"create it: aws s3api create-bucket --bucket {bucket} --region {region} "
                    f"--create-bucket-configuration LocationConstraint={region}, then enable versioning and encryption",
                )
            ]
        if code in ACCESS_DENIED:
            return [
                fail(
                    name,
                    "exists but these credentials may not read it (another account's bucket, or no s3:ListBucket)",
                    f"allow s3:ListBucket on arn:aws:s3:::{bucket}, or fix state.bucket in {config.source}",
                )
            ]
        raise
    checks = [ok(name, "reachable")]
    try:
        where = _location(s3.get_bucket_location(Bucket=bucket))
    except ClientError as exc:
        if error_code(exc) not in ACCESS_DENIED:
            raise
        where = region
        checks.append(fail(name, "region unreadable", f"allow s3:GetBucketLocation on arn:aws:s3:::{bucket}"))
    if where != region:
        checks.append(
            fail(name, f"is in {where}, the file says {region}", f"set state.region: {where} in {config.source}")
        )
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if versioning == "Enabled":
        checks.append(ok(f"{name} versioning", "enabled"))
    else:
        checks.append(
            fail(
                f"{name} versioning",
                f"is {versioning or 'off'}: a bad apply could not be rolled back",
                f"aws s3api put-bucket-versioning --bucket {bucket} --versioning-configuration Status=Enabled",
            )
        )
    checks.append(_encryption(config, s3))
    return checks


def _encryption(config: EnvironmentConfig, s3: object) -> Check:
    bucket = config.state.bucket
    name = f"state bucket {bucket} encryption"
    try:
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]  # type: ignore[attr-defined]
    except ClientError as exc:
        if error_code(exc) != "ServerSideEncryptionConfigurationNotFoundError":
            raise
        rules = []
    algorithms = [r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm", "") for r in rules]
    if not any(algorithms):
        return fail(
            name,
            "no default encryption",
            f"aws s3api put-bucket-encryption --bucket {bucket} --server-side-encryption-configuration "
            '\'{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"}}]}\'',
        )
    return ok(name, ", ".join(a for a in algorithms if a))

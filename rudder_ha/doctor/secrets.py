"""The secrets the file names (workspace token, alert receivers) and the KMS keys it names."""

from __future__ import annotations

from botocore.exceptions import ClientError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.doctor.results import ACCESS_DENIED, NOT_FOUND, Check, ClientFactory, denied, error_code, fail, ok


def secret_refs(config: EnvironmentConfig) -> list[tuple[str, str]]:
    """``(what, reference)`` for every secret the file names: an SSM parameter name or a Secrets Manager ARN."""
    token = config.rudder.workspace_token
    refs = [("workspace token", token.ssm_parameter or token.secrets_manager_arn or "")]
    labels = {
        "pagerduty_routing_key": config.alerting.pagerduty_routing_key,
        "victorops_url": config.alerting.victorops_url,
        "slack_webhook_url": config.alerting.slack_webhook_url,
    }
    refs += [(f"alerting.{field}", ref) for field, ref in labels.items() if ref]
    return [(what, ref) for what, ref in refs if ref]


def check_secret(config: EnvironmentConfig, clients: ClientFactory, what: str, ref: str) -> Check:
    """An SSM parameter must exist and be a SecureString; a Secrets Manager secret must exist and not be deleted.

    Only metadata is read (``ssm:DescribeParameters``, ``secretsmanager:DescribeSecret``): never the value.
    """
    name = f"{what} {ref}"
    if ref.startswith("arn:"):
        return _secrets_manager(config, clients, name, ref)
    ssm = clients("ssm", config.region)
    try:
        found = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [ref]}])
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return denied(name, "ssm:DescribeParameters", exc)
        raise
    parameters = found.get("Parameters", [])
    put = f"aws ssm put-parameter --region {config.region} --type SecureString --name {ref} --value '<the value>'"
    if not parameters:
        return fail(name, f"no such SSM parameter in {config.region}", put)
    kind = parameters[0].get("Type", "")
    if kind != "SecureString":
        return fail(name, f"is a {kind}, so its value is stored unencrypted", f"delete it and {put}")
    return ok(name, "SecureString")


def _secrets_manager(config: EnvironmentConfig, clients: ClientFactory, name: str, arn: str) -> Check:
    region = arn.split(":")[3] or config.region
    try:
        secret = clients("secretsmanager", region).describe_secret(SecretId=arn)
    except ClientError as exc:
        code = error_code(exc)
        if code in NOT_FOUND:
            return fail(
                name,
                "no such secret",
                f"aws secretsmanager create-secret --name <name> (then fix the ARN in {config.source})",
            )
        if code in ACCESS_DENIED:
            return denied(name, "secretsmanager:DescribeSecret", exc)
        raise
    if secret.get("DeletedDate"):
        return fail(name, "is scheduled for deletion", f"aws secretsmanager restore-secret --secret-id {arn}")
    return ok(name, "Secrets Manager secret")


def kms_refs(config: EnvironmentConfig) -> list[tuple[str, str]]:
    """``(setting, key)`` for every KMS key the file names."""
    keys = {
        "state.kms_key_id": config.state.kms_key_id,
        "instance.ebs_kms_key_arn": config.instance.ebs_kms_key_arn,
        "rudder.workspace_token.kms_key_arn": config.rudder.workspace_token.kms_key_arn,
        "jobsdb.kms_key_arn": config.jobsdb.kms_key_arn,
        "alerting.secrets_kms_key_arn": config.alerting.secrets_kms_key_arn,
    }
    return [(setting, key) for setting, key in keys.items() if key]


def check_kms_key(config: EnvironmentConfig, clients: ClientFactory, setting: str, key: str) -> Check:
    """The key exists, is enabled, and is a symmetric encryption key."""
    name = f"{setting} {key}"
    region = (
        key.split(":")[3]
        if key.startswith("arn:")
        else (config.state.region if setting.startswith("state.") else config.region)
    )
    try:
        meta = clients("kms", region).describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as exc:
        code = error_code(exc)
        if code in NOT_FOUND:
            return fail(name, f"no such key in {region}", f"create the key or fix {setting} in {config.source}")
        if code in ACCESS_DENIED:
            return denied(name, "kms:DescribeKey", exc)
        raise
    if meta.get("KeyState") != "Enabled":
        return fail(name, f"is {meta.get('KeyState')}", f"aws kms enable-key --key-id {meta.get('KeyId', key)}")
    if meta.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT" or meta.get("KeySpec", "SYMMETRIC_DEFAULT") != (
        "SYMMETRIC_DEFAULT"
    ):
        return fail(name, "is not a symmetric encryption key", f"name a SYMMETRIC_DEFAULT key in {setting}")
    return ok(name, "enabled, symmetric")

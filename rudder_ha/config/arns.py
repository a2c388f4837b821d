"""The ARNs an environment file names, and where each must live.

The schema fixes each ARN's shape (service, resource type, no wildcard); :func:`arn_scope` checks that it
points where the stack can use it: the partition of the environment's region, that region for regional
resources, and one of ``allowed_account_ids`` where the resource cannot be used from another account (or
where this project sets up no cross-account access). Each field says why in its :class:`ArnField`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from rudder_ha.config.model import EnvironmentConfig

Finding = tuple[str, str]


@dataclass(frozen=True)
class Arn:
    """``arn:<partition>:<service>:<region>:<account>:<resource>``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str


def parse_arn(text: str) -> Arn | None:
    """The parts of ``text``, or None when it is not an ARN."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(*parts[1:])


def partition_of(region: str) -> str:
    """The partition a region belongs to (``cn-north-1``: ``aws-cn``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


@dataclass(frozen=True)
class ArnField:
    """One setting that may hold an ARN, and where that ARN must point."""

    path: str
    values: Callable[[EnvironmentConfig], list[str | None]]
    why: str
    """Why it must be in the region (and account): the end of the refusal message."""
    regional: bool = True
    """The resource lives in one region: the environment's (or, for ``state_region``, the state's)."""
    state_region: bool = False
    own_account: bool = True
    """It must be in one of ``allowed_account_ids`` (when the environment lists them)."""
    listed: bool = False
    """The setting is a list of ARNs."""


_KEY_WHY = "KMS keys are regional, and this project grants no other account's key"
_READ_WHY = "it is read in the environment's region with a policy of the environment's account"

ARN_FIELDS: tuple[ArnField, ...] = (
    ArnField(
        "load_balancer.certificate_arn",
        lambda c: [c.load_balancer.certificate_arn],
        "an ALB can only use a certificate of its own region and account",
    ),
    ArnField(
        "load_balancer.waf_web_acl_arn",
        lambda c: [c.load_balancer.waf_web_acl_arn],
        "a regional web ACL protects load balancers of its own region and account",
    ),
    ArnField("instance.ebs_kms_key_arn", lambda c: [c.instance.ebs_kms_key_arn], _KEY_WHY),
    ArnField("jobsdb.kms_key_arn", lambda c: [c.jobsdb.kms_key_arn], _KEY_WHY),
    ArnField("rudder.workspace_token.kms_key_arn", lambda c: [c.rudder.workspace_token.kms_key_arn], _KEY_WHY),
    ArnField(
        "rudder.workspace_token.secrets_manager_arn",
        lambda c: [c.rudder.workspace_token.secrets_manager_arn],
        _READ_WHY,
    ),
    ArnField("alerting.secrets_kms_key_arn", lambda c: [c.alerting.secrets_kms_key_arn], _KEY_WHY),
    ArnField("alerting.pagerduty_routing_key", lambda c: [c.alerting.pagerduty_routing_key], _READ_WHY),
    ArnField("alerting.victorops_url", lambda c: [c.alerting.victorops_url], _READ_WHY),
    ArnField("alerting.slack_webhook_url", lambda c: [c.alerting.slack_webhook_url], _READ_WHY),
    ArnField(
        "state.kms_key_id",
        lambda c: [c.state.kms_key_id],
        "the state is encrypted in the state bucket's region",
        state_region=True,
        own_account=False,
    ),
    ArnField(
        "eks.admin_principal_arns",
        lambda c: list(c.eks.admin_principal_arns) if c.eks else [],
        "IAM is global, so the ARN names no region",
        regional=False,
        own_account=False,  # STANDARD access entries may name another account's principal
        listed=True,
    ),
)
"""Every setting that holds (or may hold) an ARN."""


def _problems(field: ArnField, path: str, arn: Arn, config: EnvironmentConfig) -> Iterator[Finding]:
    region = config.state.region if field.state_region else config.region
    partition = partition_of(region)
    if arn.partition != partition:
        yield (
            path,
            f"is in partition {arn.partition}, but region {region} is in {partition}; use an ARN starting "
            f"arn:{partition}:",
        )
    if field.regional and arn.region != region:
        yield path, f"is not in region {region} (it names {arn.region}); {field.why}; use one from {region}"
    if not field.regional and arn.region:
        yield path, f"names region {arn.region}; {field.why}, remove the region"
    accounts = config.allowed_account_ids
    if field.own_account and accounts and arn.account not in accounts:
        yield (
            path,
            f"belongs to account {arn.account}, not to allowed_account_ids ({', '.join(accounts)}); {field.why}; "
            "use one of those accounts",
        )


def arn_scope(config: EnvironmentConfig) -> Iterator[Finding]:
    """Every ARN in the settings is in the environment's partition, region and accounts, where it must be."""
    for field in ARN_FIELDS:
        values = field.values(config)
        for i, value in enumerate(values):
            arn = parse_arn(value) if value else None
            if arn is None:
                continue
            path = f"{field.path}[{i}]" if field.listed else field.path
            yield from _problems(field, path, arn, config)

"""Who is calling, and whether the environment's region and Availability Zones are there for them."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.doctor.results import ACCESS_DENIED, Check, ClientFactory, denied, error_code, fail, ok

CREDENTIALS_FIX = "set AWS_PROFILE (or run `aws configure` / `aws sso login`) for the account that deploys"


@dataclass(frozen=True)
class Caller:
    """The identity ``sts:GetCallerIdentity`` answered with."""

    account: str
    arn: str


def caller(config: EnvironmentConfig, clients: ClientFactory) -> tuple[Caller | None, Check]:
    """The caller, and the check saying whether there are working credentials at all."""
    name = "credentials"
    try:
        answer = clients("sts", config.region).get_caller_identity()
    except NoCredentialsError:
        return None, fail(name, "no AWS credentials found", CREDENTIALS_FIX)
    except ClientError as exc:
        code = error_code(exc)
        return None, fail(name, f"the credentials were refused ({code})", CREDENTIALS_FIX)
    except BotoCoreError as exc:
        return None, fail(name, f"could not reach AWS STS in {config.region} ({exc})", "check the network and proxy")
    who = Caller(account=str(answer["Account"]), arn=str(answer["Arn"]))
    return who, ok(name, f"{who.arn}")


def account_allowed(config: EnvironmentConfig, who: Caller) -> Check:
    """The caller's account is one of ``allowed_account_ids`` (when the file names any)."""
    name = "account"
    allowed = config.allowed_account_ids
    if not allowed:
        return ok(name, f"{who.account} (the file sets no allowed_account_ids, so any account is accepted)")
    if who.account in allowed:
        return ok(name, f"{who.account} is in allowed_account_ids")
    return fail(
        name,
        f"the credentials are for account {who.account}, {config.source} allows only {', '.join(allowed)}",
        "use credentials of an allowed account, or add the account to allowed_account_ids",
    )


def region_enabled(config: EnvironmentConfig, clients: ClientFactory) -> Check:
    """The region exists and is enabled for the account (opt-in regions must be opted into)."""
    name = "region"
    try:
        regions = clients("ec2", config.region).describe_regions(AllRegions=True)["Regions"]
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return denied(name, "ec2:DescribeRegions", exc)
        raise
    status = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in regions}
    if config.region not in status:
        return fail(name, f"{config.region} is not an AWS region", f"fix region in {config.source}")
    if status[config.region] == "not-opted-in":
        return fail(
            name,
            f"{config.region} is an opt-in region this account has not enabled",
            f"enable it: aws account enable-region --region-name {config.region}",
        )
    return ok(name, f"{config.region} is enabled")


def availability_zones(config: EnvironmentConfig, clients: ClientFactory) -> Check:
    """Every AZ the file names exists in the region and is available."""
    name = "availability zones"
    wanted = config.network.availability_zones
    try:
        zones = clients("ec2", config.region).describe_availability_zones(AllAvailabilityZones=True)
    except ClientError as exc:
        if error_code(exc) in ACCESS_DENIED:
            return denied(name, "ec2:DescribeAvailabilityZones", exc)
        raise
    state = {z["ZoneName"]: z.get("State", "available") for z in zones["AvailabilityZones"]}
    missing = [z for z in wanted if z not in state]
    if missing:
        return fail(
            name,
            f"{', '.join(missing)} not in {config.region} (it has {', '.join(sorted(state))})",
            f"fix network.availability_zones in {config.source}",
        )
    down = [z for z in wanted if state[z] != "available"]
    if down:
        return fail(name, f"{', '.join(down)} not available", "pick available zones in network.availability_zones")
    return ok(name, f"{', '.join(wanted)} available in {config.region}")

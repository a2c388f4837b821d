"""Runs every preflight check of one environment and prints one line per check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.doctor import certificate, identity, platform, quotas, secrets, state_bucket
from rudder_ha.doctor.results import Check, ClientFactory, error_code, fail


def boto3_clients() -> ClientFactory:
    """A client factory over one boto3 session (the default credential chain: AWS_PROFILE, SSO, env, role)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=20)
    cache: dict[tuple[str, str], Any] = {}

    def client(service: str, region: str) -> Any:
        if (service, region) not in cache:
            cache[(service, region)] = session.client(service, region_name=region, config=config)  # type: ignore[call-overload]
        return cache[(service, region)]

    return client


def _guarded(name: str, check: Callable[[], Check | list[Check]]) -> list[Check]:
    """Runs one check; an AWS error it did not expect becomes its FAIL line instead of a traceback."""
    try:
        result = check()
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", ""))[:200]
        return [fail(name, f"AWS answered {error_code(exc)}: {message}", "see the message; rerun doctor")]
    except (BotoCoreError, NotImplementedError) as exc:
        return [fail(name, f"the call failed: {exc}", "check the network, proxy and credentials; rerun doctor")]
    return result if isinstance(result, list) else [result]


def checks(config: EnvironmentConfig, clients: ClientFactory) -> list[Check]:
    """Every check's verdict, in the order printed; stops after the first when there are no credentials."""
    who, found = identity.caller(config, clients)
    if who is None:
        return [found]
    out = [found, identity.account_allowed(config, who)]
    plan: list[tuple[str, Callable[[], Check | list[Check]]]] = [
        ("region", lambda: identity.region_enabled(config, clients)),
        ("availability zones", lambda: identity.availability_zones(config, clients)),
        ("state bucket", lambda: state_bucket.state_bucket(config, clients)),
    ]
    for what, ref in secrets.secret_refs(config):
        plan.append((what, lambda what=what, ref=ref: secrets.check_secret(config, clients, what, ref)))
    for setting, key in secrets.kms_refs(config):
        plan.append((setting, lambda setting=setting, key=key: secrets.check_kms_key(config, clients, setting, key)))
    plan += [
        ("certificate", lambda: certificate.certificate(config, clients)),
        ("quotas", lambda: quotas.network_quotas(config, clients)),
        ("vCPU quota", lambda: quotas.vcpu_quota(config, clients)),
        ("AMI", lambda: platform.pinned_ami(config, clients)),
        ("EKS version", lambda: platform.eks_version(config, clients)),
    ]
    for role, service in platform.service_linked_roles(config).items():
        plan.append(
            (
                role,
                lambda role=role, service=service: platform.check_service_linked_role(
                    clients, config, who, role, service
                ),
            )
        )
    for name, check in plan:
        out += _guarded(name, check)
    return out


def run_doctor(
    config: EnvironmentConfig, clients: ClientFactory | None = None, report: Callable[[str], None] = print
) -> int:
    """Prints one line per check and a summary; returns 0 when nothing failed, 1 otherwise."""
    results = checks(config, clients or boto3_clients())
    for check in results:
        report(check.line())
    failed = sum(c.status == "FAIL" for c in results)
    passed = sum(c.status == "OK" for c in results)
    if failed:
        report(f"doctor {config.environment}: {failed} problem(s), {passed} check(s) passed; fix the FAIL lines first")
        return 1
    report(f"doctor {config.environment}: ready to deploy ({passed} check(s) passed)")
    return 0

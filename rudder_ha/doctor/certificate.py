"""The HTTPS listener's ACM certificate: there, ISSUED, and valid for the domain (the configuration rules
already hold its ARN to the environment's region and account)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.doctor.results import ACCESS_DENIED, NOT_FOUND, Check, ClientFactory, denied, error_code, fail, ok, skip


def covers(names: list[str], domain: str) -> bool:
    """Whether a certificate for ``names`` is valid for ``domain`` (a ``*.`` name covers exactly one label)."""
    domain = domain.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == domain:
            return True
        if name.startswith("*.") and "." in domain and domain.split(".", 1)[1] == name[2:]:
            return True
    return False


def certificate(config: EnvironmentConfig, clients: ClientFactory) -> Check:
    """``load_balancer.certificate_arn`` checked against ``load_balancer.domain_name``."""
    lb = config.load_balancer
    if lb.http_only or not lb.certificate_arn:
        return skip("certificate", "the load balancer listens on HTTP only")
    arn = lb.certificate_arn
    name = f"certificate {arn}"
    region = arn.split(":")[3]  # the configuration rules hold it to the environment's region and account
    try:
        cert = clients("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
    except ClientError as exc:
        code = error_code(exc)
        if code in NOT_FOUND:
            return fail(name, "no such certificate", f"fix load_balancer.certificate_arn in {config.source}")
        if code in ACCESS_DENIED:
            return denied(name, "acm:DescribeCertificate", exc)
        raise
    status = cert.get("Status", "")
    if status != "ISSUED":
        fix = (
            "complete its DNS validation (add the CNAME records `aws acm describe-certificate` lists)"
            if status == "PENDING_VALIDATION"
            else "request a new certificate and set load_balancer.certificate_arn"
        )
        return fail(name, f"is {status}, not ISSUED", fix)
    names = [cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", [])]
    if lb.domain_name and not covers(names, lb.domain_name):
        return fail(
            name,
            f"is for {', '.join(sorted(set(names)))}, not {lb.domain_name}",
            f"use a certificate that names {lb.domain_name} (or a wildcard for its parent domain)",
        )
    return ok(name, f"ISSUED for {lb.domain_name or cert.get('DomainName')}")

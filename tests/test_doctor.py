"""``python -m rudder_ha doctor``: every preflight check, against moto (plus the EKS versions and EC2
service quotas moto does not answer, from tests/support/aws_emulation/)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto import mock_aws

from rudder_ha.config import load_environments
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.doctor import Check, run_doctor
from rudder_ha.doctor.certificate import covers
from rudder_ha.doctor.quotas import ELASTIC_IPS, STANDARD_VCPUS
from rudder_ha.doctor.run import checks
from tests.support.aws_emulation.answered_operations import AnsweredError, answer_operations
from tests.support.aws_emulation.eks_versions import answer_cluster_versions
from tests.support.aws_emulation.service_quotas import answer_quotas
from tests.support.documents import with_setting

REGION = "eu-west-1"
ACCOUNT = "123456789012"
BUCKET = "doctor-test-tfstate"
DOMAIN = "events.example.com"


def _certificate(*names: str) -> tuple[bytes, bytes]:
    """A self-signed certificate for ``names`` and its key, as PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


@dataclass
class Account:
    """A moto account prepared for the ``ready`` environment, and the knobs the tests turn."""

    tmp: Path
    certificate_arn: str
    applied_quotas: dict[tuple[str, str], float]
    versions: dict[str, str]

    made: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    """One client per service and region, as ``boto3_clients`` gives the doctor."""

    def clients(self, service: str, region: str) -> Any:
        if (service, region) in self.made:
            return self.made[(service, region)]
        client = self.made[(service, region)] = boto3.client(service, region_name=region)
        if service == "eks":
            answer_cluster_versions(client, self.versions)
        if service == "service-quotas":
            answer_quotas(client, self.applied_quotas, {})
        return client

    def document(self) -> dict[str, Any]:
        """The environment the account is ready for."""
        return {
            "environment": "ready",
            "tier": "prod",
            "topology": "single_node",
            "region": REGION,
            "allowed_account_ids": [ACCOUNT],
            "tags": {"owner": "data-platform"},
            "state": {"bucket": BUCKET, "key": "rudder-ha/ready/terraform.tfstate", "region": REGION},
            "network": {
                "vpc_cidr": "10.30.0.0/16",
                "availability_zones": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
                "nat_gateways": "one_per_az",
            },
            "load_balancer": {"domain_name": DOMAIN, "certificate_arn": self.certificate_arn},
            "instance": {"instance_type": "m6i.2xlarge"},
            "rudder": {
                "backend_image": "rudderlabs/rudder-server:1.62.1",
                "transformer_image": "rudderstack/rudder-transformer:1.93.0",
                "workspace_token": {"ssm_parameter": "/rudder-ha/ready/workspace-token"},
            },
            "alerting": {"pagerduty_routing_key": "/rudder-ha/ready/pagerduty-routing-key"},
        }

    def config(self, *edits: tuple[str, Any], document: dict[str, Any] | None = None) -> EnvironmentConfig:
        doc = document or self.document()
        for dotted, value in edits:
            doc = with_setting(doc, dotted, value)
        path = self.tmp / f"{doc['environment']}.yaml"
        path.write_text(yaml.safe_dump(doc), encoding="utf-8")
        (config,) = load_environments([path])
        return config

    def run(self, config: EnvironmentConfig) -> list[Check]:
        return checks(config, self.clients)


def _service_linked_roles(**services: str) -> None:
    """Service-linked roles under their documented names (moto's CreateServiceLinkedRole names most of
    them in lower case): ``AWSServiceRoleFor<Name>`` on ``/aws-service-role/<service>.amazonaws.com/``."""
    iam = boto3.client("iam")
    for name, service in services.items():
        principal = f"{service}.amazonaws.com"
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}],
        }
        iam.create_role(
            RoleName=f"AWSServiceRoleFor{name}",
            Path=f"/aws-service-role/{principal}/",
            AssumeRolePolicyDocument=json.dumps(trust),
        )


@pytest.fixture
def account(tmp_path: Path, aws_credentials: None) -> Iterator[Account]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        s3.put_bucket_encryption(
            Bucket=BUCKET,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
            },
        )
        ssm = boto3.client("ssm", region_name=REGION)
        for name in ("/rudder-ha/ready/workspace-token", "/rudder-ha/ready/pagerduty-routing-key"):
            ssm.put_parameter(Name=name, Type="SecureString", Value="not-a-real-secret")
        cert, key = _certificate(DOMAIN, f"*.{DOMAIN.split('.', 1)[1]}")
        arn = boto3.client("acm", region_name=REGION).import_certificate(Certificate=cert, PrivateKey=key)[
            "CertificateArn"
        ]
        _service_linked_roles(AutoScaling="autoscaling", ElasticLoadBalancing="elasticloadbalancing", RDS="rds")
        quotas = {(ELASTIC_IPS.service, ELASTIC_IPS.code): 5.0, (STANDARD_VCPUS.service, STANDARD_VCPUS.code): 64.0}
        yield Account(
            tmp_path, arn, quotas, {"1.32": "UNSUPPORTED", "1.33": "STANDARD_SUPPORT", "1.34": "STANDARD_SUPPORT"}
        )


def _by_name(results: list[Check], name: str) -> Check:
    found = [c for c in results if c.name.startswith(name)]
    assert found, f"no check named {name!r} in {[c.name for c in results]}"
    return found[0]


def _failed(results: list[Check]) -> list[Check]:
    return [c for c in results if c.status == "FAIL"]


def test_a_ready_account_passes_every_check(account: Account) -> None:
    lines: list[str] = []
    assert run_doctor(account.config(), account.clients, lines.append) == 0
    assert not [line for line in lines if line.startswith("FAIL")], lines
    names = " | ".join(lines)
    for expected in (
        "credentials",
        "account",
        "region",
        "availability zones",
        f"state bucket {BUCKET}: reachable",
        "versioning",
        "encryption",
        "workspace token /rudder-ha/ready/workspace-token: SecureString",
        "alerting.pagerduty_routing_key",
        "certificate",
        "quota: VPCs",
        "quota: NAT gateways",
        "quota: Elastic IPs",
        "quota: on-demand standard vCPUs",
        "service-linked role AWSServiceRoleForAutoScaling: exists",
    ):
        assert expected in names
    assert (
        lines[-1] == f"doctor ready: ready to deploy ({sum(line.startswith('OK') for line in lines)} check(s) passed)"
    )


def test_without_credentials_one_clear_line(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(account.tmp / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(account.tmp / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    lines: list[str] = []
    assert (
        run_doctor(account.config(), lambda s, r: boto3.session.Session().client(s, region_name=r), lines.append) == 1
    )
    assert lines[0].startswith("FAIL  credentials: no AWS credentials found; fix: set AWS_PROFILE")
    assert len(lines) == 2


def test_another_account_is_refused(account: Account) -> None:
    other = account.certificate_arn.replace(ACCOUNT, "210987654321")
    config = account.config(("allowed_account_ids", ["210987654321"]), ("load_balancer.certificate_arn", other))
    check = _by_name(account.run(config), "account")
    assert check.status == "FAIL"
    assert "123456789012" in check.detail and "210987654321" in check.detail
    assert "allowed_account_ids" in check.fix


def test_a_region_not_opted_into(account: Account) -> None:
    # DescribeRegions(AllRegions=True) lists an opt-in region the account has not enabled as such
    listed = [{"RegionName": REGION, "OptInStatus": "not-opted-in", "Endpoint": f"ec2.{REGION}.amazonaws.com"}]
    clients = _answering(account, {"ec2": {"DescribeRegions": lambda _params: {"Regions": listed}}})
    check = _by_name(checks(account.config(), clients), "region")
    assert check.status == "FAIL" and check.fix == f"enable it: aws account enable-region --region-name {REGION}"


def test_hot_standby_needs_room_for_three_instances(account: Account) -> None:
    config = account.config(("jobsdb.mode", "rds"), ("autoscaling.failover.mode", "hot_standby"))
    check = _by_name(account.run(config), "quota: on-demand standard vCPUs")
    # the holder, the standby and a replacement overlapping one of them: 3 x 8 vCPUs
    assert check.detail == "0 used + 24 needed of 64 (applied)"


def test_unknown_availability_zone(account: Account) -> None:
    config = account.config(("network.availability_zones", [f"{REGION}a", f"{REGION}b", f"{REGION}q"]))
    check = _by_name(account.run(config), "availability zones")
    assert check.status == "FAIL" and f"{REGION}q" in check.detail
    assert "network.availability_zones" in check.fix


def test_missing_state_bucket_says_how_to_create_it(account: Account) -> None:
    results = account.run(account.config(("state.bucket", "no-such-doctor-bucket")))
    check = _by_name(results, "state bucket no-such-doctor-bucket")
    assert check.status == "FAIL" and check.detail == "does not exist"
    assert "aws s3api create-bucket --bucket no-such-doctor-bucket" in check.fix
    assert not [c for c in results if "versioning" in c.name]


def test_unversioned_unencrypted_bucket_in_another_region(account: Account) -> None:
    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.create_bucket(Bucket="doctor-plain", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    results = account.run(account.config(("state.bucket", "doctor-plain")))
    failures = {c.detail: c.fix for c in _failed(results)}
    assert failures["is in eu-central-1, the file says eu-west-1"].startswith("set state.region: eu-central-1")
    assert "put-bucket-versioning" in failures["is off: a bad apply could not be rolled back"]
    assert "put-bucket-encryption" in failures["no default encryption"]


def test_workspace_token_missing_or_plain_string(account: Account) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/rudder-ha/ready/plain-token", Type="String", Value="x")
    missing = _by_name(
        account.run(account.config(("rudder.workspace_token.ssm_parameter", "/rudder-ha/ready/none"))),
        "workspace token",
    )
    assert missing.status == "FAIL" and "no such SSM parameter" in missing.detail
    assert "--type SecureString --name /rudder-ha/ready/none" in missing.fix
    plain = _by_name(
        account.run(account.config(("rudder.workspace_token.ssm_parameter", "/rudder-ha/ready/plain-token"))),
        "workspace token",
    )
    assert plain.status == "FAIL" and "is a String" in plain.detail


def test_alert_receiver_in_secrets_manager(account: Account) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    arn = sm.create_secret(Name="rudder-ha/ready/slack", SecretString="https://hooks.slack.com/services/x")["ARN"]
    good = _by_name(account.run(account.config(("alerting.slack_webhook_url", arn))), "alerting.slack_webhook_url")
    assert good.status == "OK" and good.detail == "Secrets Manager secret"
    gone = arn.rsplit("-", 1)[0] + "x-AbCdEf"
    missing = _by_name(account.run(account.config(("alerting.slack_webhook_url", gone))), "alerting.slack_webhook_url")
    assert missing.status == "FAIL" and missing.detail == "no such secret"


def test_kms_keys_must_be_enabled(account: Account) -> None:
    kms = boto3.client("kms", region_name=REGION)
    enabled = kms.create_key()["KeyMetadata"]["Arn"]
    disabled = kms.create_key()["KeyMetadata"]["Arn"]
    kms.disable_key(KeyId=disabled.rsplit("/", 1)[1])
    results = account.run(
        account.config(("instance.ebs_kms_key_arn", enabled), ("alerting.secrets_kms_key_arn", disabled))
    )
    assert _by_name(results, "instance.ebs_kms_key_arn").status == "OK"
    off = _by_name(results, "alerting.secrets_kms_key_arn")
    assert off.status == "FAIL" and off.detail == "is Disabled" and off.fix.startswith("aws kms enable-key")


def test_certificate_pending_or_for_another_domain(account: Account) -> None:
    acm = boto3.client("acm", region_name=REGION)
    pending = acm.request_certificate(DomainName=DOMAIN)["CertificateArn"]
    check = _by_name(account.run(account.config(("load_balancer.certificate_arn", pending))), "certificate")
    assert check.status == "FAIL" and "PENDING_VALIDATION" in check.detail and "DNS validation" in check.fix
    other = _by_name(account.run(account.config(("load_balancer.domain_name", "events.example.org"))), "certificate")
    assert other.status == "FAIL" and "not events.example.org" in other.detail


def test_wildcards_cover_one_label() -> None:
    assert covers(["*.example.com"], "events.example.com")
    assert not covers(["*.example.com"], "a.events.example.com")
    assert not covers(["*.example.com"], "example.com")
    assert covers(["Events.Example.com."], "events.example.com")


def test_quotas_without_room(account: Account) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    for _ in range(4):
        ec2.allocate_address(Domain="vpc")
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=7, MaxCount=7, InstanceType="m5.2xlarge")
    results = account.run(account.config())
    eips = _by_name(results, "quota: Elastic IPs")
    assert eips.status == "FAIL" and eips.detail == "4 used + 3 needed of 5 (applied)"
    assert "--quota-code L-0263D0A3 --desired-value 7" in eips.fix
    vcpus = _by_name(results, "quota: on-demand standard vCPUs")
    # 7 x 8 running; the old and the new instance (16) and the image build instance overlap.
    assert vcpus.status == "FAIL" and vcpus.detail.startswith("56 used + ")


def test_quota_falls_back_to_the_documented_default(account: Account) -> None:
    account.applied_quotas.clear()
    results = account.run(account.config())
    assert _by_name(results, "quota: Elastic IPs").detail == "0 used + 3 needed of 5 (documented default)"
    assert _by_name(results, "quota: on-demand standard vCPUs").status == "SKIP"
    assert _by_name(results, "quota: VPCs").detail.endswith("(applied)")  # moto answers the vpc quotas


def test_existing_vpc_needs_no_network_quota(account: Account) -> None:
    doc = with_setting(
        account.document(),
        "network",
        {
            "vpc_id": "vpc-0123456789abcdef0",
            "availability_zones": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
            "public_subnet_ids": [f"subnet-000000000000000a{i}" for i in range(3)],
            "private_subnet_ids": [f"subnet-000000000000000b{i}" for i in range(3)],
        },
    )
    check = _by_name(account.run(account.config(document=doc)), "quotas: VPC")
    assert check.status == "SKIP" and "vpc-0123456789abcdef0" in check.detail


def test_pinned_ami(account: Account) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)

    def image(arch: str) -> str:
        found = ec2.describe_images(Filters=[{"Name": "architecture", "Values": [arch]}])["Images"]
        return str(found[0]["ImageId"])

    missing = _by_name(account.run(account.config(("instance.ami", "ami-0123456789abcdef0"))), "AMI")
    assert missing.status == "FAIL" and "not found" in missing.detail
    wrong = _by_name(account.run(account.config(("instance.ami", image("arm64")))), "AMI")
    assert wrong.status == "FAIL" and "is arm64, instance.architecture is x86_64" in wrong.detail
    good = _by_name(account.run(account.config(("instance.ami", image("x86_64")))), "AMI")
    assert good.status == "OK" and good.detail == "available, x86_64"


def _eks_document(account: Account, version: str) -> dict[str, Any]:
    doc = account.document()
    for key in ("instance", "alerting"):
        doc.pop(key)
    doc["state"].pop("key")
    doc.update(
        topology="eks",
        environment="ready-eks",
        eks={
            "kubernetes_version": version,
            "admin_principal_arns": [f"arn:aws:iam::{ACCOUNT}:role/platform-admin"],
            "node_instance_type": "m6i.xlarge",
            "nodes_per_az": {"min": 1, "max": 2, "desired": 1},
        },
    )
    return doc


def test_eks_version_supported_or_not(account: Account) -> None:
    good = _by_name(account.run(account.config(document=_eks_document(account, "1.33"))), "EKS version")
    assert good.status == "OK" and good.detail == "standard support"
    old = _by_name(account.run(account.config(document=_eks_document(account, "1.32"))), "EKS version")
    assert old.status == "FAIL" and "UNSUPPORTED" in old.detail and old.fix.endswith("1.33, 1.34")


def test_service_linked_roles_absent(account: Account) -> None:
    results = account.run(account.config(document=_eks_document(account, "1.33")))
    eks = _by_name(results, "service-linked role AWSServiceRoleForAmazonEKS")
    assert eks.status == "FAIL"  # moto cannot simulate policies, so doctor cannot tell
    assert eks.fix == "aws iam create-service-linked-role --aws-service-name eks.amazonaws.com"
    assert _by_name(results, "service-linked role AWSServiceRoleForAutoScaling").status == "OK"


def test_unexpected_aws_errors_become_lines(account: Account) -> None:
    def refuse(_params: dict[str, Any]) -> dict[str, Any]:
        raise AnsweredError("ThrottlingException", "Rate exceeded", 400)

    results = checks(account.config(), _answering(account, {"acm": {"DescribeCertificate": refuse}}))
    check = _by_name(results, "certificate")
    assert check.status == "FAIL" and check.detail == "AWS answered ThrottlingException: Rate exceeded"


def test_command_line(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    from rudder_ha.cli import main

    account.config()
    code = main(["doctor", "ready", "--environments-dir", str(account.tmp)])
    out = capsys.readouterr().out.splitlines()
    assert code == 0, "\n".join(out)
    assert out[-1].startswith("doctor ready: ready to deploy")
    assert all(line.split()[0] in {"OK", "SKIP", "doctor"} for line in out)


def _answering(account: Account, answers: dict[str, dict[str, Any]]) -> Any:
    """The account's client factory, with ``answers[service]`` answered on that service's clients."""

    def clients(service: str, region: str) -> Any:
        client = account.clients(service, region)
        return answer_operations(client, answers[service]) if service in answers else client

    return clients


def test_a_role_the_caller_may_create_is_ok(account: Account) -> None:
    simulated: list[dict[str, Any]] = []

    def simulate(params: dict[str, Any]) -> dict[str, Any]:
        simulated.append(params)
        return {"EvaluationResults": [{"EvalActionName": "iam:CreateServiceLinkedRole", "EvalDecision": "allowed"}]}

    def assumed(_params: dict[str, Any]) -> dict[str, Any]:
        arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/platform-deployer/session-1"
        return {"UserId": "AROA:session-1", "Account": ACCOUNT, "Arn": arn}

    clients = _answering(account, {"iam": {"SimulatePrincipalPolicy": simulate}, "sts": {"GetCallerIdentity": assumed}})
    results = checks(account.config(document=_eks_document(account, "1.33")), clients)
    check = _by_name(results, "service-linked role AWSServiceRoleForAmazonEKS")
    assert check.status == "OK" and check.detail == "absent; AWS creates it on first use (these credentials may)"
    # an assumed-role session is simulated as its role
    assert simulated[0]["PolicySourceArn"] == f"arn:aws:iam::{ACCOUNT}:role/platform-deployer"
    assert simulated[0]["ContextEntries"][0]["ContextKeyValues"] == ["eks.amazonaws.com"]


def test_a_role_the_caller_may_not_create_fails(account: Account) -> None:
    def deny(_params: dict[str, Any]) -> dict[str, Any]:
        return {
            "EvaluationResults": [{"EvalActionName": "iam:CreateServiceLinkedRole", "EvalDecision": "implicitDeny"}]
        }

    results = checks(
        account.config(document=_eks_document(account, "1.33")),
        _answering(account, {"iam": {"SimulatePrincipalPolicy": deny}}),
    )
    check = _by_name(results, "service-linked role AWSServiceRoleForAmazonEKSNodegroup")
    assert check.status == "FAIL" and check.detail == "absent, and these credentials may not create it"


def test_a_state_bucket_of_another_account(account: Account) -> None:
    def forbidden(_params: dict[str, Any]) -> dict[str, Any]:
        raise AnsweredError("403", "Forbidden", 403)  # HeadBucket answers a bare 403 for someone else's bucket

    results = checks(account.config(), _answering(account, {"s3": {"HeadBucket": forbidden}}))
    check = _by_name(results, f"state bucket {BUCKET}")
    assert check.status == "FAIL" and "may not read it" in check.detail
    assert check.fix.startswith(f"allow s3:ListBucket on arn:aws:s3:::{BUCKET}")


def test_a_secret_scheduled_for_deletion(account: Account) -> None:
    sm = boto3.client("secretsmanager", region_name=REGION)
    arn = sm.create_secret(Name="rudder-ha/ready/victorops", SecretString="https://alert.victorops.com/x")["ARN"]
    sm.delete_secret(SecretId=arn, RecoveryWindowInDays=7)
    check = _by_name(account.run(account.config(("alerting.victorops_url", arn))), "alerting.victorops_url")
    assert check.status == "FAIL" and check.detail == "is scheduled for deletion"
    assert check.fix == f"aws secretsmanager restore-secret --secret-id {arn}"

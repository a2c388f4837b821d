"""A Python Lambda function deployed from a directory of ``lambdas/``, with its role and log group."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from constructs import Construct

from rudder_ha.constructs.naming import policy_json, service_assume_role_policy

LAMBDAS_DIR = Path(__file__).resolve().parents[2] / "lambdas"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / ".build" / "lambda-packages"
RUNTIME = "python3.12"
EXCLUDED_PARTS = {"__pycache__", ".pytest_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".md"}
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def package(source: str) -> tuple[Path, str]:
    """Zips ``lambdas/<source>`` reproducibly (sorted, fixed timestamps, no caches or docs).

    Returns the zip's path and its base64 SHA-256, which Terraform compares to decide on a redeploy,
    so an unchanged handler never causes an update.
    """
    root = LAMBDAS_DIR / source
    if not (root / "handler.py").is_file():
        raise FileNotFoundError(f"{root}/handler.py is missing")
    PACKAGE_DIR.mkdir(parents=True, exist_ok=True)
    target = PACKAGE_DIR / f"{source}.zip"
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not (set(p.relative_to(root).parts) & EXCLUDED_PARTS) and p.suffix not in EXCLUDED_SUFFIXES
    )
    tmp = target.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=FIXED_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    tmp.replace(target)
    digest = base64.b64encode(hashlib.sha256(target.read_bytes()).digest()).decode("ascii")
    return target, digest


@dataclass(frozen=True)
class PythonFunctionProps:
    """Props of :class:`PythonFunction`."""

    name: str
    """The function name, e.g. ``rudder-ha-prod-drain``."""
    source: str
    """Directory under ``lambdas/`` holding ``handler.py``."""
    description: str
    kms_key_arn: str
    """Encrypts the environment variables and the log group."""
    policy_statements: list[dict] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    timeout_seconds: int = 60
    memory_mb: int = 256
    reserved_concurrency: int = 5
    log_retention_days: int = 365
    vpc_subnet_ids: list[str] = field(default_factory=list)
    """Run inside the VPC (only when the function must reach something private)."""
    vpc_security_group_ids: list[str] = field(default_factory=list)
    dead_letter_queue_arn: str | None = None
    """An SQS queue, encrypted with ``kms_key_arn``, for failed asynchronous invocations."""


class PythonFunction(Construct):
    """A Lambda function from ``lambdas/<source>`` with least-privilege role, encrypted environment and
    logs, X-Ray tracing, a concurrency cap, and an optional dead-letter target."""

    def __init__(self, scope: Construct, id_: str, props: PythonFunctionProps) -> None:
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account").account_id
        zip_path, digest = package(props.source)
        asset = TerraformAsset(self, "code", path=str(zip_path), type=AssetType.FILE)
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=f"/aws/lambda/{props.name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        statements = [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{self.log_group.arn}:*",
            },
            {
                # X-Ray has no resource-level permissions: these two actions only accept "*".
                "Sid": "WriteTraces",
                "Effect": "Allow",
                "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                "Resource": "*",
            },
            {
                "Sid": "DecryptOwnEnvironment",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": props.kms_key_arn,
            },
            *props.policy_statements,
        ]
        if props.dead_letter_queue_arn:
            statements += [
                {
                    "Sid": "SendDeadLetters",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": props.dead_letter_queue_arn,
                },
                {
                    "Sid": "EncryptDeadLetters",
                    "Effect": "Allow",
                    "Action": "kms:GenerateDataKey",
                    "Resource": props.kms_key_arn,
                    "Condition": {"StringLike": {"kms:ViaService": "sqs.*.amazonaws.com"}},
                },
            ]
        self.role = IamRole(
            self,
            "role",
            name=props.name,
            description=props.description,
            assume_role_policy=service_assume_role_policy(
                "lambda.amazonaws.com", {"StringEquals": {"aws:SourceAccount": account}}
            ),
        )
        self.policy = IamRolePolicy(
            self,
            "policy",
            name="least-privilege",
            role=self.role.id,
            policy=policy_json({"Version": "2012-10-17", "Statement": statements}),
        )
        if props.vpc_subnet_ids:
            # Network interfaces in the VPC; the managed policy is what Lambda documents for this.
            IamRolePolicyAttachment(
                self,
                "vpc_access",
                role=self.role.name,
                policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
            )
        self.function = LambdaFunction(
            self,
            "function",
            function_name=props.name,
            description=props.description,
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=["arm64"],
            handler="handler.handler",
            filename=asset.path,
            source_code_hash=digest,
            timeout=props.timeout_seconds,
            memory_size=props.memory_mb,
            reserved_concurrent_executions=props.reserved_concurrency,
            kms_key_arn=props.kms_key_arn,
            environment=LambdaFunctionEnvironment(variables=props.environment) if props.environment else None,
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            vpc_config=LambdaFunctionVpcConfig(
                subnet_ids=props.vpc_subnet_ids, security_group_ids=props.vpc_security_group_ids
            )
            if props.vpc_subnet_ids
            else None,
            dead_letter_config=LambdaFunctionDeadLetterConfig(target_arn=props.dead_letter_queue_arn)
            if props.dead_letter_queue_arn
            else None,
            depends_on=[self.log_group, self.policy],
        )

    @property
    def arn(self) -> str:
        """The function's ARN."""
        return self.function.arn

    @property
    def name(self) -> str:
        """The function's name."""
        return self.function.function_name

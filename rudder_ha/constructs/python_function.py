"""A Python Lambda function deployed from a directory of ``lambdas/``, with its role and log group."""

from __future__ import annotations

from dataclasses import dataclass, field

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

from rudder_ha.constructs.naming import policy_json
from rudder_ha.lambda_package import RUNTIME, package
from rudder_ha.specs import python_function as spec


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
            name=spec.log_group_name(props.name),
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        statements = spec.role_statements(
            self.log_group.arn, props.kms_key_arn, props.policy_statements, props.dead_letter_queue_arn
        )
        self.role = IamRole(
            self,
            "role",
            name=props.name,
            description=props.description,
            assume_role_policy=spec.assume_role_policy(account),
        )
        self.policy = IamRolePolicy(
            self,
            "policy",
            name=spec.ROLE_POLICY_NAME,
            role=self.role.id,
            policy=policy_json(spec.role_policy(statements)),
        )
        if props.vpc_subnet_ids:
            IamRolePolicyAttachment(
                self,
                "vpc_access",
                role=self.role.name,
                policy_arn=spec.VPC_ACCESS_POLICY_ARN,
            )
        self.function = LambdaFunction(
            self,
            "function",
            function_name=props.name,
            description=props.description,
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=spec.ARCHITECTURES,
            handler=spec.HANDLER,
            filename=asset.path,
            source_code_hash=digest,
            timeout=props.timeout_seconds,
            memory_size=props.memory_mb,
            reserved_concurrent_executions=props.reserved_concurrency,
            kms_key_arn=props.kms_key_arn,
            environment=LambdaFunctionEnvironment(variables=props.environment) if props.environment else None,
            tracing_config=LambdaFunctionTracingConfig(mode=spec.TRACING_MODE),
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

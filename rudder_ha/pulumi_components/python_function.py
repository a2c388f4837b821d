"""A Python Lambda function deployed from a directory of ``lambdas/``, with its role and log group (Pulumi)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from rudder_ha.lambda_package import RUNTIME, package
from rudder_ha.policies import policy_json
from rudder_ha.specs import python_function as spec


@dataclass(frozen=True)
class PythonFunctionProps:
    """Props of :class:`PythonFunction` (the same fields as the cdktf ``PythonFunctionProps``)."""

    name: str
    """The function name, e.g. ``rudder-ha-prod-drain``."""
    source: str
    """Directory under ``lambdas/`` holding ``handler.py``."""
    description: str
    kms_key_arn: pulumi.Input[str]
    """Encrypts the environment variables and the log group."""
    policy_statements: pulumi.Input[Sequence[Mapping]] = field(default_factory=list)
    """IAM statements added to the role's inline policy; their values may be Outputs, or the whole list
    may be one Output."""
    environment: pulumi.Input[Mapping[str, pulumi.Input[str]]] = field(default_factory=dict)
    """Environment variables; values may be Outputs, or the whole mapping may be one Output."""
    timeout_seconds: int = 60
    memory_mb: int = 256
    reserved_concurrency: int = 5
    log_retention_days: int = 365
    vpc_subnet_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    """Run inside the VPC (only when the function must reach something private)."""
    vpc_security_group_ids: Sequence[pulumi.Input[str]] = field(default_factory=list)
    dead_letter_queue_arn: pulumi.Input[str] | None = None
    """An SQS queue, encrypted with ``kms_key_arn``, for failed asynchronous invocations."""


class PythonFunction(pulumi.ComponentResource):
    """A Lambda function from ``lambdas/<source>`` with least-privilege role, encrypted environment and
    logs, X-Ray tracing, a concurrency cap, and an optional dead-letter target.

    Attributes: ``function``, ``role``, ``policy``, ``log_group``, ``arn``, ``name``.
    """

    def __init__(self, name: str, props: PythonFunctionProps, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("rudder-ha:python_function:PythonFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        zip_path, digest = package(props.source)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=spec.log_group_name(props.name),
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
            opts=child,
        )
        statements = pulumi.Output.all(
            log_group_arn=self.log_group.arn,
            kms_key_arn=props.kms_key_arn,
            policy_statements=pulumi.Output.from_input(props.policy_statements),
            dead_letter_queue_arn=props.dead_letter_queue_arn,
        ).apply(
            lambda v: spec.role_statements(
                v["log_group_arn"], v["kms_key_arn"], list(v["policy_statements"]), v["dead_letter_queue_arn"]
            )
        )
        self.role = aws.iam.Role(
            f"{name}-role",
            name=props.name,
            description=props.description,
            assume_role_policy=account.apply(spec.assume_role_policy),
            opts=child,
        )
        self.policy = aws.iam.RolePolicy(
            f"{name}-policy",
            name=spec.ROLE_POLICY_NAME,
            role=self.role.id,
            policy=statements.apply(lambda s: policy_json(spec.role_policy(s))),
            opts=child,
        )
        if props.vpc_subnet_ids:
            aws.iam.RolePolicyAttachment(
                f"{name}-vpc_access",
                role=self.role.name,
                policy_arn=spec.VPC_ACCESS_POLICY_ARN,
                opts=child,
            )
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=props.name,
            description=props.description,
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=spec.ARCHITECTURES,
            handler=spec.HANDLER,
            code=pulumi.FileArchive(str(zip_path)),
            source_code_hash=digest,
            timeout=props.timeout_seconds,
            memory_size=props.memory_mb,
            reserved_concurrent_executions=props.reserved_concurrency,
            kms_key_arn=props.kms_key_arn,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=props.environment)
            if _present(props.environment)
            else None,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode=spec.TRACING_MODE),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=props.vpc_subnet_ids, security_group_ids=props.vpc_security_group_ids
            )
            if props.vpc_subnet_ids
            else None,
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=props.dead_letter_queue_arn)
            if props.dead_letter_queue_arn
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, self.policy]),
        )
        self.register_outputs({"arn": self.function.arn, "name": self.function.name, "role_arn": self.role.arn})

    @property
    def arn(self) -> pulumi.Output[str]:
        """The function's ARN."""
        return self.function.arn

    @property
    def name(self) -> pulumi.Output[str]:
        """The function's name."""
        return self.function.name


def _present(value: object) -> bool:
    """Whether an optional collection input is given: an Output always counts (its value is not known yet)."""
    return isinstance(value, pulumi.Output) or bool(value)

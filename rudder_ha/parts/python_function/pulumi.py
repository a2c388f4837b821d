"""A Python Lambda function deployed from a directory of ``lambdas/``, with its role and log group (Pulumi)."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from rudder_ha.common.policies import policy_json
from rudder_ha.frontends.pulumi.resolve import apply_spec
from rudder_ha.parts.python_function import spec
from rudder_ha.parts.python_function.package import package
from rudder_ha.parts.python_function.spec import PythonFunctionProps

__all__ = ["PythonFunction", "PythonFunctionProps"]


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
        self.log_group = aws.cloudwatch.LogGroup(f"{name}-logs", **spec.log_group(props), opts=child)
        statements = apply_spec(
            spec.role_statements,
            props,
            ("kms_key_arn", "policy_statements", "dead_letter_queue_arn"),
            log_group_arn=self.log_group.arn,
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
        depends_on: list[pulumi.Resource] = [self.log_group, self.policy]
        if props.vpc_subnet_ids:
            depends_on.append(
                aws.iam.RolePolicy(
                    f"{name}-vpc_access",
                    name=spec.VPC_ACCESS_POLICY_NAME,
                    role=self.role.id,
                    policy=pulumi.Output.all(
                        pulumi.Output.all(*props.vpc_subnet_ids), pulumi.Output.all(*props.vpc_security_group_ids)
                    ).apply(lambda v: policy_json(spec.vpc_access_policy(list(v[0]), list(v[1])))),
                    opts=child,
                )
            )
        vpc_config = spec.vpc_config(props)
        dead_letter_config = spec.dead_letter_config(props)
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=props.name,
            role=self.role.arn,
            code=pulumi.FileArchive(str(zip_path)),
            **spec.function_settings(props, digest),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=props.environment)
            if _present(props.environment)
            else None,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode=spec.TRACING_MODE),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(**vpc_config) if vpc_config else None,
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(**dead_letter_config)
            if dead_letter_config
            else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on),
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

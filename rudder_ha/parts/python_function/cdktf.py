"""A Python Lambda function deployed from a directory of ``lambdas/``, with its role and log group."""

from __future__ import annotations

from cdktf import AssetType, TerraformAsset
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.data_aws_caller_identity import DataAwsCallerIdentity
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
    LambdaFunctionVpcConfig,
)
from constructs import Construct

from rudder_ha.frontends.cdktf.naming import policy_json
from rudder_ha.parts.python_function import spec
from rudder_ha.parts.python_function.package import package
from rudder_ha.parts.python_function.spec import PythonFunctionProps

__all__ = ["PythonFunction", "PythonFunctionProps"]


class PythonFunction(Construct):
    """A Lambda function from ``lambdas/<source>`` with least-privilege role, encrypted environment and
    logs, X-Ray tracing, a concurrency cap, and an optional dead-letter target."""

    def __init__(self, scope: Construct, id_: str, props: PythonFunctionProps) -> None:
        super().__init__(scope, id_)
        account = DataAwsCallerIdentity(self, "account").account_id
        zip_path, digest = package(props.source)
        asset = TerraformAsset(self, "code", path=str(zip_path), type=AssetType.FILE)
        self.log_group = CloudwatchLogGroup(self, "logs", **spec.log_group(props))
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
            policy=policy_json(spec.role_policy(spec.role_statements(props, self.log_group.arn))),
        )
        depends_on = [self.log_group, self.policy]
        if props.vpc_subnet_ids:
            vpc_access = IamRolePolicy(
                self,
                "vpc_access",
                name=spec.VPC_ACCESS_POLICY_NAME,
                role=self.role.id,
                policy=policy_json(
                    spec.vpc_access_policy(list(props.vpc_subnet_ids), list(props.vpc_security_group_ids))
                ),
            )
            depends_on.append(vpc_access)
        vpc_config = spec.vpc_config(props)
        dead_letter_config = spec.dead_letter_config(props)
        self.function = LambdaFunction(
            self,
            "function",
            function_name=props.name,
            role=self.role.arn,
            filename=asset.path,
            **spec.function_settings(props, digest),
            environment=LambdaFunctionEnvironment(variables=props.environment) if props.environment else None,
            tracing_config=LambdaFunctionTracingConfig(mode=spec.TRACING_MODE),
            vpc_config=LambdaFunctionVpcConfig(**vpc_config) if vpc_config else None,
            dead_letter_config=LambdaFunctionDeadLetterConfig(**dead_letter_config) if dead_letter_config else None,
            depends_on=depends_on,
        )

    @property
    def arn(self) -> str:
        """The function's ARN."""
        return self.function.arn

    @property
    def name(self) -> str:
        """The function's name."""
        return self.function.function_name

"""The Pulumi PythonFunction: the same function, role, policy and log group as the cdktf construct."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha.parts.python_function.package import RUNTIME, package
from rudder_ha.parts.python_function.pulumi import PythonFunction, PythonFunctionProps
from tests.support.pulumi_mocks import ACCOUNT, RecordedResource, RecordingMocks, run_program

REGION = "eu-west-1"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def output(value: str) -> pulumi.Output[str]:
    """An Output standing in for another resource's attribute."""
    return pulumi.Output.from_input(value)


def build(make_props: Callable[[], PythonFunctionProps]) -> RecordingMocks:
    """Runs a program holding one PythonFunction named ``fn`` (props built inside, as Outputs need the engine)."""

    def program() -> None:
        provider = aws.Provider("aws", region=REGION)
        function = PythonFunction("fn", make_props(), opts=pulumi.ResourceOptions(providers=[provider]))
        pulumi.export("arn", function.arn)
        pulumi.export("name", function.name)

    return run_program(program, stack="dev", region=REGION)


def only(mocks: RecordingMocks, type_: str) -> RecordedResource:
    """The single resource of ``type_``."""
    found = [r for r in mocks.resources if r.type == type_]
    assert len(found) == 1, [r.name for r in found]
    return found[0]


def statements_by_sid(mocks: RecordingMocks) -> dict[str, dict]:
    """The inline policy's statements, by Sid."""
    (policy,) = [r.json("policy") for r in mocks.resources if r.name.endswith("-policy")]
    assert policy["Version"] == "2012-10-17"
    return {s["Sid"]: s for s in policy["Statement"]}


def test_function_settings_match_cdktf() -> None:
    mocks = build(
        lambda: PythonFunctionProps(
            name="rudder-ha-dev-probe",
            source="drain",
            description="A test function",
            kms_key_arn=KEY_ARN,
            environment={"A": "1", "B": output("two")},
            timeout_seconds=30,
            memory_mb=512,
            reserved_concurrency=2,
            log_retention_days=90,
        )
    )
    function = only(mocks, "aws:lambda/function:Function")
    _, digest = package("drain")
    assert function.name == "fn-function"
    assert function.inputs["name"] == "rudder-ha-dev-probe"
    assert function.inputs["runtime"] == RUNTIME
    assert function.inputs["architectures"] == ["arm64"]
    assert function.inputs["handler"] == "handler.handler"
    assert function.inputs["sourceCodeHash"] == digest
    assert function.inputs["timeout"] == 30
    assert function.inputs["memorySize"] == 512
    assert function.inputs["reservedConcurrentExecutions"] == 2
    assert function.inputs["kmsKeyArn"] == KEY_ARN
    role = only(mocks, "aws:iam/role:Role")
    assert function.inputs["role"] == role.outputs["arn"] == f"arn:aws:iam::{ACCOUNT}:role/rudder-ha-dev-probe"
    assert function.get("tracingConfig.mode") == "Active"
    assert function.get("environment.variables") == {"A": "1", "B": "two"}
    assert "vpcConfig" not in function.inputs
    assert "deadLetterConfig" not in function.inputs

    logs = only(mocks, "aws:cloudwatch/logGroup:LogGroup")
    assert logs.name == "fn-logs"
    assert logs.inputs["name"] == "/aws/lambda/rudder-ha-dev-probe"
    assert logs.inputs["retentionInDays"] == 90
    assert logs.inputs["kmsKeyId"] == KEY_ARN

    assert role.inputs["name"] == "rudder-ha-dev-probe"
    trust = role.json("assumeRolePolicy")["Statement"]
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    ]
    policy = only(mocks, "aws:iam/rolePolicy:RolePolicy")
    assert (policy.inputs["name"], policy.inputs["role"]) == ("least-privilege", role.outputs["id"])
    assert not [r for r in mocks.resources if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]


def test_policy_is_scoped_to_own_log_group_and_key() -> None:
    mocks = build(
        lambda: PythonFunctionProps(
            name="rudder-ha-dev-x",
            source="drain",
            description="d",
            kms_key_arn=KEY_ARN,
            policy_statements=[{"Sid": "Extra", "Effect": "Allow", "Action": "sns:Publish", "Resource": output("t")}],
        )
    )
    statements = statements_by_sid(mocks)
    assert list(statements) == ["WriteOwnLogs", "WriteTraces", "DecryptOwnEnvironment", "Extra"]
    # The log group's own ARN followed by ":*".
    logs = only(mocks, "aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["name"] == "/aws/lambda/rudder-ha-dev-x"
    assert statements["WriteOwnLogs"]["Resource"] == f"{logs.outputs['arn']}:*"
    assert statements["DecryptOwnEnvironment"] == {
        "Sid": "DecryptOwnEnvironment",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": KEY_ARN,
        "Condition": {"StringLike": {"kms:ViaService": "lambda.*.amazonaws.com"}},
    }
    assert statements["Extra"]["Resource"] == "t"
    assert not [r for r in mocks.resources if r.name.endswith("-vpc_access")]
    assert "environment" not in only(mocks, "aws:lambda/function:Function").inputs


@pytest.mark.parametrize("as_output", [False, True])
def test_vpc_and_dead_letter_queue(as_output: bool) -> None:
    dlq = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"
    mocks = build(
        lambda: PythonFunctionProps(
            name="rudder-ha-dev-y",
            source="drain",
            description="d",
            kms_key_arn=output(KEY_ARN) if as_output else KEY_ARN,
            vpc_subnet_ids=["subnet-a", "subnet-b"],
            vpc_security_group_ids=["sg-1"],
            dead_letter_queue_arn=output(dlq) if as_output else dlq,
        )
    )
    function = only(mocks, "aws:lambda/function:Function")
    assert function.get("vpcConfig.subnetIds") == ["subnet-a", "subnet-b"]
    assert function.get("vpcConfig.securityGroupIds") == ["sg-1"]
    assert function.get("deadLetterConfig.targetArn") == dlq
    # Network interfaces in its own subnets and groups, inline: no AWS managed policy.
    assert not [r for r in mocks.resources if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    (access,) = [r for r in mocks.resources if r.name == "fn-vpc_access"]
    assert access.inputs["name"] == "vpc-access"
    create, manage, describe = access.json("policy")["Statement"]
    assert create["Resource"] == [
        "arn:*:ec2:*:*:network-interface/*",
        "arn:*:ec2:*:*:subnet/subnet-a",
        "arn:*:ec2:*:*:subnet/subnet-b",
        "arn:*:ec2:*:*:security-group/sg-1",
    ]
    assert manage["Condition"] == {
        "ArnLike": {"ec2:Subnet": ["arn:*:ec2:*:*:subnet/subnet-a", "arn:*:ec2:*:*:subnet/subnet-b"]}
    }
    assert (describe["Action"], describe["Resource"]) == (["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"], "*")
    statements = statements_by_sid(mocks)
    assert statements["SendDeadLetters"]["Resource"] == dlq
    assert statements["EncryptDeadLetters"]["Resource"] == KEY_ARN
    assert statements["EncryptDeadLetters"]["Condition"] == {"StringLike": {"kms:ViaService": "sqs.*.amazonaws.com"}}

"""The Pulumi DrainPipeline: the same queues, rule, table, SSM document, drain Lambda and scoped IAM as
the cdktf construct, for every shipped single-node environment."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from rudder_ha.config import load_environments, shipped_environment_files
from rudder_ha.config.model import EnvironmentConfig
from rudder_ha.instance.files import DRAIN_WAIT_PATH
from rudder_ha.parts.drain_pipeline.pulumi import DrainPipeline, DrainPipelineProps
from rudder_ha.parts.drain_pipeline.spec import HANDOVER_COMMAND
from rudder_ha.topologies import registry
from tests.support.lambda_loader import load_drain_lambda
from tests.support.pulumi_mocks import ACCOUNT, RecordedResource, RecordingMocks, run_program

SINGLE_NODE = [c for c in load_environments(shipped_environment_files()) if registry.named(c.topology).pulumi_program]


@dataclass
class Built:
    """What one program registered, and the values its outputs resolved to."""

    mocks: RecordingMocks
    seen: dict[str, Any] = field(default_factory=dict)

    def one(self, type_: str, name: str | None = None) -> RecordedResource:
        """The single resource of ``type_`` (and logical ``name``, if given)."""
        found = [r for r in self.mocks.resources if r.type == type_ and (name is None or r.name == name)]
        assert len(found) == 1, [r.name for r in found]
        return found[0]

    def all(self, type_: str) -> list[RecordedResource]:
        """Every resource of ``type_``."""
        return [r for r in self.mocks.resources if r.type == type_]

    def statements(self) -> dict[str, dict]:
        """The drain function's inline policy statements, by Sid."""
        policy = self.one("aws:iam/rolePolicy:RolePolicy", "drain-function-policy").json("policy")
        return {s["Sid"]: s for s in policy["Statement"]}


def build(config: EnvironmentConfig, **overrides: Callable[[], Any] | Any) -> Built:
    """Runs a program with a KMS key, an alert topic and one DrainPipeline ``drain`` wired as the
    single-node stack wires it; ``overrides`` replace props (callables are called inside the program)."""
    seen: dict[str, Any] = {}

    def program() -> None:
        provider = aws.Provider("aws", region=config.region)
        parent = pulumi.ResourceOptions(providers=[provider])
        key = aws.kms.Key("key", opts=parent)
        topic = aws.sns.Topic("alerting-topic", name=f"{config.name_prefix}-alerts", opts=parent)
        fields: dict[str, Any] = {
            "name_prefix": config.name_prefix,
            "environment": config.environment,
            "region": config.region,
            "settings": config.drain,
            "kms_key_arn": key.arn,
            "asg_names": [f"{config.name_prefix}-data-plane"],
            "target_group_arns": [
                pulumi.Output.from_input(
                    f"arn:aws:elasticloadbalancing:{config.region}:{ACCOUNT}:targetgroup/{config.name_prefix}-gw/1"
                )
            ],
            "alert_topic_arn": topic.arn,
            "jobsdb_mode": config.jobsdb.mode,
        }
        fields.update({k: v() if callable(v) else v for k, v in overrides.items()})
        drain = DrainPipeline("drain", DrainPipelineProps(**fields), opts=parent)
        watched = {
            "key_arn": key.arn,
            "topic_arn": topic.arn,
            "target_group_arns": pulumi.Output.from_input(fields["target_group_arns"]),
            "queue_arn": drain.queue.arn,
            "queue_url": drain.queue.url,
            "dlq_arn": drain.dead_letter_queue.arn,
            "dlq_url": drain.dead_letter_queue.url,
            "rule_arn": drain.rule.arn,
            "table_arn": drain.table.arn,
            "table_name": drain.table.name,
            "function_arn": drain.function.arn,
            "function_name": drain.function.name,
            "log_group_arn": drain.function.log_group.arn,
            "role_arn": drain.function.role.arn,
        }
        if drain.document is not None:
            watched["document_name"] = drain.document.name
        if drain.command_rule is not None:
            watched["command_rule_arn"] = drain.command_rule.arn
        for label, output in watched.items():
            output.apply(lambda value, label=label: seen.__setitem__(label, value))

    return Built(run_program(program, stack=config.environment, region=config.region), seen)


def drain_config_module() -> ModuleType:
    """The drain Lambda's own configuration reader (stdlib only), loaded as the Lambda loads it."""
    load_drain_lambda()
    return importlib.import_module("lifecycle_drain.config")


@pytest.fixture(scope="module", params=SINGLE_NODE, ids=lambda c: c.environment)
def env_built(request: pytest.FixtureRequest) -> tuple[EnvironmentConfig, Built]:
    config: EnvironmentConfig = request.param
    return config, build(config)


def test_there_are_single_node_environments() -> None:
    assert {c.environment for c in SINGLE_NODE} >= {"dev", "staging", "prod"}


def test_queues_encrypted_with_redrive(env_built: tuple[EnvironmentConfig, Built]) -> None:
    config, built = env_built
    seen = built.seen
    dlq = built.one("aws:sqs/queue:Queue", "drain-dlq")
    queue = built.one("aws:sqs/queue:Queue", "drain-queue")
    assert dlq.inputs["name"] == f"{config.name_prefix}-drain-dlq"
    assert dlq.inputs["kmsMasterKeyId"] == seen["key_arn"]
    assert dlq.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    assert queue.inputs["name"] == f"{config.name_prefix}-drain"
    assert queue.inputs["kmsMasterKeyId"] == seen["key_arn"]
    assert queue.inputs["kmsDataKeyReusePeriodSeconds"] == 300
    assert queue.inputs["visibilityTimeoutSeconds"] == 360
    assert queue.inputs["messageRetentionSeconds"] == 4 * 24 * 3600
    assert queue.inputs["redrivePolicy"] == json.dumps({"deadLetterTargetArn": seen["dlq_arn"], "maxReceiveCount": 5})
    dlq_policy = built.one("aws:sqs/queuePolicy:QueuePolicy", "drain-dlq_policy")
    assert dlq_policy.inputs["queueUrl"] == seen["dlq_url"]
    assert dlq_policy.json("policy")["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": seen["dlq_arn"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_rule_target_and_queue_policy(env_built: tuple[EnvironmentConfig, Built]) -> None:
    config, built = env_built
    seen = built.seen
    rule = built.one("aws:cloudwatch/eventRule:EventRule", "drain-rule")
    assert rule.inputs["name"] == f"{config.name_prefix}-drain"
    assert rule.inputs["description"] == f"Terminating lifecycle actions of {config.name_prefix}'s Auto Scaling groups"
    assert rule.json("eventPattern") == {
        "source": ["aws.autoscaling"],
        "detail-type": ["EC2 Instance-terminate Lifecycle Action"],
        "detail": {"AutoScalingGroupName": [f"{config.name_prefix}-data-plane"]},
    }
    target = built.one("aws:cloudwatch/eventTarget:EventTarget", "drain-target")
    assert target.inputs["rule"] == f"{config.name_prefix}-drain"
    assert target.inputs["arn"] == seen["queue_arn"]
    assert target.inputs["targetId"] == "drain-queue"
    policy = built.one("aws:sqs/queuePolicy:QueuePolicy", "drain-queue_policy")
    assert policy.inputs["queueUrl"] == seen["queue_url"]
    lifecycle_statement = {
        "Sid": "LifecycleEventsFromThisRule",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": seen["queue_arn"],
        "Condition": {"ArnEquals": {"aws:SourceArn": seen["rule_arn"]}},
    }
    deny = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": seen["queue_arn"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    if config.jobsdb.mode == "rds":  # the handover answers at once: no status-change rule
        assert policy.json("policy")["Statement"] == [lifecycle_statement, deny]
        assert len(built.all("aws:cloudwatch/eventRule:EventRule")) == 1
        return
    command_rule = built.one("aws:cloudwatch/eventRule:EventRule", "drain-command_rule")
    assert command_rule.inputs["name"] == f"{config.name_prefix}-drain-check-status"
    assert command_rule.json("eventPattern") == {
        "source": ["aws.ssm"],
        "detail-type": ["EC2 Command Invocation Status-change Notification"],
        "detail": {"document-name": [seen["document_name"]], "status": ["Success", "Failed", "TimedOut", "Cancelled"]},
    }
    command_target = built.one("aws:cloudwatch/eventTarget:EventTarget", "drain-command_target")
    assert command_target.inputs["rule"] == f"{config.name_prefix}-drain-check-status"
    assert command_target.inputs["arn"] == seen["queue_arn"]
    assert policy.json("policy")["Statement"] == [
        lifecycle_statement,
        {
            "Sid": "CheckStatusEventsFromThisRule",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": seen["queue_arn"],
            "Condition": {"ArnEquals": {"aws:SourceArn": seen["command_rule_arn"]}},
        },
        deny,
    ]


def test_state_table(env_built: tuple[EnvironmentConfig, Built]) -> None:
    config, built = env_built
    table = built.one("aws:dynamodb/table:Table", "drain-table")
    assert table.inputs["name"] == f"{config.name_prefix}-drain"
    assert table.inputs["billingMode"] == "PAY_PER_REQUEST"
    assert table.inputs["hashKey"] == "pk"
    assert table.inputs["attributes"] == [{"name": "pk", "type": "S"}]
    assert table.get("ttl") == {"attributeName": "expires_at", "enabled": True}
    assert table.get("serverSideEncryption") == {"enabled": True, "kmsKeyArn": built.seen["key_arn"]}
    assert table.get("pointInTimeRecovery.enabled") is True
    assert table.inputs["deletionProtectionEnabled"] is True


def test_check_document_follows_jobsdb_mode(env_built: tuple[EnvironmentConfig, Built]) -> None:
    config, built = env_built
    document = built.one("aws:ssm/document:Document", "drain-check_document")
    assert document.inputs["name"] == f"{config.name_prefix}-drain-check"
    assert document.inputs["documentType"] == "Command"
    assert document.inputs["documentFormat"] == "JSON"
    step = document.json("content")["mainSteps"][0]
    assert step["action"] == "aws:runShellScript"
    (command,) = step["inputs"]["runCommand"]
    if config.jobsdb.mode == "rds":
        assert command == HANDOVER_COMMAND
        assert step["inputs"]["timeoutSeconds"] == "60"
    else:
        assert command.startswith(f"exec {DRAIN_WAIT_PATH} ")
        assert step["inputs"]["timeoutSeconds"] == "3600"


@pytest.mark.parametrize("mode", ["instance", "rds"])
def test_check_document_both_modes(mode: str) -> None:
    built = build(SINGLE_NODE[0], jobsdb_mode=mode)
    content = built.one("aws:ssm/document:Document").json("content")
    (command,) = content["mainSteps"][0]["inputs"]["runCommand"]
    assert (command == HANDOVER_COMMAND) == (mode == "rds")
    assert ("rudder-drain-wait" in command) == (mode == "instance")
    # Only a waiting check has status changes worth waking the drain for: the rds handover answers at once.
    rules = [rule.inputs["name"] for rule in built.all("aws:cloudwatch/eventRule:EventRule")]
    assert (f"{SINGLE_NODE[0].name_prefix}-drain-check-status" in rules) == (mode == "instance")
    policy = built.one("aws:sqs/queuePolicy:QueuePolicy", "drain-queue_policy").json("policy")
    sids = [statement["Sid"] for statement in policy["Statement"]]
    assert ("CheckStatusEventsFromThisRule" in sids) == (mode == "instance")


def test_function_settings_and_environment(env_built: tuple[EnvironmentConfig, Built]) -> None:
    config, built = env_built
    seen = built.seen
    function = built.one("aws:lambda/function:Function", "drain-function-function")
    assert function.inputs["name"] == f"{config.name_prefix}-drain"
    assert function.inputs["timeout"] == 60
    assert function.inputs["reservedConcurrentExecutions"] == 5
    assert function.inputs["kmsKeyArn"] == seen["key_arn"]
    assert function.inputs["role"] == seen["role_arn"]
    assert function.get("tracingConfig.mode") == "Active"
    variables = function.get("environment.variables")
    assert variables == {
        "DRAIN_TABLE_NAME": seen["table_name"],
        "DRAIN_QUEUE_URL": seen["queue_url"],
        "ALERT_TOPIC_ARN": seen["topic_arn"],
        "ENVIRONMENT": config.environment,
        "DRAIN_ASG_NAMES": f"{config.name_prefix}-data-plane",
        "DRAIN_DEADLINE_SECONDS": str(config.drain.deadline_seconds),
        "POLL_INTERVAL_SECONDS": str(config.drain.poll_interval_seconds),
        "ABANDON_AFTER_DEADLINE": str(config.drain.abandon_after_deadline).lower(),
        "DRAIN_STRATEGY": "ec2",
        "DRAIN_CHECK_DOCUMENT": seen["document_name"],
        "SSM_COMMAND_TIMEOUT_SECONDS": "60",
        **(
            {"DRAIN_CHECK_WAIT_SECONDS": "3300", "FALLBACK_POLL_SECONDS": "420"}
            if config.jobsdb.mode == "instance"
            else {}
        ),
    }
    # The handler's own reader accepts this environment and reads back the same values.
    drain_config = drain_config_module().DrainConfig.from_env(variables)
    assert drain_config.table_name == seen["table_name"]
    assert drain_config.check_document == f"{config.name_prefix}-drain-check"
    assert drain_config.deadline_seconds == config.drain.deadline_seconds
    assert drain_config.asg_names == {f"{config.name_prefix}-data-plane"}
    assert drain_config.check_wait_seconds == (3300 if config.jobsdb.mode == "instance" else 0)
    logs = built.one("aws:cloudwatch/logGroup:LogGroup")
    assert logs.inputs["name"] == f"/aws/lambda/{config.name_prefix}-drain"
    assert logs.inputs["kmsKeyId"] == seen["key_arn"]
    mapping = built.one("aws:lambda/eventSourceMapping:EventSourceMapping", "drain-source")
    assert mapping.inputs["eventSourceArn"] == seen["queue_arn"]
    assert mapping.inputs["functionName"] == seen["function_arn"]
    assert mapping.inputs["batchSize"] == 1
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]


def test_iam_scoped_to_this_environments_arns(env_built: tuple[EnvironmentConfig, Built]) -> None:
    config, built = env_built
    seen = built.seen
    statements = built.statements()
    assert list(statements) == [
        "WriteOwnLogs",
        "WriteTraces",
        "DecryptOwnEnvironment",
        "CompleteAndHeartbeatTheseGroupsHooks",
        "TakeOutOfThisTargetGroup",
        "RunTheDrainCheckDocument",
        "OnThisEnvironmentsInstances",
        "ReadOnlyLookups",
        "DrainState",
        "DrainQueue",
        "Alert",
        "EncryptedQueueTableTopic",
    ]
    region = config.region
    assert statements["WriteOwnLogs"]["Resource"] == f"{seen['log_group_arn']}:*"
    assert statements["CompleteAndHeartbeatTheseGroupsHooks"]["Resource"] == [
        f"arn:aws:autoscaling:{region}:{ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/{config.name_prefix}-data-plane"
    ]
    assert statements["TakeOutOfThisTargetGroup"]["Action"] == "elasticloadbalancing:DeregisterTargets"
    assert statements["TakeOutOfThisTargetGroup"]["Resource"] == seen["target_group_arns"]
    assert statements["RunTheDrainCheckDocument"]["Resource"] == (
        f"arn:aws:ssm:{region}:{ACCOUNT}:document/{config.name_prefix}-drain-check"
    )
    assert statements["OnThisEnvironmentsInstances"]["Resource"] == f"arn:aws:ec2:{region}:{ACCOUNT}:instance/*"
    assert statements["OnThisEnvironmentsInstances"]["Condition"] == {
        "StringEquals": {"ssm:resourceTag/environment": config.environment}
    }
    assert statements["DrainState"]["Resource"] == seen["table_arn"]
    assert statements["DrainQueue"]["Resource"] == seen["queue_arn"]
    assert statements["Alert"] == {
        "Sid": "Alert",
        "Effect": "Allow",
        "Action": "sns:Publish",
        "Resource": seen["topic_arn"],
    }
    assert statements["EncryptedQueueTableTopic"]["Resource"] == seen["key_arn"]
    assert statements["DecryptOwnEnvironment"]["Resource"] == seen["key_arn"]
    wildcard = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    assert wildcard == {"WriteTraces", "ReadOnlyLookups"}
    assert all(a.split(":")[1].startswith(("Describe", "Get")) for a in statements["ReadOnlyLookups"]["Action"])
    trust = built.one("aws:iam/role:Role").json("assumeRolePolicy")["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}


def test_eks_strategy_has_no_document_and_runs_in_the_vpc() -> None:
    extra = {"Sid": "ReachTheCluster", "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "arn:cluster"}
    built = build(
        SINGLE_NODE[0],
        asg_names=lambda: [pulumi.Output.from_input("eks-nodes-a"), "eks-nodes-b", pulumi.Output.from_input("eks-c")],
        strategy="eks",
        strategy_environment=lambda: {"EKS_CLUSTER_NAME": pulumi.Output.from_input("cluster-1")},
        strategy_statements=[extra],
        vpc_subnet_ids=["subnet-a"],
        vpc_security_group_ids=["sg-1"],
    )
    assert not built.all("aws:ssm/document:Document")
    statements = built.statements()
    assert not {"TakeOutOfThisTargetGroup", "RunTheDrainCheckDocument", "OnThisEnvironmentsInstances"} & set(statements)
    assert list(statements)[-1] == "ReachTheCluster"
    assert "ssm:GetCommandInvocation" not in statements["ReadOnlyLookups"]["Action"]
    function = built.one("aws:lambda/function:Function")
    variables = function.get("environment.variables")
    assert variables["DRAIN_STRATEGY"] == "eks"
    assert variables["EKS_CLUSTER_NAME"] == "cluster-1"
    assert variables["DRAIN_ASG_NAMES"] == "eks-nodes-a,eks-nodes-b,eks-c"
    assert drain_config_module().DrainConfig.from_env(variables).asg_names == {"eks-nodes-a", "eks-nodes-b", "eks-c"}
    assert "DRAIN_CHECK_DOCUMENT" not in variables
    assert function.get("vpcConfig.subnetIds") == ["subnet-a"]
    # network interfaces: the managed policy attached, or an inline policy in its place
    vpc_access = [r for r in built.mocks.resources if r.name == "drain-function-vpc_access"]
    assert [r.type for r in vpc_access] in (
        ["aws:iam/rolePolicyAttachment:RolePolicyAttachment"],
        ["aws:iam/rolePolicy:RolePolicy"],
    )

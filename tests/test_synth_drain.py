"""The synthesized drain pipeline: event path, state, SSM check document, and a scoped role."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.synth import SynthOutput, only, resources
from tests.test_synth_single_node import assert_scoped

pytestmark = pytest.mark.synth
ENVIRONMENTS = ["dev", "staging", "prod"]


def drain_statements(stack: dict[str, Any]) -> list[dict[str, Any]]:
    role = next(r for k, r in stack["resource"]["aws_iam_role"].items() if r["name"].endswith("-drain"))
    assert role
    policy = next(p for k, p in stack["resource"]["aws_iam_role_policy"].items() if k.startswith("drain_function"))
    return json.loads(policy["policy"])["Statement"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_lifecycle_events_reach_an_encrypted_queue_with_a_dlq(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    rule = next(r for r in resources(stack, "aws_cloudwatch_event_rule") if r["name"] == f"rudder-ha-{env}-drain")
    pattern = json.loads(rule["event_pattern"])
    assert pattern["source"] == ["aws.autoscaling"]
    assert pattern["detail-type"] == ["EC2 Instance-terminate Lifecycle Action"]
    assert pattern["detail"]["AutoScalingGroupName"] == [f"rudder-ha-{env}-data-plane"]
    queues = {q["name"]: q for q in resources(stack, "aws_sqs_queue")}
    queue, dlq = queues[f"rudder-ha-{env}-drain"], queues[f"rudder-ha-{env}-drain-dlq"]
    for q in (queue, dlq):
        assert q["kms_master_key_id"].startswith("${aws_kms_key.")
    redrive = json.loads(queue["redrive_policy"])
    assert redrive["maxReceiveCount"] >= 3
    assert "aws_sqs_queue.drain_dlq" in redrive["deadLetterTargetArn"]
    waits = not synth.configs[env].jobsdb.on_rds  # instance mode: the waiting check's events wake the drain
    targets = [t for t in resources(stack, "aws_cloudwatch_event_target") if "drain_queue" in t["arn"]]
    routed = sorted(t["rule"].split(".")[1].split("_")[1] for t in targets)
    assert routed == (["command", "rule"] if waits else ["rule"])
    queue_policy = json.loads(
        next(p for p in resources(stack, "aws_sqs_queue_policy") if "drain_queue" in p["queue_url"])["policy"]
    )
    statements = {s["Sid"]: s for s in queue_policy["Statement"]}
    expected = {"LifecycleEventsFromThisRule", "DenyInsecureTransport"}
    assert set(statements) == (expected | {"CheckStatusEventsFromThisRule"} if waits else expected)
    statement = statements["LifecycleEventsFromThisRule"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert "aws_cloudwatch_event_rule.drain_rule" in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    if not waits:
        return
    command = statements["CheckStatusEventsFromThisRule"]
    assert command["Principal"] == {"Service": "events.amazonaws.com"} and command["Action"] == "sqs:SendMessage"
    assert "aws_cloudwatch_event_rule.drain_command_rule" in command["Condition"]["ArnEquals"]["aws:SourceArn"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_check_status_events_of_this_document_only_wake_the_drain(synth: SynthOutput, env: str) -> None:
    """The second rule routes final status changes of this deployment's check document, nothing else (instance
    mode; the rds handover answers at once and has no such rule)."""
    stack = synth.stack(env)
    rules = [
        r for r in resources(stack, "aws_cloudwatch_event_rule") if r["name"] == f"rudder-ha-{env}-drain-check-status"
    ]
    if synth.configs[env].jobsdb.on_rds:
        assert rules == []
        return
    (rule,) = rules
    pattern = json.loads(rule["event_pattern"])
    assert pattern["source"] == ["aws.ssm"]
    assert pattern["detail-type"] == ["EC2 Command Invocation Status-change Notification"]
    (document,) = pattern["detail"]["document-name"]
    assert document.startswith("${aws_ssm_document.drain_check_document_")
    assert sorted(pattern["detail"]["status"]) == ["Cancelled", "Failed", "Success", "TimedOut"]
    assert set(pattern) == {"source", "detail-type", "detail"} and set(pattern["detail"]) == {"document-name", "status"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_drain_queue_and_its_dlq_refuse_requests_without_tls(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    for queue in ("drain_queue", "drain_dlq"):
        (policy,) = [p for p in resources(stack, "aws_sqs_queue_policy") if f"aws_sqs_queue.{queue}_" in p["queue_url"]]
        deny = next(s for s in json.loads(policy["policy"])["Statement"] if s["Effect"] == "Deny")
        assert deny["Principal"] == "*" and deny["Action"] == "sqs:*"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert f"aws_sqs_queue.{queue}_" in deny["Resource"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_queue_feeds_the_drain_lambda_with_partial_batch_failures(synth: SynthOutput, env: str) -> None:
    stack = synth.stack(env)
    mapping = next(
        m for m in resources(stack, "aws_lambda_event_source_mapping") if "drain_queue" in m["event_source_arn"]
    )
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["batch_size"] == 1
    fn = next(f for f in resources(stack, "aws_lambda_function") if f["function_name"] == f"rudder-ha-{env}-drain")
    queue = next(q for q in resources(stack, "aws_sqs_queue") if q["name"] == f"rudder-ha-{env}-drain")
    assert queue["visibility_timeout_seconds"] >= 6 * fn["timeout"]
    assert fn["timeout"] <= 300, "no invocation runs for more than a few minutes"
    variables = fn["environment"]["variables"]
    config = synth.configs[env].drain
    assert variables["DRAIN_DEADLINE_SECONDS"] == str(config.deadline_seconds)
    assert variables["POLL_INTERVAL_SECONDS"] == str(config.poll_interval_seconds)
    assert variables["ABANDON_AFTER_DEADLINE"] == "false"
    assert variables["ENVIRONMENT"] == env
    assert variables["DRAIN_TABLE_NAME"].startswith("${aws_dynamodb_table.")
    assert variables["DRAIN_CHECK_DOCUMENT"].startswith("${aws_ssm_document.")
    if synth.configs[env].jobsdb.on_rds:
        assert "DRAIN_CHECK_WAIT_SECONDS" not in variables
    else:
        assert variables["DRAIN_CHECK_WAIT_SECONDS"] == "3300" and variables["FALLBACK_POLL_SECONDS"] == "420"
    assert variables["ALERT_TOPIC_ARN"].startswith("${aws_sns_topic.")
    rule = next(r for r in resources(stack, "aws_cloudwatch_event_rule") if r["name"] == f"rudder-ha-{env}-drain")
    routed = json.loads(rule["event_pattern"])["detail"]["AutoScalingGroupName"]
    assert variables["DRAIN_ASG_NAMES"].split(",") == routed == [f"rudder-ha-{env}-data-plane"]
    assert fn["handler"] == "handler.handler"
    assert fn["kms_key_arn"].startswith("${aws_kms_key.")
    assert fn["tracing_config"]["mode"] == "Active"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_drain_state_table(synth: SynthOutput, env: str) -> None:
    table = next(t for t in resources(synth.stack(env), "aws_dynamodb_table") if t["name"] == f"rudder-ha-{env}-drain")
    assert table["hash_key"] == "pk"
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    assert table["server_side_encryption"]["enabled"] is True
    assert table["server_side_encryption"]["kms_key_arn"].startswith("${aws_kms_key.")
    assert table["point_in_time_recovery"]["enabled"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_check_document_runs_the_on_node_script(synth: SynthOutput, env: str) -> None:
    document = only(synth.stack(env), "aws_ssm_document")
    assert document["document_type"] == "Command"
    content = json.loads(document["content"])
    (step,) = content["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    if synth.configs[env].jobsdb.on_rds:
        # the shared jobsdb keeps pending jobs: hand over (stop the backend, release the lease)
        (command,) = step["inputs"]["runCommand"]
        assert command.startswith("systemctl stop rudder-backend.service rudder-jobsdb-fence.service")
        assert "exit 69" in command
        assert step["inputs"]["timeoutSeconds"] == "60"
    else:
        # one command per drain: waits on the node and exits the moment the jobsdb is drained
        assert step["inputs"]["runCommand"] == [
            "exec /usr/local/bin/rudder-drain-wait --env-file /run/rudder-ha/jobsdb.env --interval 1 --max-seconds 3300"
        ]
        assert int(step["inputs"]["timeoutSeconds"]) > 3300, "the script ends with its verdict before SSM kills it"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_drain_role_reaches_only_this_environment(synth: SynthOutput, env: str) -> None:
    statements = {s["Sid"]: s for s in drain_statements(synth.stack(env))}
    hook = statements["CompleteAndHeartbeatTheseGroupsHooks"]
    (group_arn,) = hook["Resource"]
    assert group_arn.endswith(f":autoScalingGroupName/rudder-ha-{env}-data-plane")
    assert statements["TakeOutOfThisTargetGroup"]["Resource"] == [
        "${aws_lb_target_group.load_balancer_gateway_01DFF23B.arn}"
    ]
    assert ":document/${aws_ssm_document.drain_check_document_" in statements["RunTheDrainCheckDocument"]["Resource"]
    on_instances = statements["OnThisEnvironmentsInstances"]
    assert on_instances["Condition"] == {"StringEquals": {"ssm:resourceTag/environment": env}}
    assert statements["DrainState"]["Resource"].startswith("${aws_dynamodb_table.")
    assert statements["DrainQueue"]["Resource"].startswith("${aws_sqs_queue.drain_queue")
    assert statements["Alert"]["Resource"].startswith("${aws_sns_topic.")
    for statement in statements.values():
        assert_scoped(statement)


def test_instances_carry_the_tag_the_ssm_condition_checks(synth: SynthOutput) -> None:
    for env in ENVIRONMENTS:
        group = only(synth.stack(env), "aws_autoscaling_group")
        assert {"key": "environment", "value": env, "propagate_at_launch": True} in group["tag"]


def test_eks_node_drain_names_every_node_group(synth: SynthOutput) -> None:
    """The eks topology passes its node groups' Auto Scaling groups: the ones the rule routes."""
    stack = synth.stacks["rudder-ha-prod-eks-cluster"]
    fn = next(f for f in resources(stack, "aws_lambda_function") if f["function_name"] == "rudder-ha-prod-eks-drain")
    rule = next(r for r in resources(stack, "aws_cloudwatch_event_rule") if r["name"] == "rudder-ha-prod-eks-drain")
    routed = json.loads(rule["event_pattern"])["detail"]["AutoScalingGroupName"]
    assert len(routed) == 3 and all("autoscaling_groups[0].name" in name for name in routed)
    assert fn["environment"]["variables"]["DRAIN_ASG_NAMES"] == ",".join(routed)

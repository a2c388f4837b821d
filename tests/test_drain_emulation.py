"""The AWS emulation used by the drain tests behaves like the AWS APIs it stands in for."""

from __future__ import annotations

import hashlib

import pytest
from botocore.exceptions import ClientError

from tests.support import aws_emulation as ae


def hook_params(plane: ae.DataPlane, token: str) -> dict[str, str]:
    """Heartbeat/complete parameters for a token."""
    return {"AutoScalingGroupName": plane.asg_name, "LifecycleHookName": plane.hook_name, "LifecycleActionToken": token}


def test_lifecycle_action_tokens_heartbeats_timeouts_and_completion(emu: ae.AwsEmulation) -> None:
    """Wait state, token checks, heartbeat extension capped by the global timeout, DefaultResult, completion."""
    plane = ae.provision_data_plane(emu, heartbeat_timeout=60, default_result="CONTINUE", instances=3)
    autoscaling = emu.client("autoscaling")
    [hook] = autoscaling.describe_lifecycle_hooks(AutoScalingGroupName=plane.asg_name)["LifecycleHooks"]
    assert hook["GlobalTimeout"] == 6000  # min(100 x 60, 172800), moto reports 172800

    first, second, third_instance = plane.instance_ids
    action = emu.lifecycle.begin_termination(first, plane.asg_name, deliver_event=False)
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[plane.asg_name])["AutoScalingGroups"][0]
    assert {i["InstanceId"]: i["LifecycleState"] for i in group["Instances"]}[first] == "Terminating:Wait"

    wrong = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(ClientError, match=f"No active Lifecycle Action found with token {wrong}"):
        autoscaling.record_lifecycle_action_heartbeat(**hook_params(plane, wrong))
    for _ in range(150):  # heartbeat every 50 s: the wait lasts until the global timeout only
        emu.clock.advance(50)
        if not action.active:
            break
        autoscaling.record_lifecycle_action_heartbeat(**hook_params(plane, action.token))
    assert action.timed_out and action.ended_at == pytest.approx(action.started_at + 6000)
    assert action.result == "CONTINUE"  # the hook's DefaultResult
    emu.clock.advance(10)
    assert emu.ec2_state(first) == "terminated"

    other = emu.lifecycle.begin_termination(second, plane.asg_name, deliver_event=False)
    emu.clock.advance(59)
    assert other.active
    emu.clock.advance(1)
    assert other.timed_out, "no heartbeat: times out after HeartbeatTimeout"

    third = emu.lifecycle.begin_termination(third_instance, plane.asg_name, deliver_event=False)
    autoscaling.complete_lifecycle_action(**hook_params(plane, third.token), LifecycleActionResult="ABANDON")
    assert third.result == "ABANDON" and not third.timed_out
    with pytest.raises(ClientError, match="No active Lifecycle Action found"):
        autoscaling.complete_lifecycle_action(**hook_params(plane, third.token), LifecycleActionResult="CONTINUE")


def test_target_draining_then_gone(emu: ae.AwsEmulation) -> None:
    """initial -> healthy; deregistered: draining for the delay, then not listed (unused when asked)."""
    plane = ae.provision_data_plane(emu, register=False, deregistration_delay=90)
    elbv2 = emu.client("elbv2")
    arn, instance_id = plane.target_group_arns[0], plane.instance_ids[0]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": instance_id}])

    def states() -> list[str]:
        described = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        return [d["TargetHealth"]["State"] for d in described]

    assert states() == ["initial"]
    emu.clock.advance(20)
    assert states() == ["healthy"]
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": instance_id, "Port": 8080}])
    assert states() == ["draining"]
    emu.clock.advance(89)
    assert states() == ["draining"]
    emu.clock.advance(1)
    assert states() == []
    asked = elbv2.describe_target_health(TargetGroupArn=arn, Targets=[{"Id": instance_id}])
    assert asked["TargetHealthDescriptions"][0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
    with pytest.raises(ClientError) as info:
        elbv2.describe_target_health(TargetGroupArn=arn.replace(arn.rsplit("/", 1)[1], "0000000000000000"))
    assert info.value.response["Error"]["Code"] == "TargetGroupNotFound"


def test_run_command_statuses(emu: ae.AwsEmulation) -> None:
    """Pending -> InProgress -> Success/Failed with ResponseCode and stdout; undeliverable and bad targets."""
    plane = ae.provision_data_plane(emu)
    ssm = emu.client("ssm")
    codes = iter([("drained", 0), ("pending", 4)])
    emu.ssm.runner = ae.ScriptedCheckRunner(emu.clock, lambda _i, _now: next(codes))
    instance_id = plane.instance_ids[0]

    def run() -> dict[str, object]:
        command_id = ssm.send_command(DocumentName=plane.document_name, InstanceIds=[instance_id])["Command"][
            "CommandId"
        ]
        first = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        assert (first["Status"], first["ResponseCode"]) == ("Pending", -1)
        emu.clock.advance(1.5)
        assert ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)["Status"] == "InProgress"
        emu.clock.advance(2)
        return ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)

    done = run()
    assert (done["Status"], done["ResponseCode"]) == ("Success", 0)
    assert '"status": "drained"' in done["StandardOutputContent"]
    pending = run()
    assert (pending["Status"], pending["ResponseCode"]) == ("Failed", 75)

    with pytest.raises(ClientError) as info:
        ssm.send_command(DocumentName="no-such-document", InstanceIds=[instance_id])
    assert info.value.response["Error"]["Code"] == "InvalidDocument"
    with pytest.raises(ClientError) as info:
        ssm.get_command_invocation(CommandId="00000000-0000-0000-0000-000000000000", InstanceId=instance_id)
    assert info.value.response["Error"]["Code"] == "InvocationDoesNotExist"
    command_id = ssm.send_command(DocumentName=plane.document_name, InstanceIds=[instance_id])["Command"]["CommandId"]
    emu.vanish_instance(instance_id)
    emu.clock.advance(5)
    gone = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
    assert (gone["Status"], gone["StatusDetails"]) == ("Failed", "Undeliverable")
    with pytest.raises(ClientError) as info:
        ssm.send_command(DocumentName=plane.document_name, InstanceIds=[instance_id])
    assert info.value.response["Error"]["Code"] == "InvalidInstanceId"


def test_queue_delay_visibility_and_dead_letters(emu: ae.AwsEmulation) -> None:
    """DelaySeconds on virtual time (max 900), redelivery after the visibility timeout, DLQ after maxReceiveCount."""
    plane = ae.provision_data_plane(emu, visibility_timeout=60, max_receive_count=2)
    sqs = emu.client("sqs")
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=plane.queue_url, MessageBody="x", DelaySeconds=901)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    sqs.send_message(QueueUrl=plane.queue_url, MessageBody="later", DelaySeconds=900)
    assert emu.queue.receive(10) == []
    emu.clock.advance(900)
    [message] = emu.queue.receive(10)
    assert message.receive_count == 1 and emu.queue.receive(10) == []
    emu.clock.advance(60)
    assert [m.receive_count for m in emu.queue.receive(10)] == [2]
    emu.clock.advance(60)
    assert emu.queue.receive(10) == [] and [m.body for m in emu.queue.dead_letters] == ["later"]


def test_lambda_records_have_the_published_sqs_record_shape(emu: ae.AwsEmulation) -> None:
    """Every record the driver hands the Lambda has the fields of AWS's published SQS event record."""
    plane = ae.provision_data_plane(emu)
    body = '{"note": "d\u00e9j\u00e0 vu"}'
    emu.queue.send(body)
    (received,) = emu.queue.receive(1)
    record = ae.LambdaDriver(emu, lambda event, context: {}).sqs_record(received)
    template = ae.sqs_record_template()
    assert set(record) == set(template) and set(record["attributes"]) == set(template["attributes"])
    assert record["body"] == body and record["messageId"] == received.message_id
    assert record["md5OfBody"] == hashlib.md5(body.encode("utf-8")).hexdigest()
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        plane.queue_arn,
        ae.REGION,
    )
    assert record["attributes"]["ApproximateReceiveCount"] == "1"

"""One environment's data plane created in moto, with the emulated parts wired to it.

Creates what the deployed stack would (VPC subnets, ALB + target groups with their
deregistration delay, launch template, Auto Scaling group with a terminating hook and optional
warm pool, DynamoDB table with TTL, SQS queue + DLQ with a redrive policy, SNS topic, SSM
Command document) and attaches the emulated queue, targets and Run Command documents. With
``waiting_check`` the document and the command-status rule are the deployment's own
(:mod:`rudder_ha.parts.drain_pipeline.spec`): the document waits on the instance
(``rudder-drain-wait``) and the rule routes its final status changes to the drain queue.
"""

from __future__ import annotations

import dataclasses
import json
from typing import TYPE_CHECKING, Any

from rudder_ha.parts.drain_pipeline import spec as drain_spec
from tests.support.aws_emulation.autoscaling_lifecycle import TERMINATING
from tests.support.aws_emulation.ssm_run_command import WaitingCheck

if TYPE_CHECKING:
    from tests.support.aws_emulation.emulation import AwsEmulation


@dataclasses.dataclass
class DataPlane:
    """The resources of one emulated environment."""

    environment: str
    asg_name: str
    hook_name: str
    instance_ids: list[str]
    target_group_arns: list[str]
    load_balancer_arn: str
    table_name: str
    queue_url: str
    queue_arn: str
    dlq_url: str
    topic_arn: str
    document_name: str
    subnet_ids: list[str]
    #: The check document's wait (``DRAIN_CHECK_WAIT_SECONDS``); 0: it answers at once.
    check_wait_seconds: int = 0

    def lambda_env(self, **overrides: str) -> dict[str, str]:
        """The drain Lambda's environment for this data plane."""
        env = {
            "DRAIN_TABLE_NAME": self.table_name,
            "DRAIN_QUEUE_URL": self.queue_url,
            "DRAIN_CHECK_DOCUMENT": self.document_name,
            "ALERT_TOPIC_ARN": self.topic_arn,
            "ENVIRONMENT": self.environment,
            "DRAIN_ASG_NAMES": self.asg_name,
        }
        if self.check_wait_seconds:
            env["DRAIN_CHECK_WAIT_SECONDS"] = str(self.check_wait_seconds)
        env.update(overrides)
        return env


def provision_data_plane(
    emu: AwsEmulation,
    *,
    environment: str = "test",
    instances: int = 1,
    heartbeat_timeout: int = 900,
    default_result: str = "ABANDON",
    deregistration_delay: int = 60,
    extra_target_groups: int = 0,
    traffic_source_target_groups: int = 0,
    warm_pool: bool = False,
    register: bool = True,
    visibility_timeout: int = 360,
    max_receive_count: int = 5,
    waiting_check: bool = False,
    wait: WaitingCheck | None = None,
) -> DataPlane:
    """Create one environment's resources in moto and wire the emulated parts to them."""
    ec2 = emu.internal("ec2")
    elbv2 = emu.internal("elbv2")
    autoscaling = emu.internal("autoscaling")
    prefix = f"rudder-ha-{environment}"
    subnets = ec2.describe_subnets()["Subnets"]
    by_zone: dict[str, dict[str, Any]] = {}
    for subnet in subnets:
        by_zone.setdefault(subnet["AvailabilityZone"], subnet)
    chosen = list(by_zone.values())[:2]
    subnet_ids = [subnet["SubnetId"] for subnet in chosen]
    vpc_id = chosen[0]["VpcId"]

    load_balancer = elbv2.create_load_balancer(Name=f"{prefix}-alb", Subnets=subnet_ids, Type="application")[
        "LoadBalancers"
    ][0]
    target_groups: list[str] = []
    for index in range(1 + extra_target_groups + traffic_source_target_groups):
        group = elbv2.create_target_group(
            Name=f"{prefix}-tg{index}",
            Protocol="HTTP",
            Port=8080,
            VpcId=vpc_id,
            TargetType="instance",
            HealthCheckPath="/health",
        )["TargetGroups"][0]
        elbv2.modify_target_group_attributes(
            TargetGroupArn=group["TargetGroupArn"],
            Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(deregistration_delay)}],
        )
        elbv2.create_listener(
            LoadBalancerArn=load_balancer["LoadBalancerArn"],
            Protocol="HTTP",
            Port=8080 + index,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
        )
        target_groups.append(group["TargetGroupArn"])
    attached = target_groups[: 1 + extra_target_groups]
    via_traffic_sources = target_groups[1 + extra_target_groups :]

    image_id = "ami-0abcdef1234567890"  # moto launches from any AMI id; listing its catalogue is slow
    ec2.create_launch_template(
        LaunchTemplateName=f"{prefix}-lt", LaunchTemplateData={"ImageId": image_id, "InstanceType": "t3.large"}
    )
    asg_name = f"{prefix}-data-plane"
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName=asg_name,
        LaunchTemplate={"LaunchTemplateName": f"{prefix}-lt"},
        MinSize=0,
        MaxSize=instances + 2,
        DesiredCapacity=instances,
        VPCZoneIdentifier=",".join(subnet_ids),
        TargetGroupARNs=attached,
        Tags=[{"Key": "rudder-ha:environment", "Value": environment, "PropagateAtLaunch": True}],
    )
    if via_traffic_sources:
        emu.fleet.traffic_sources[asg_name] = [{"Identifier": arn, "Type": "elbv2"} for arn in via_traffic_sources]
    hook_name = f"{prefix}-drain"
    autoscaling.put_lifecycle_hook(
        LifecycleHookName=hook_name,
        AutoScalingGroupName=asg_name,
        LifecycleTransition=TERMINATING,
        HeartbeatTimeout=heartbeat_timeout,
        DefaultResult=default_result,
    )
    if warm_pool:
        autoscaling.put_warm_pool(AutoScalingGroupName=asg_name, MinSize=0, PoolState="Stopped")
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[asg_name])["AutoScalingGroups"][0]
    instance_ids = [item["InstanceId"] for item in group["Instances"]]
    if register:
        for arn in target_groups:
            for instance_id in instance_ids:
                emu.elbv2.register(arn, instance_id, 8080, healthy_now=True)

    dynamodb = emu.internal("dynamodb")
    table_name = f"{prefix}-drain"
    dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True},
    )
    dynamodb.update_time_to_live(
        TableName=table_name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    sqs = emu.internal("sqs")
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-drain-dlq", Attributes={"SqsManagedSseEnabled": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-drain",
        Attributes={
            "SqsManagedSseEnabled": "true",
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive_count)}),
        },
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    emu.attach_queue(queue_url, queue_arn, visibility_timeout=visibility_timeout, max_receive_count=max_receive_count)
    topic_arn = emu.internal("sns").create_topic(Name=f"{prefix}-alerts")["TopicArn"]
    document_name = f"{prefix}-drain-check"
    if waiting_check:
        _provision_waiting_check(emu, document_name, prefix, wait or deployed_wait())
    else:
        _provision_one_shot_check(emu, document_name)
    return DataPlane(
        environment=environment,
        asg_name=asg_name,
        hook_name=hook_name,
        instance_ids=instance_ids,
        target_group_arns=target_groups,
        load_balancer_arn=load_balancer["LoadBalancerArn"],
        table_name=table_name,
        queue_url=queue_url,
        queue_arn=queue_arn,
        dlq_url=dlq_url,
        topic_arn=topic_arn,
        document_name=document_name,
        subnet_ids=subnet_ids,
        check_wait_seconds=int((wait or deployed_wait()).max_seconds) if waiting_check else 0,
    )


def deployed_wait() -> WaitingCheck:
    """The wait the deployed document runs (``--interval`` and ``--max-seconds`` of its command)."""
    return WaitingCheck(
        interval_seconds=float(drain_spec.CHECK_WAIT_INTERVAL_SECONDS), max_seconds=float(drain_spec.CHECK_WAIT_SECONDS)
    )


def _provision_waiting_check(emu: AwsEmulation, document_name: str, prefix: str, wait: WaitingCheck) -> None:
    """The deployment's waiting check document and its command-status rule (targets the drain queue)."""
    emu.internal("ssm").create_document(
        Name=document_name,
        DocumentType="Command",
        DocumentFormat="JSON",
        Content=drain_spec.check_document_content("instance"),
    )
    emu.ssm.documents.add(document_name)
    emu.ssm.waiting_documents[document_name] = wait
    emu.events.put_rule(
        drain_spec.command_rule_name(prefix),
        drain_spec.command_event_pattern([document_name]),
        emu.queue.send,
    )


def _provision_one_shot_check(emu: AwsEmulation, document_name: str) -> None:
    """A check document that answers at once (``rudder-drain-check``)."""
    emu.internal("ssm").create_document(
        Name=document_name,
        DocumentType="Command",
        DocumentFormat="JSON",
        Content=json.dumps(
            {
                "schemaVersion": "2.2",
                "description": "Report whether the rudder-server jobsdb is drained (exit 0/75/69).",
                "mainSteps": [
                    {
                        "action": "aws:runShellScript",
                        "name": "runDrainCheck",
                        "inputs": {"timeoutSeconds": "60", "runCommand": ["/usr/local/bin/rudder-drain-check"]},
                    }
                ],
            }
        ),
    )
    emu.ssm.documents.add(document_name)

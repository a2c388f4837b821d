"""Normalization of CloudWatch alarms, EventBridge events and drain messages into one Alert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.lambda_loader import loaded_lambda

ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rudder-ha-test-up"
RECEIVED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def ar() -> Iterator[SimpleNamespace]:
    """The alert Lambda's modules, imported the way the zip root would make them importable."""
    with loaded_lambda(
        "alert",
        config="alert_router.config",
        model="alert_router.model",
        normalize="alert_router.normalize",
        errors="alert_router.errors",
        cloudwatch="alert_router.parsers.cloudwatch",
    ) as loaded:
        yield loaded


@pytest.fixture
def cfg(ar: SimpleNamespace) -> Any:
    """Settings of a router deployed for environment "test" in eu-west-1."""
    return ar.config.load_settings({"ENVIRONMENT": "test", "AWS_REGION": "eu-west-1"})


def alarm(state: str = "ALARM", **overrides: Any) -> dict[str, Any]:
    """A CloudWatch alarm notification as CloudWatch publishes it to SNS."""
    message = {
        "AlarmName": "rudder-ha-test-up",
        "AlarmDescription": "Data plane unreachable. severity=critical",
        "AWSAccountId": "123456789012",
        "AlarmConfigurationUpdatedTimestamp": "2024-04-30T09:00:00.000+0000",
        "NewStateValue": state,
        "NewStateReason": "Threshold Crossed: 1 datapoint [0.0] was less than the threshold (1.0).",
        "StateChangeTime": "2024-05-01T10:00:00.123+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": ARN,
        "OldStateValue": "OK" if state != "OK" else "ALARM",
        "OKActions": [],
        "AlarmActions": [],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "Up",
            "Namespace": "RudderHA",
            "StatisticType": "Statistic",
            "Statistic": "MINIMUM",
            "Unit": None,
            "Dimensions": [{"value": "test", "name": "Environment"}],
            "Period": 60,
            "EvaluationPeriods": 3,
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "breaching",
        },
    }
    message.update(overrides)
    return message


def launch_unsuccessful() -> dict[str, Any]:
    """An EventBridge "EC2 Instance Launch Unsuccessful" event from Auto Scaling."""
    return {
        "version": "0",
        "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
        "detail-type": "EC2 Instance Launch Unsuccessful",
        "source": "aws.autoscaling",
        "account": "123456789012",
        "time": "2024-05-01T10:05:00Z",
        "region": "eu-west-1",
        "resources": ["arn:aws:autoscaling:eu-west-1:123456789012:autoScalingGroup:abc:autoScalingGroupName/rs-test"],
        "detail": {
            "StatusCode": "Failed",
            "AutoScalingGroupName": "rs-test",
            "ActivityId": "f9d3e2ab-1234-4bcd-9a1a-0123456789ab",
            "Details": {"Availability Zone": "eu-west-1a", "Subnet ID": "subnet-1"},
            "RequestId": "f9d3e2ab-1234-4bcd-9a1a-0123456789ab",
            "StatusMessage": "We currently do not have sufficient m7g.xlarge capacity.",
            "EndTime": "2024-05-01T10:05:00.000Z",
            "EC2InstanceId": "",
            "StartTime": "2024-05-01T10:04:58.000Z",
            "Cause": "At 2024-05-01T10:04:50Z an instance was started in response to a difference...",
        },
    }


def drain(kind: str, **overrides: Any) -> dict[str, Any]:
    """A message from the drain Lambda."""
    message = {
        "source": "rudder-ha.drain",
        "kind": kind,
        "environment": "test",
        "instance_id": "i-0abc123",
        "asg_name": "rs-test",
        "summary": f"{kind} on i-0abc123",
        "details": {"pending_events": 42, "deadline_seconds": 900},
    }
    message.update(overrides)
    return message


def normalize(ar: SimpleNamespace, cfg: Any, message: Any) -> Any:
    """Normalize a message given as a Python object."""
    return ar.normalize.normalize(json.dumps(message), cfg, RECEIVED)


def test_alarm_triggers_with_stable_key_console_link_and_details(ar: SimpleNamespace, cfg: Any) -> None:
    alert = normalize(ar, cfg, alarm())
    assert alert.action is ar.model.Action.TRIGGER
    assert alert.severity is ar.model.Severity.CRITICAL
    assert alert.dedup_key == f"rudder-ha:test:alarm:{ARN}"
    assert alert.summary == (
        "[test] rudder-ha-test-up is in ALARM: Threshold Crossed: 1 datapoint [0.0] was less than the threshold (1.0)."
    )
    assert alert.source == "Environment=test"
    assert alert.origin == "cloudwatch"
    assert (alert.component, alert.group, alert.event_class) == ("RudderHA", "rudder-ha-test", "Up")
    assert alert.timestamp == datetime(2024, 5, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert alert.console_url == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/rudder-ha-test-up"
    )
    assert alert.details["dimensions"] == {"Environment": "test"}
    assert alert.details["old_state"] == "OK"


def test_repeated_alarm_and_ok_share_one_dedup_key(ar: SimpleNamespace, cfg: Any) -> None:
    first = normalize(ar, cfg, alarm())
    again = normalize(ar, cfg, alarm(NewStateReason="still broken", StateChangeTime="2024-05-01T11:00:00.000+0000"))
    resolved = normalize(ar, cfg, alarm("OK"))
    assert first.dedup_key == again.dedup_key == resolved.dedup_key
    assert resolved.action is ar.model.Action.RESOLVE
    assert resolved.summary.startswith("[test] rudder-ha-test-up is OK")


def test_insufficient_data_is_a_warning_trigger_never_a_resolve(ar: SimpleNamespace, cfg: Any) -> None:
    alert = normalize(ar, cfg, alarm("INSUFFICIENT_DATA"))
    assert alert.action is ar.model.Action.TRIGGER
    assert alert.severity is ar.model.Severity.WARNING
    assert alert.dedup_key == normalize(ar, cfg, alarm()).dedup_key
    info = normalize(ar, cfg, alarm("INSUFFICIENT_DATA", AlarmDescription="severity=info"))
    assert info.severity is ar.model.Severity.INFO


@pytest.mark.parametrize(
    ("name", "description", "expected"),
    [
        ("x", "Something. severity=warning", "warning"),
        ("x", "SEVERITY: Info - for the record", "info"),
        ("x-critical", "severity=warning overrides the name", "warning"),
        ("rudder-ha-prod-latency-warn", "", "warning"),
        ("rudder-ha-prod-disk-crit", "no token here", "critical"),
        ("rudder_info_backlog", "", "info"),
        ("warningless-name", "", "critical"),
        ("unlabelled", "", "critical"),
    ],
)
def test_alarm_severity_convention(ar: SimpleNamespace, name: str, description: str, expected: str) -> None:
    assert ar.cloudwatch.alarm_severity(name, description).value == expected


def test_alarm_without_arn_or_trigger_still_normalizes(ar: SimpleNamespace, cfg: Any) -> None:
    message = alarm()
    del message["AlarmArn"], message["Trigger"]
    alert = normalize(ar, cfg, message)
    assert alert.dedup_key == "rudder-ha:test:alarm:arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rudder-ha-test-up"
    assert alert.source == "rudder-ha-test-up"
    assert alert.event_class == "alarm"


def test_alarm_name_with_spaces_is_url_quoted(ar: SimpleNamespace, cfg: Any) -> None:
    alert = normalize(ar, cfg, alarm(AlarmName="Rudder 5xx / high", AlarmArn=ARN.replace("rudder-ha-test-up", "x")))
    assert alert.console_url.endswith("#alarmsV2:alarm/Rudder%205xx%20%2F%20high")


def test_launch_unsuccessful_is_a_critical_trigger_keyed_per_group(ar: SimpleNamespace, cfg: Any) -> None:
    alert = normalize(ar, cfg, launch_unsuccessful())
    assert alert.action is ar.model.Action.TRIGGER
    assert alert.severity is ar.model.Severity.CRITICAL
    assert alert.dedup_key == "rudder-ha:test:asg:rs-test:ec2-instance-launch-unsuccessful"
    assert alert.summary == (
        "[test] EC2 Instance Launch Unsuccessful: rs-test - We currently do not have sufficient m7g.xlarge capacity."
    )
    assert alert.origin == "aws.autoscaling"
    assert alert.timestamp == datetime(2024, 5, 1, 10, 5, tzinfo=UTC)
    assert alert.console_url == (
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1"
        "#AutoScalingGroupDetails:id=rs-test;view=activity"
    )
    second = launch_unsuccessful()
    second["id"], second["detail"]["ActivityId"] = "other", "other"
    assert normalize(ar, cfg, second).dedup_key == alert.dedup_key


def test_terminate_unsuccessful_is_a_warning(ar: SimpleNamespace, cfg: Any) -> None:
    event = launch_unsuccessful()
    event["detail-type"] = "EC2 Instance Terminate Unsuccessful"
    event["detail"]["EC2InstanceId"] = "i-0def"
    alert = normalize(ar, cfg, event)
    assert alert.severity is ar.model.Severity.WARNING
    assert alert.source == "i-0def"
    assert alert.dedup_key == "rudder-ha:test:asg:rs-test:ec2-instance-terminate-unsuccessful"


def test_drain_deadline_triggers_and_completion_resolves_the_same_key(ar: SimpleNamespace, cfg: Any) -> None:
    exceeded = normalize(ar, cfg, drain("drain_deadline_exceeded"))
    completed = normalize(ar, cfg, drain("drain_completed"))
    assert exceeded.action is ar.model.Action.TRIGGER
    assert exceeded.severity is ar.model.Severity.CRITICAL
    assert completed.action is ar.model.Action.RESOLVE
    assert exceeded.dedup_key == completed.dedup_key == "rudder-ha:test:drain:i-0abc123"
    assert exceeded.summary == "[test] drain_deadline_exceeded on i-0abc123"
    assert exceeded.details == {
        "pending_events": 42,
        "deadline_seconds": 900,
        "kind": "drain_deadline_exceeded",
        "instance_id": "i-0abc123",
        "asg_name": "rs-test",
    }
    assert exceeded.console_url == (
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#InstanceDetails:instanceId=i-0abc123"
    )


def test_drain_other_kinds_and_severity_override(ar: SimpleNamespace, cfg: Any) -> None:
    started = normalize(ar, cfg, drain("drain_started", summary=""))
    assert (started.action, started.severity) == (ar.model.Action.TRIGGER, ar.model.Severity.INFO)
    assert started.summary == "[test] drain started on i-0abc123 (rs-test)"
    failed = normalize(ar, cfg, drain("drain_failed", severity="warning"))
    assert (failed.action, failed.severity) == (ar.model.Action.TRIGGER, ar.model.Severity.WARNING)
    other_env = normalize(ar, cfg, drain("drain_deadline_exceeded", environment="prod"))
    assert other_env.dedup_key == "rudder-ha:prod:drain:i-0abc123"


def test_drain_timestamp_is_used_when_present(ar: SimpleNamespace, cfg: Any) -> None:
    stamped = normalize(ar, cfg, drain("drain_deadline_exceeded", timestamp="2024-05-01T10:00:00.500000Z"))
    assert stamped.timestamp == datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert normalize(ar, cfg, drain("drain_completed", timestamp="yesterday")).timestamp == RECEIVED


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("not json at all", "message is not JSON"),
        ("[1, 2]", "message is not a JSON object"),
        ('"just a string"', "message is not a JSON object"),
        ('{"hello": "world"}', "unknown message shape"),
        (json.dumps(alarm(NewStateValue="BROKEN")), "unknown NewStateValue"),
        (json.dumps(alarm(AlarmName="")), "missing or invalid field 'AlarmName'"),
        (json.dumps(drain("drain_completed", instance_id=None)), "missing or invalid field 'instance_id'"),
        (json.dumps(drain("")), "missing or invalid field 'kind'"),
        (json.dumps({"source": "aws.autoscaling", "detail-type": 3}), "missing or invalid field 'detail-type'"),
    ],
)
def test_unsupported_messages_raise_with_a_reason(ar: SimpleNamespace, cfg: Any, message: str, reason: str) -> None:
    with pytest.raises(ar.errors.UnsupportedMessageError) as caught:
        ar.normalize.normalize(message, cfg, RECEIVED)
    assert caught.value.reason == reason


def test_overlong_dedup_keys_are_bounded_and_stable(ar: SimpleNamespace) -> None:
    long_key = ar.model.make_dedup_key("rudder-ha", "test", "alarm", "x" * 400)
    assert len(long_key) == 255
    assert long_key == ar.model.make_dedup_key("rudder-ha", "test", "alarm", "x" * 400)
    assert long_key != ar.model.make_dedup_key("rudder-ha", "test", "alarm", "x" * 399 + "y")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
_shaped = st.fixed_dictionaries(
    {},
    optional={
        "source": st.sampled_from(["rudder-ha.drain", "aws.autoscaling"]) | _json,
        "AlarmName": _json,
        "NewStateValue": st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA"]) | _json,
        "detail-type": _json,
        "detail": _json,
        "kind": _json,
        "instance_id": _json,
        "Trigger": _json,
        "StateChangeTime": _json,
        "details": _json,
        "severity": _json,
        "resources": _json,
    },
)


@settings(max_examples=300, deadline=None)
@given(document=_json | _shaped)
def test_any_json_either_normalizes_or_is_rejected_cleanly(ar: SimpleNamespace, document: Any) -> None:
    cfg = ar.config.load_settings({"ENVIRONMENT": "test", "AWS_REGION": "eu-west-1"})
    try:
        alert = ar.normalize.normalize(json.dumps(document), cfg, RECEIVED)
    except ar.errors.UnsupportedMessageError:
        return
    assert len(alert.dedup_key) <= 255
    assert len(alert.summary) <= 1024
    json.dumps(alert.details, default=str)

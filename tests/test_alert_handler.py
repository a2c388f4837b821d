"""The alert Lambda end to end: moto for SSM/Secrets Manager, real loopback HTTP receivers."""

from __future__ import annotations

import json
import logging
import socket
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.http_receivers import LocalReceiver, Reply, unused_port
from tests.support.lambda_loader import loaded_lambda, run_from_zip, zip_lambda

pytestmark = pytest.mark.one_worker  # receivers that time out and trickle: waits, beside other work
PD_KEY = "pdroutingkey0123456789abcdef0123"
VO_SECRET = "vo-api-key-5f1e2d9c"
SLACK_SECRET = "slacktoken0123456789abcd"
ALARM_ARN = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:rudder-ha-test-up"
ALARM_KEY = f"rudder-ha:test:alarm:{ALARM_ARN}"
CONSOLE = "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/rudder-ha-test-up"


@pytest.fixture(scope="module")
def lam() -> Iterator[SimpleNamespace]:
    """Load ``handler.py`` by file path with the Lambda directory as its import root."""
    with loaded_lambda("alert", app="alert_router.app", errors="alert_router.errors") as loaded:
        yield loaded


class FakeContext:
    """The part of the Lambda context the router uses."""

    def __init__(self, remaining_ms: int = 30_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Deployment:
    """A deployed router: its receivers, its recorded backoff sleeps, and how to invoke it."""

    pd: LocalReceiver
    vo: LocalReceiver
    slack: LocalReceiver
    invoke: Callable[..., dict[str, Any]]
    redeploy: Callable[..., None]
    sleeps: list[float] = field(default_factory=list)

    @property
    def vo_url(self) -> str:
        return f"{self.vo.url}/integrations/generic/20131114/alert/{VO_SECRET}/rudder-ha"

    @property
    def slack_url(self) -> str:
        return f"{self.slack.url}/services/T0TEST/B0TEST/{SLACK_SECRET}"


def sns_event(*messages: Any) -> dict[str, Any]:
    """An SNS-to-Lambda event with one record per message (dicts are JSON-encoded)."""
    records = []
    for index, message in enumerate(messages):
        records.append(
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:eu-west-1:123456789012:rudder-ha-test-alerts:sub",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"msg-{index}",
                    "TopicArn": "arn:aws:sns:eu-west-1:123456789012:rudder-ha-test-alerts",
                    "Subject": "ALARM",
                    "Message": message if isinstance(message, str) else json.dumps(message),
                    "Timestamp": "2024-05-01T10:00:01.000Z",
                    "MessageAttributes": {},
                },
            }
        )
    return {"Records": records}


def alarm(state: str = "ALARM", reason: str = "Threshold Crossed", **overrides: Any) -> dict[str, Any]:
    """A CloudWatch alarm notification."""
    message = {
        "AlarmName": "rudder-ha-test-up",
        "AlarmDescription": "Data plane unreachable through the ALB. severity=critical",
        "AWSAccountId": "123456789012",
        "NewStateValue": state,
        "NewStateReason": reason,
        "StateChangeTime": "2024-05-01T10:00:00.123+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": ALARM_ARN,
        "OldStateValue": "OK",
        "Trigger": {
            "MetricName": "Up",
            "Namespace": "RudderHA",
            "Dimensions": [{"value": "test", "name": "Environment"}],
            "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1.0,
        },
    }
    message.update(overrides)
    return message


def drain(kind: str) -> dict[str, Any]:
    """A drain Lambda message."""
    return {
        "source": "rudder-ha.drain",
        "kind": kind,
        "environment": "test",
        "instance_id": "i-0abc123",
        "asg_name": "rs-test",
        "summary": f"{kind} on i-0abc123",
        "details": {"pending_events": 42},
    }


def router_events(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The router's structured log lines, decoded."""
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "alert_router"]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and region, with moto intercepting every AWS call."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_REGION": "eu-west-1",
}
PARAMETERS = {
    "PAGERDUTY_ROUTING_KEY_PARAMETER": "/rudder-ha/test/alerts/pagerduty-routing-key",
    "VICTOROPS_URL_PARAMETER": "/rudder-ha/test/alerts/victorops-url",
    "SLACK_WEBHOOK_URL_PARAMETER": "/rudder-ha/test/alerts/slack-webhook-url",
}


@pytest.fixture
def stack(
    lam: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Deployment]:
    """Three local receivers and a router configured like the real Lambda (secrets not stored yet)."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="alert_router")
    with (
        LocalReceiver(Reply.json(202, {"status": "success", "message": "Event processed"})) as pd,
        LocalReceiver(Reply.json(200, {"result": "success", "entity_id": "x"})) as vo,
        LocalReceiver(Reply.text(200, "ok")) as slack,
    ):
        sleeps: list[float] = []

        def redeploy(clock: Callable[[], float] | None = None) -> None:
            extra = {"clock": clock} if clock else {}
            lam.handler.set_router(lam.app.build_router(sleep=sleeps.append, rng=lambda: 0.5, **extra))

        def invoke(*messages: Any, remaining_ms: int = 30_000) -> dict[str, Any]:
            return lam.handler.handler(sns_event(*messages), FakeContext(remaining_ms))

        for name, value in {
            **PARAMETERS,
            "ENVIRONMENT": "test",
            "PROJECT": "rudder-ha",
            "PAGERDUTY_EVENTS_URL": f"{pd.url}/v2/enqueue",
            # Generous: a loaded machine must not turn a healthy local receiver into a timeout. The tests
            # about timeouts set a short one themselves (short_requests).
            "DELIVERY_TIMEOUT_SECONDS": "30",
            "DELIVERY_MAX_ATTEMPTS": "3",
            # The local receivers listen on loopback over plain HTTP: this test says so explicitly.
            "ALERT_ROUTER_TEST_ALLOW_LOOPBACK": "1",
        }.items():
            monkeypatch.setenv(name, value)
        redeploy()
        try:
            yield Deployment(pd, vo, slack, invoke=invoke, redeploy=redeploy, sleeps=sleeps)
        finally:
            lam.handler.set_router(None)


@pytest.fixture
def deployed(aws: None, stack: Deployment) -> Deployment:
    """The stack with its three secrets stored as SSM SecureStrings (in moto)."""
    ssm = boto3.client("ssm")
    for env_name, value in (
        ("PAGERDUTY_ROUTING_KEY_PARAMETER", PD_KEY),
        ("VICTOROPS_URL_PARAMETER", stack.vo_url),
        ("SLACK_WEBHOOK_URL_PARAMETER", stack.slack_url),
    ):
        ssm.put_parameter(Name=PARAMETERS[env_name], Value=value, Type="SecureString")
    return stack


@pytest.fixture
def offline(stack: Deployment, monkeypatch: pytest.MonkeyPatch) -> Deployment:
    """The stack without moto: any AWS call would hit a closed loopback port and fail fast."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{unused_port()}")
    stack.redeploy()
    return stack


def test_alarm_trigger_repeat_and_resolve_pair_up_at_every_receiver(deployed: Deployment) -> None:
    summary = deployed.invoke(alarm(reason="Threshold Crossed: 1 datapoint [0.0] was less than 1.0"))
    deployed.invoke(alarm(reason="still failing"))
    deployed.invoke(alarm("OK", reason="Threshold Crossed: 1 datapoint [1.0] was not less than 1.0"))
    assert summary == {"records": 1, "alerts": 1, "dropped": 0, "failed": 0, "partially_failed": 0}

    first_pd = deployed.pd.requests[0]
    assert first_pd.method == "POST" and first_pd.path == "/v2/enqueue"
    assert first_pd.headers["Content-Type"] == "application/json"
    assert first_pd.json() == {
        "routing_key": PD_KEY,
        "event_action": "trigger",
        "dedup_key": ALARM_KEY,
        "client": "rudder-ha alert router",
        "client_url": CONSOLE,
        "links": [{"href": CONSOLE, "text": "CloudWatch alarm"}],
        "payload": {
            "summary": "[test] rudder-ha-test-up is in ALARM: Threshold Crossed: 1 datapoint [0.0] was less than 1.0",
            "source": "Environment=test",
            "severity": "critical",
            "timestamp": "2024-05-01T10:00:00.123Z",
            "component": "RudderHA",
            "group": "rudder-ha-test",
            "class": "Up",
            "custom_details": {
                "alarm_name": "rudder-ha-test-up",
                "alarm_description": "Data plane unreachable through the ALB. severity=critical",
                "alarm_arn": ALARM_ARN,
                "account": "123456789012",
                "region": "EU (Ireland)",
                "new_state": "ALARM",
                "old_state": "OK",
                "reason": "Threshold Crossed: 1 datapoint [0.0] was less than 1.0",
                "state_change_time": "2024-05-01T10:00:00.123+0000",
                "namespace": "RudderHA",
                "metric_name": "Up",
                "dimensions": {"Environment": "test"},
                "threshold": 1.0,
                "comparison_operator": "LessThanThreshold",
                "environment": "test",
                "origin": "cloudwatch",
            },
        },
    }
    pd_bodies = deployed.pd.bodies()
    assert [b["event_action"] for b in pd_bodies] == ["trigger", "trigger", "resolve"]
    assert {b["dedup_key"] for b in pd_bodies} == {ALARM_KEY}
    assert pd_bodies[2] == {"routing_key": PD_KEY, "event_action": "resolve", "dedup_key": ALARM_KEY}

    vo_request = deployed.vo.requests[0]
    assert vo_request.path == f"/integrations/generic/20131114/alert/{VO_SECRET}/rudder-ha"
    vo_bodies = deployed.vo.bodies()
    assert [b["message_type"] for b in vo_bodies] == ["CRITICAL", "CRITICAL", "RECOVERY"]
    assert {b["entity_id"] for b in vo_bodies} == {ALARM_KEY}
    expected_start = int(datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC).timestamp())
    assert vo_bodies[0]["state_start_time"] == expected_start
    assert vo_bodies[0]["monitoring_tool"] == "rudder-ha alert router"
    assert vo_bodies[0]["entity_display_name"] == pd_bodies[0]["payload"]["summary"]
    assert vo_bodies[0]["state_message"].startswith(pd_bodies[0]["payload"]["summary"] + "\n\n{")

    assert deployed.slack.requests[0].path == f"/services/T0TEST/B0TEST/{SLACK_SECRET}"
    slack_texts = [b["text"] for b in deployed.slack.bodies()]
    assert slack_texts == [
        ":rotating_light: CRITICAL [test] rudder-ha-test-up is in ALARM: "
        "Threshold Crossed: 1 datapoint [0.0] was less than 1.0",
        ":rotating_light: CRITICAL [test] rudder-ha-test-up is in ALARM: still failing",
        ":white_check_mark: RESOLVED [test] rudder-ha-test-up is OK: "
        "Threshold Crossed: 1 datapoint [1.0] was not less than 1.0",
    ]
    assert deployed.sleeps == []


def test_drain_deadline_triggers_and_drain_completed_resolves(deployed: Deployment) -> None:
    deployed.invoke(drain("drain_deadline_exceeded"))
    deployed.invoke(drain("drain_completed"))
    key = "rudder-ha:test:drain:i-0abc123"
    pd_bodies = deployed.pd.bodies()
    assert [(b["event_action"], b["dedup_key"]) for b in pd_bodies] == [("trigger", key), ("resolve", key)]
    assert pd_bodies[0]["payload"]["severity"] == "critical"
    assert pd_bodies[0]["payload"]["summary"] == "[test] drain_deadline_exceeded on i-0abc123"
    assert pd_bodies[0]["payload"]["source"] == "i-0abc123"
    assert pd_bodies[0]["payload"]["class"] == "drain_deadline_exceeded"
    assert pd_bodies[0]["payload"]["custom_details"]["pending_events"] == 42
    assert [(b["message_type"], b["entity_id"]) for b in deployed.vo.bodies()] == [("CRITICAL", key), ("RECOVERY", key)]
    assert [b["text"] for b in deployed.slack.bodies()] == [
        ":rotating_light: CRITICAL [test] drain_deadline_exceeded on i-0abc123",
        ":white_check_mark: RESOLVED [test] drain_completed on i-0abc123",
    ]


def test_autoscaling_launch_failure_is_a_trigger_only_alert(deployed: Deployment) -> None:
    event = {
        "version": "0",
        "id": "e1",
        "detail-type": "EC2 Instance Launch Unsuccessful",
        "source": "aws.autoscaling",
        "account": "123456789012",
        "time": "2024-05-01T10:05:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {"AutoScalingGroupName": "rs-test", "StatusMessage": "Insufficient capacity.", "EC2InstanceId": ""},
    }
    deployed.invoke(event)
    (body,) = deployed.pd.bodies()
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == "rudder-ha:test:asg:rs-test:ec2-instance-launch-unsuccessful"
    assert body["payload"]["summary"] == "[test] EC2 Instance Launch Unsuccessful: rs-test - Insufficient capacity."
    assert body["payload"]["timestamp"] == "2024-05-01T10:05:00.000Z"
    assert deployed.vo.bodies()[0]["message_type"] == "CRITICAL"


def test_info_alerts_skip_pagerduty_but_reach_the_others(deployed: Deployment) -> None:
    summary = deployed.invoke(drain("drain_started"))
    assert summary["failed"] == summary["partially_failed"] == 0
    assert deployed.pd.requests == []
    assert deployed.vo.bodies()[0]["message_type"] == "INFO"
    assert deployed.slack.bodies()[0]["text"].startswith(":information_source: INFO [test] drain_started")


def test_500_is_retried_with_backoff_and_others_are_unaffected(
    deployed: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    deployed.pd.reply_with(Reply.text(500, "oops"), Reply.text(502, "bad gateway"))
    summary = deployed.invoke(alarm())
    assert summary["failed"] == summary["partially_failed"] == 0
    bodies = deployed.pd.bodies()
    assert len(bodies) == 3 and bodies[0] == bodies[1] == bodies[2]
    # equal-jitter backoff with rng=0.5: 0.5 -> 0.375, then 1.0 -> 0.75
    assert deployed.sleeps == [0.375, 0.75]
    assert len(deployed.vo.requests) == len(deployed.slack.requests) == 1
    failed_attempts = [e for e in router_events(caplog) if e["event"] == "delivery_attempt_failed"]
    assert [(e["receiver"], e["attempt"], e["status"]) for e in failed_attempts] == [
        ("pagerduty", 1, 500),
        ("pagerduty", 2, 502),
    ]


def test_429_waits_at_least_retry_after(deployed: Deployment) -> None:
    deployed.slack.reply_with(Reply.text(429, "rate_limited", headers={"Retry-After": "2"}))
    deployed.invoke(alarm())
    assert len(deployed.slack.requests) == 2
    assert deployed.sleeps == [2.0]


SHORT_REQUEST_SECONDS = "1.0"
"""The per-request timeout of the tests about timeouts: shorter than every hang and trickle below."""


def short_requests(deployed: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    """Redeploys the router with a per-request timeout of ``SHORT_REQUEST_SECONDS``."""
    monkeypatch.setenv("DELIVERY_TIMEOUT_SECONDS", SHORT_REQUEST_SECONDS)
    deployed.redeploy()


def test_timeout_is_retried_and_does_not_block_the_other_receivers(
    deployed: Deployment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    short_requests(deployed, monkeypatch)
    deployed.vo.set_default(Reply.hang(30.0))
    summary = deployed.invoke(alarm())
    assert summary == {"records": 1, "alerts": 1, "dropped": 0, "failed": 0, "partially_failed": 1}
    assert len(deployed.vo.requests) == 3  # DELIVERY_MAX_ATTEMPTS
    assert len(deployed.pd.requests) == len(deployed.slack.requests) == 1
    # PagerDuty and Slack were served while Splunk On-Call's first request was still hanging.
    # (the second attempt starts only once the first has timed out)
    first_retry = deployed.vo.requests[1].received_at
    assert deployed.pd.requests[0].received_at < first_retry
    assert deployed.slack.requests[0].received_at < first_retry
    failures = [e for e in router_events(caplog) if e["event"] == "delivery_failed"]
    assert [(e["receiver"], e["error"], e["attempts"]) for e in failures] == [("victorops", "timeout", 3)]
    assert [r.levelno for r in caplog.records if "delivery_failed" in r.getMessage()] == [logging.ERROR]


def test_permanent_rejection_is_not_retried_and_returns_a_summary(
    deployed: Deployment, caplog: pytest.LogCaptureFixture
) -> None:
    deployed.pd.set_default(Reply.json(400, {"status": "invalid event", "errors": ["bad"]}))
    summary = deployed.invoke(alarm())
    assert summary["partially_failed"] == 1 and summary["failed"] == 0
    assert len(deployed.pd.requests) == 1
    assert deployed.sleeps == []
    failures = [e for e in router_events(caplog) if e["event"] == "delivery_failed"]
    assert [(e["receiver"], e["status"], e["error"]) for e in failures] == [("pagerduty", 400, "HTTP 400")]


def test_every_receiver_failing_raises_after_trying_every_record(
    deployed: Deployment, lam: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    boto3.client("ssm").put_parameter(
        Name="/rudder-ha/test/alerts/victorops-url",
        Value=f"http://127.0.0.1:{unused_port()}/integrations/generic/20131114/alert/{VO_SECRET}/rudder-ha",
        Type="SecureString",
        Overwrite=True,
    )
    deployed.redeploy()
    deployed.pd.set_default(Reply.text(500, "down"))
    deployed.slack.set_default(Reply.text(503, "down"))
    with pytest.raises(lam.errors.AlertDeliveryError, match=r"every configured receiver failed for 2 alert"):
        deployed.invoke(alarm(), "garbage", drain("drain_deadline_exceeded"))
    assert len(deployed.pd.requests) == len(deployed.slack.requests) == 6
    failures = [e for e in router_events(caplog) if e["event"] == "delivery_failed"]
    assert sorted((e["receiver"], e["attempts"]) for e in failures) == [
        ("pagerduty", 3),
        ("pagerduty", 3),
        ("slack", 3),
        ("slack", 3),
        ("victorops", 3),
        ("victorops", 3),
    ]
    assert any(e["error"].startswith("connection error") for e in failures if e["receiver"] == "victorops")
    (final,) = [e for e in router_events(caplog) if e["event"] == "all_receivers_failed"]
    assert final["dedup_keys"] == [ALARM_KEY, "rudder-ha:test:drain:i-0abc123"]


def test_lambda_deadline_caps_the_attempts(deployed: Deployment) -> None:
    deployed.redeploy(clock=lambda: 1000.0)  # time stands still: only the budget given counts
    deployed.pd.set_default(Reply.text(500, "down"))
    # 1.3 s left - 1 s safety margin = 0.3 s: one 0.25 s attempt fits, its 0.375 s backoff does not.
    deployed.invoke(alarm(), remaining_ms=1_300)
    assert len(deployed.pd.requests) == 1
    assert deployed.sleeps == []


# -- one deadline per delivery, enforced on slow-trickle receivers ---------------------------------------------

TRICKLE_SECONDS = 30.0
"""How long a trickling receiver keeps sending: far longer than any delivery deadline below (about 1 s), so a
call that returns while it still trickles was cut by its deadline, not by the trickle ending."""


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_trickling_receiver_is_held_to_the_delivery_deadline(
    deployed: Deployment, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, phase: str
) -> None:
    """One byte every 0.05 s beats a per-read timeout forever; the request's own deadline does not."""
    short_requests(deployed, monkeypatch)
    deployed.vo.set_default(Reply.trickling(TRICKLE_SECONDS, phase))
    summary = deployed.invoke(alarm())
    assert deployed.vo.trickles_completed == 0, "the call waited out Splunk On-Call's whole trickle"
    assert len(deployed.pd.requests) == len(deployed.slack.requests) == 1
    failures = [e for e in router_events(caplog) if e["event"] == "delivery_failed"]
    if phase == "headers":  # no status by the deadline: every attempt times out
        assert summary["partially_failed"] == 1
        assert len(deployed.vo.requests) == 3
        assert [(e["receiver"], e["error"], e["attempts"]) for e in failures] == [("victorops", "timeout", 3)]
    else:  # the status arrived in time: that is the answer, the rest of the body is not waited for
        assert summary["partially_failed"] == 0 and failures == []
        assert len(deployed.vo.requests) == 1


def test_the_receiver_budget_bounds_a_delivery_whatever_the_request_timeout(
    deployed: Deployment, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """DELIVERY_BUDGET_SECONDS caps all attempts together, even under a long per-request timeout."""
    monkeypatch.setenv("DELIVERY_TIMEOUT_SECONDS", "25")
    monkeypatch.setenv("DELIVERY_BUDGET_SECONDS", "0.5")
    deployed.redeploy()
    deployed.slack.set_default(Reply.trickling(TRICKLE_SECONDS))
    summary = deployed.invoke(alarm())
    assert deployed.slack.trickles_completed == 0, "the call waited for Slack's whole trickle, not the receiver budget"
    assert summary["partially_failed"] == 1
    (failure,) = [e for e in router_events(caplog) if e["event"] == "delivery_failed"]
    assert (failure["receiver"], failure["error"], failure["attempts"]) == ("slack", "timeout", 1)


# -- HTTPS to allowlisted hosts only; loopback only when a test says so ------------------------------------------


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_deployed_configuration_refuses_loopback_receivers(
    deployed: Deployment,
    lam: SimpleNamespace,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    scheme: str,
) -> None:
    """Without the test-only switch (as deployed), loopback URLs are refused unsent, each with an error line."""
    monkeypatch.delenv("ALERT_ROUTER_TEST_ALLOW_LOOPBACK")
    if scheme == "https":
        ssm = boto3.client("ssm")
        for env_name, url in (
            ("VICTOROPS_URL_PARAMETER", deployed.vo_url),
            ("SLACK_WEBHOOK_URL_PARAMETER", deployed.slack_url),
        ):
            ssm.put_parameter(
                Name=PARAMETERS[env_name], Value=url.replace("http://", "https://"), Overwrite=True, Type="SecureString"
            )
        monkeypatch.setenv("PAGERDUTY_EVENTS_URL", f"{deployed.pd.url.replace('http://', 'https://')}/v2/enqueue")
    deployed.redeploy()
    with pytest.raises(lam.errors.AlertDeliveryError):
        deployed.invoke(alarm())
    assert deployed.pd.requests == deployed.vo.requests == deployed.slack.requests == []
    refused = [e for e in router_events(caplog) if e["event"] == "delivery_refused"]
    assert sorted(e["receiver"] for e in refused) == ["pagerduty", "slack", "victorops"]
    for line in refused:
        assert line["level"] == "ERROR" and line["host"] == "127.0.0.1"
        assert "loopback" in line["reason"] and "nothing was sent" in line["note"]
    assert "test_only_loopback_receivers_allowed" not in {e["event"] for e in router_events(caplog)}


def test_a_host_outside_the_receivers_allowlist_is_refused_before_any_lookup(
    deployed: Deployment, lam: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Even with the test switch (which opens loopback only): another receiver's host, a look-alike host and
    plain HTTP to the right host are refused, and no name is even looked up."""
    lookups: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def resolver(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(str(host))
        if host != "127.0.0.1":
            raise socket.gaierror(socket.EAI_NONAME, "no name lookups in this test")
        return real_getaddrinfo(host, *args, **kwargs)

    ssm = boto3.client("ssm")
    slack_path = f"/services/T0TEST/B0TEST/{SLACK_SECRET}"
    ssm.put_parameter(
        Name=PARAMETERS["VICTOROPS_URL_PARAMETER"],
        Value=f"https://hooks.slack.com{slack_path}",
        Overwrite=True,
        Type="SecureString",
    )
    ssm.put_parameter(
        Name=PARAMETERS["SLACK_WEBHOOK_URL_PARAMETER"],
        Value=f"https://hooks.slack.com.attacker.example{slack_path}",
        Overwrite=True,
        Type="SecureString",
    )
    monkeypatch.setenv("PAGERDUTY_EVENTS_URL", "http://events.pagerduty.com/v2/enqueue")
    deployed.redeploy()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(lam.errors.AlertDeliveryError):
        deployed.invoke(alarm())
    assert lookups == []
    refused = {e["receiver"]: e for e in router_events(caplog) if e["event"] == "delivery_refused"}
    assert (refused["pagerduty"]["host"], refused["pagerduty"]["reason"]) == (
        "events.pagerduty.com",
        "receiver URL must use https",
    )
    assert refused["victorops"]["host"] == "hooks.slack.com"
    assert refused["victorops"]["allowed_hosts"] == ["alert.victorops.com"]
    assert refused["slack"]["host"] == "hooks.slack.com.attacker.example"
    assert refused["slack"]["allowed_hosts"] == ["hooks.slack.com"]
    for name in ("victorops", "slack"):
        assert "not on this receiver's allowlist" in refused[name]["reason"]
    assert SLACK_SECRET not in caplog.text


def test_the_test_switch_is_ignored_inside_the_lambda_runtime(
    deployed: Deployment, lam: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Set by mistake in a deployed function, the switch opens nothing: the Runtime API listens on loopback."""
    monkeypatch.setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
    deployed.redeploy()
    with pytest.raises(lam.errors.AlertDeliveryError):
        deployed.invoke(alarm())
    assert deployed.pd.requests == deployed.vo.requests == deployed.slack.requests == []
    events = router_events(caplog)
    (ignored,) = [e for e in events if e["event"] == "test_switch_ignored"]
    assert ignored["level"] == "ERROR" and ignored["switch"] == "ALERT_ROUTER_TEST_ALLOW_LOOPBACK"
    assert len([e for e in events if e["event"] == "delivery_refused"]) == 3


def test_unreadable_secret_fails_only_its_receiver(deployed: Deployment, caplog: pytest.LogCaptureFixture) -> None:
    boto3.client("ssm").delete_parameter(Name="/rudder-ha/test/alerts/victorops-url")
    summary = deployed.invoke(alarm())
    assert summary["partially_failed"] == 1
    assert deployed.vo.requests == []
    assert len(deployed.pd.requests) == len(deployed.slack.requests) == 1
    (failure,) = [e for e in router_events(caplog) if e["event"] == "delivery_failed"]
    assert failure["receiver"] == "victorops"
    assert failure["error"] == "secret unavailable (ParameterNotFound: ParameterNotFound)"


def test_secrets_manager_arns_and_disabled_receivers(deployed: Deployment, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = boto3.client("secretsmanager").create_secret(
        Name="rudder-ha/test/slack", SecretString=json.dumps({"webhook_url": deployed.slack_url})
    )["ARN"]
    assert arn.startswith("arn:aws:secretsmanager:")
    monkeypatch.setenv("SLACK_WEBHOOK_URL_PARAMETER", arn)
    monkeypatch.setenv("PAGERDUTY_ROUTING_KEY_PARAMETER", "")
    monkeypatch.delenv("VICTOROPS_URL_PARAMETER")
    deployed.redeploy()
    deployed.invoke(alarm())
    assert len(deployed.slack.requests) == 1
    assert deployed.pd.requests == deployed.vo.requests == []


def test_no_receiver_configured_is_logged_and_does_not_raise(
    deployed: Deployment, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("PAGERDUTY_ROUTING_KEY_PARAMETER", "VICTOROPS_URL_PARAMETER", "SLACK_WEBHOOK_URL_PARAMETER"):
        monkeypatch.delenv(name)
    deployed.redeploy()
    assert deployed.invoke(alarm())["alerts"] == 1
    assert [e["event"] for e in router_events(caplog)].count("no_receivers_configured") == 1


MALFORMED_EVENTS: list[tuple[str, Any, str]] = [
    ("empty records", {"Records": []}, "event has no records"),
    ("no records key", {"detail": "x"}, "event has no Records list"),
    ("records not a list", {"Records": "nope"}, "event has no Records list"),
    ("event not an object", ["x"], "event is not a JSON object"),
    ("event is None", None, "event is not a JSON object"),
    ("record without Sns", {"Records": [{"EventSource": "aws:sqs", "body": "{}"}]}, "record has no Sns object"),
    ("Sns without Message", {"Records": [{"Sns": {"MessageId": "m"}}]}, "record has no Sns.Message string"),
    (
        "Message not a string",
        {"Records": [{"Sns": {"Message": {"AlarmName": "x"}}}]},
        "record has no Sns.Message string",
    ),
    ("not JSON", sns_event("ALARM: rudder is down!"), "message is not JSON"),
    ("JSON array", sns_event("[1, 2, 3]"), "message is not a JSON object"),
    ("unknown shape", sns_event({"hello": "world"}), "unknown message shape"),
    ("alarm missing name", sns_event(alarm(AlarmName=None)), "missing or invalid field 'AlarmName'"),
    ("alarm unknown state", sns_event(alarm("MAYBE")), "unknown NewStateValue"),
    (
        "drain missing instance",
        sns_event({"source": "rudder-ha.drain", "kind": "drain_completed"}),
        "missing or invalid field 'instance_id'",
    ),
]


@pytest.mark.parametrize(("event", "reason"), [c[1:] for c in MALFORMED_EVENTS], ids=[c[0] for c in MALFORMED_EVENTS])
def test_malformed_input_is_logged_and_dropped(
    offline: Deployment, lam: SimpleNamespace, caplog: pytest.LogCaptureFixture, event: Any, reason: str
) -> None:
    summary = lam.handler.handler(event, FakeContext())
    assert summary["alerts"] == 0
    assert offline.pd.requests == offline.vo.requests == offline.slack.requests == []
    dropped = [e for e in router_events(caplog) if e["event"] in ("event_dropped", "message_dropped")]
    assert [e["reason"] for e in dropped] == [reason]
    assert dropped[0]["level"] == "WARNING"


def test_a_bad_record_does_not_stop_the_good_ones(deployed: Deployment, caplog: pytest.LogCaptureFixture) -> None:
    summary = deployed.invoke("not json", drain("drain_deadline_exceeded"), {"unknown": True}, alarm())
    assert summary == {"records": 4, "alerts": 2, "dropped": 2, "failed": 0, "partially_failed": 0}
    assert [b["dedup_key"] for b in deployed.pd.bodies()] == ["rudder-ha:test:drain:i-0abc123", ALARM_KEY]
    dropped = [e for e in router_events(caplog) if e["event"] == "message_dropped"]
    assert [(e["record_index"], e["message_id"]) for e in dropped] == [(0, "msg-0"), (2, "msg-2")]


def test_secrets_never_reach_the_logs(
    deployed: Deployment, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # PagerDuty echoes the routing key in a rejection; Slack fails then recovers; Splunk On-Call is refused.
    deployed.pd.set_default(Reply.json(400, {"status": "invalid", "message": f"unknown routing key {PD_KEY}"}))
    deployed.slack.reply_with(Reply.text(500, f"error at /services/T0TEST/B0TEST/{SLACK_SECRET}"))
    boto3.client("ssm").put_parameter(
        Name="/rudder-ha/test/alerts/victorops-url",
        Value=f"http://127.0.0.1:{unused_port()}/integrations/generic/20131114/alert/{VO_SECRET}/rudder-ha",
        Type="SecureString",
        Overwrite=True,
    )
    deployed.redeploy()
    deployed.invoke(alarm(), drain("drain_deadline_exceeded"), "garbage")
    events = {e["event"] for e in router_events(caplog)}
    assert {"alert_received", "delivery_rejected", "delivery_failed", "delivered", "message_dropped"} <= events
    rejected = [e for e in router_events(caplog) if e["event"] == "delivery_rejected" and e["receiver"] == "pagerduty"]
    assert "[REDACTED]" in rejected[0]["response_body"]
    captured = capsys.readouterr()
    everything = caplog.text + captured.out + captured.err
    for secret in (PD_KEY, VO_SECRET, SLACK_SECRET, deployed.slack_url, "B0TEST/"):
        assert secret not in everything


def test_handler_runs_from_a_zip_with_handler_at_its_root(tmp_path: Path) -> None:
    archive = zip_lambda("alert", tmp_path / "alert.zip")
    assert "handler.py" in zipfile.ZipFile(archive).namelist()
    done = run_from_zip(archive, "import handler, json; print(json.dumps(handler.handler({'Records': []}, None)))")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"records": 0, "alerts": 0, "dropped": 0, "failed": 0, "partially_failed": 0}

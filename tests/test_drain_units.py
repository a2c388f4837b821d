"""Unit tests of the drain Lambda's pure parts: message parsing, check interpretation,
heartbeat planning, configuration and the DynamoDB record codec."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.aws_emulation.ssm_check_runners import check_output
from tests.support.lambda_loader import load_drain_lambda

load_drain_lambda()  # puts lambdas/drain on sys.path (the Lambda's zip root)

from lifecycle_drain import config as drain_config  # noqa: E402
from lifecycle_drain import heartbeat as drain_heartbeat  # noqa: E402
from lifecycle_drain import lifecycle as drain_lifecycle  # noqa: E402
from lifecycle_drain import messages as drain_messages  # noqa: E402
from lifecycle_drain import state as drain_state  # noqa: E402
from lifecycle_drain.ec2 import ssm_check as drain_ssm_check  # noqa: E402

TOKEN = "71514b9d-6a40-4b26-8523-05e7eEXAMPLE"
INSTANCE = "i-1234567890abcdef0"


def eventbridge(detail: dict[str, Any], **envelope: Any) -> str:
    """An EventBridge envelope around a lifecycle detail."""
    document = {
        "version": "0",
        "id": "12345678-1234-1234-1234-123456789012",
        "detail-type": "EC2 Instance-terminate Lifecycle Action",
        "source": "aws.autoscaling",
        "account": "123456789012",
        "time": "2026-01-13T00:12:37Z",
        "region": "us-west-2",
        "resources": ["auto-scaling-group-arn"],
        "detail": detail,
    }
    document.update(envelope)
    return json.dumps(document)


def detail(**overrides: Any) -> dict[str, Any]:
    """A terminating lifecycle detail."""
    base = {
        "LifecycleActionToken": TOKEN,
        "AutoScalingGroupName": "my-asg",
        "LifecycleHookName": "my-hook",
        "EC2InstanceId": INSTANCE,
        "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
        "NotificationMetadata": "additional-info",
    }
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


# -- message parsing ------------------------------------------------------------------


def test_parses_eventbridge_terminate_event_with_warm_pool_fields() -> None:
    """Origin/Destination and the envelope time are kept."""
    parsed = drain_messages.parse_body(eventbridge(detail(Origin="AutoScalingGroup", Destination="WarmPool")))
    assert isinstance(parsed, drain_messages.LifecycleEvent)
    assert (parsed.token, parsed.asg_name, parsed.hook_name, parsed.instance_id) == (
        TOKEN,
        "my-asg",
        "my-hook",
        INSTANCE,
    )
    assert (parsed.origin, parsed.destination) == ("AutoScalingGroup", "WarmPool")
    assert parsed.notification_metadata == "additional-info"
    assert parsed.event_time == pytest.approx(1768263157.0)


def test_parses_event_without_origin_destination_and_direct_hook_notification() -> None:
    """The fields are optional; the flat SQS-target notification format is accepted too."""
    parsed = drain_messages.parse_body(eventbridge(detail(NotificationMetadata=None)))
    assert isinstance(parsed, drain_messages.LifecycleEvent)
    assert parsed.origin is None and parsed.destination is None and parsed.notification_metadata is None
    flat = drain_messages.parse_body(json.dumps({**detail(), "Service": "AWS Auto Scaling", "RequestId": "r-1"}))
    assert isinstance(flat, drain_messages.LifecycleEvent) and flat.event_id == "r-1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (eventbridge(detail(LifecycleTransition="autoscaling:TEST_NOTIFICATION")), "test_notification"),
        (
            json.dumps({"Service": "AWS Auto Scaling", "Event": "autoscaling:TEST_NOTIFICATION", "AccountId": "1"}),
            "test_notification",
        ),
        (
            eventbridge(detail(), **{"detail-type": "EC2 Instance-launch Lifecycle Action"}),
            "not_a_terminate_lifecycle_action",
        ),
        (json.dumps(detail(LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING")), "wrong_transition"),
    ],
)
def test_ignored_messages(body: str, reason: str) -> None:
    """Well-formed messages that need no drain."""
    parsed = drain_messages.parse_body(body)
    assert isinstance(parsed, drain_messages.Ignored)
    assert parsed.reason == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "body_not_json"),
        ("[1, 2, 3]", "body_not_json_object"),
        (json.dumps({"hello": "world"}), "unknown_message_shape"),
        (eventbridge(detail(), source="aws.ec2"), "unexpected_event_source"),
        (eventbridge(detail(LifecycleActionToken=None)), "invalid_lifecycle_event"),
        (eventbridge(detail(EC2InstanceId="i-nothex!")), "invalid_lifecycle_event"),
        (eventbridge(detail(LifecycleActionToken="too-short-for-the-api")), "invalid_lifecycle_event"),
        (eventbridge(detail(LifecycleHookName="spaces are not allowed")), "invalid_lifecycle_event"),
        (eventbridge(detail(AutoScalingGroupName=7)), "invalid_lifecycle_event"),
        (eventbridge(detail(Origin=["WarmPool"])), "invalid_lifecycle_event"),
        (
            json.dumps({"detail-type": "EC2 Instance-terminate Lifecycle Action", "source": "aws.autoscaling"}),
            "event_detail_not_object",
        ),
        (json.dumps({"kind": "rudder-ha.drain.step", "v": 1, "pk": "x", "token": TOKEN}), "invalid_continuation"),
        (
            json.dumps(
                {
                    "kind": "rudder-ha.drain.step",
                    "v": 1,
                    "pk": "x",
                    "token": TOKEN,
                    "instance_id": INSTANCE,
                    "asg_name": "a",
                    "seq": -1,
                }
            ),
            "invalid_continuation",
        ),
        (json.dumps({"kind": "rudder-ha.drain.step", "v": 99}), "unsupported_continuation_version"),
    ],
)
def test_rejected_messages(body: str, reason: str) -> None:
    """Malformed input is classified, never raised."""
    parsed = drain_messages.parse_body(body)
    assert isinstance(parsed, drain_messages.Rejected)
    assert parsed.reason == reason


def test_continuation_round_trip() -> None:
    """A continuation body parses back to the same message."""
    message = drain_messages.Continuation(pk="action#t", token=TOKEN, instance_id=INSTANCE, asg_name="g", seq=12)
    assert drain_messages.parse_body(message.to_body()) == message


@settings(deadline=None)
@given(st.one_of(st.text(max_size=200), st.binary(max_size=50), st.integers(), st.none()))
def test_parse_never_raises(body: Any) -> None:
    """Arbitrary input is classified, never raised."""
    parsed = drain_messages.parse_body(body)
    assert isinstance(parsed, drain_messages.Ignored | drain_messages.Rejected | drain_messages.LifecycleEvent)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (eventbridge(detail(Deep=json.loads("[" * 33 + "]" * 33))), "body_too_deep"),
        ("[" * 5000 + "]" * 5000, "body_too_deep"),
        ('{"detail": ' * 3000 + "1" + "}" * 3000, "body_too_deep"),
        (eventbridge(detail(NotificationMetadata="x" * 300_000)), "body_too_large"),
        (eventbridge(detail(NotificationMetadata="\u00e9" * 140_000)), "body_too_large"),
        (eventbridge(detail(NotificationMetadata="bad \udc80 text")), "body_not_utf8"),
        (eventbridge(detail()).replace(INSTANCE, INSTANCE + "\ud800"), "body_not_utf8"),
    ],
    ids=["33 deep", "5000 deep array", "3000 deep objects", "300 kB", "280 kB of 2-byte text", "escaped", "raw"],
)
def test_bodies_are_bounded_before_parsing(body: str, reason: str) -> None:
    """Too deep (RecursionError in json), too large, or not valid Unicode: rejected, never raised."""
    parsed = drain_messages.parse_body(body)
    assert isinstance(parsed, drain_messages.Rejected)
    assert parsed.reason == reason


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    """The depth bound looks at the JSON structure only."""
    parsed = drain_messages.parse_body(eventbridge(detail(NotificationMetadata='[{"\\"' * 500)))
    assert isinstance(parsed, drain_messages.LifecycleEvent)


@settings(max_examples=50, deadline=None)
@given(depth=st.integers(min_value=1, max_value=20_000), opener=st.sampled_from(["[", '{"a":']))
def test_parse_never_raises_on_any_nesting(depth: int, opener: str) -> None:
    """Any nesting depth is classified (rejected beyond the bound), never a RecursionError."""
    closer = "]" if opener == "[" else "}"
    parsed = drain_messages.parse_body(opener * depth + "1" + closer * depth)
    assert isinstance(parsed, drain_messages.Rejected)
    assert (parsed.reason == "body_too_deep") == (depth > drain_messages.MAX_JSON_DEPTH)


@pytest.mark.parametrize(
    ("metadata", "truncated"),
    [
        ("a" * 4096, False),
        ("a" * 4097, True),
        ("\u00e9" * 2048, False),  # 4096 bytes
        ("a" + "\u00e9" * 2048, True),  # 4097 bytes: the cut may not split a character
        ("\U0001f600" * 5000, True),
        ({"nested": ["x" * 5000]}, True),
    ],
    ids=["4096 bytes", "4097 bytes", "4096 bytes of 2-byte text", "4097 bytes of 2-byte text", "emoji", "json"],
)
def test_notification_metadata_is_capped_at_4_kib(metadata: Any, truncated: bool) -> None:
    """Kept whole up to 4096 UTF-8 bytes; beyond, truncated at a character boundary with a marker."""
    parsed = drain_messages.parse_body(eventbridge(detail(NotificationMetadata=metadata)))
    assert isinstance(parsed, drain_messages.LifecycleEvent)
    stored = parsed.notification_metadata
    encoded = stored.encode("utf-8")  # valid UTF-8: no split character
    assert len(encoded) <= drain_messages.MAX_METADATA_BYTES
    original = metadata if isinstance(metadata, str) else json.dumps(metadata)
    if truncated:
        size = len(original.encode("utf-8"))
        assert parsed.metadata_original_bytes == size
        assert stored.endswith(f" [truncated from {size} bytes]")
        assert original.startswith(stored[: -len(f" [truncated from {size} bytes]")])
    else:
        assert stored == original and parsed.metadata_original_bytes is None


# -- check interpretation -----------------------------------------------------------------------


def test_exit_codes_map_to_verdicts() -> None:
    """0 + drained report = drained; 75 = pending; 69 and others = cannot tell."""
    Verdict = drain_ssm_check.Verdict
    drained = drain_ssm_check.interpret(ssm_status="Success", response_code=0, stdout=check_output("drained", 0))
    assert drained.verdict is Verdict.DRAINED
    pending = drain_ssm_check.interpret(ssm_status="Failed", response_code=75, stdout=check_output("pending", 4, 12.5))
    assert pending.verdict is Verdict.PENDING
    assert (pending.pending_jobs, pending.oldest_pending_age_seconds) == (4, 12.5)
    unknown = drain_ssm_check.interpret(
        ssm_status="Failed", response_code=69, stdout=check_output("unknown", None, None, "connection refused")
    )
    assert unknown.verdict is Verdict.UNKNOWN and unknown.error == "connection refused"
    for code in (1, 2, 127, 255, -1):
        result = drain_ssm_check.interpret(ssm_status="Failed", response_code=code, stdout="")
        assert result.verdict is Verdict.UNKNOWN


@pytest.mark.parametrize("status", ["TimedOut", "Cancelled", "Undeliverable", None])
def test_unfinished_or_undeliverable_commands_cannot_tell(status: str | None) -> None:
    """Even a drained-looking stdout does not count when the command did not finish normally."""
    result = drain_ssm_check.interpret(ssm_status=status, response_code=0, stdout=check_output("drained", 0))
    assert result.verdict is drain_ssm_check.Verdict.UNKNOWN


def test_exit_zero_without_drained_report_is_not_drained() -> None:
    """Exit 0 must come with a drained report (and no pending jobs)."""
    for stdout in ("", "garbage", check_output("pending", 3), json.dumps({"status": "drained", "pending_jobs": 2})):
        result = drain_ssm_check.interpret(ssm_status="Success", response_code=0, stdout=stdout)
        assert result.verdict is drain_ssm_check.Verdict.UNKNOWN


def test_report_is_last_json_line() -> None:
    """Diagnostics before the JSON line do not confuse the parser."""
    stdout = "starting\nsome log {not json\n" + check_output("drained", 0)
    assert drain_ssm_check.parse_report(stdout)["status"] == "drained"


# -- heartbeat planning --------------------------------------------------------------------


def test_global_timeout_rule() -> None:
    """GlobalTimeout = min(100 x HeartbeatTimeout, 172800 s)."""
    assert drain_lifecycle.global_timeout_for(300) == 30_000
    assert drain_lifecycle.global_timeout_for(3600) == 172_800


@settings(max_examples=200, deadline=None)
@given(
    heartbeat_timeout=st.integers(min_value=30, max_value=7200),
    poll=st.integers(min_value=1, max_value=900),
    margin=st.integers(min_value=0, max_value=300),
    delays=st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=60),
    latency_fraction=st.floats(min_value=0.0, max_value=0.99),
)
def test_heartbeats_keep_hook_alive_when_latency_below_margin(
    heartbeat_timeout: int, poll: int, margin: int, delays: list[int], latency_fraction: float
) -> None:
    """Simulated steps: with latency below the margin, the hook never expires before the global timeout."""
    start = 1_000_000.0
    global_deadline = start + drain_lifecycle.global_timeout_for(heartbeat_timeout)
    margin_used = drain_heartbeat.effective_margin(heartbeat_timeout, margin)
    now, last = start, start
    for requested in [poll, *delays]:
        plan = drain_heartbeat.plan_heartbeat(
            now=now,
            last_heartbeat_at=last,
            heartbeat_timeout=heartbeat_timeout,
            global_deadline=global_deadline,
            requested_delay=requested,
            margin=margin,
        )
        if plan.send_now:
            assert now < global_deadline
            last = now
        assert 0 <= plan.delay_seconds <= 900
        now = now + plan.delay_seconds + margin_used * latency_fraction
        if now >= global_deadline:
            break
        assert now < last + heartbeat_timeout, "the hook timed out between two steps"


@given(
    heartbeat_timeout=st.integers(min_value=600, max_value=7200),
    delays=st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=60),
    crashes=st.lists(st.booleans(), min_size=60, max_size=60),
    latency_fraction=st.floats(min_value=0.0, max_value=0.99),
)
def test_a_reserve_survives_a_crashed_step(
    heartbeat_timeout: int, delays: list[int], crashes: list[bool], latency_fraction: float
) -> None:
    """Waiting for a signal (reserve = the queue's 360 s visibility timeout): any step may crash and come back
    360 s late (never two in a row), and the hook still never expires between two steps that run."""
    start, margin, reserve = 1_000_000.0, 120, 360
    global_deadline = start + drain_lifecycle.global_timeout_for(heartbeat_timeout)
    margin_used = drain_heartbeat.effective_margin(heartbeat_timeout, margin)
    now, last, crashed_before = start, start, False
    for requested, crash in zip(delays, crashes, strict=False):
        plan = drain_heartbeat.plan_heartbeat(
            now=now,
            last_heartbeat_at=last,
            heartbeat_timeout=heartbeat_timeout,
            global_deadline=global_deadline,
            requested_delay=requested,
            margin=margin,
            reserve=reserve,
        )
        if plan.send_now:
            last = now
        crashed = crash and not crashed_before
        now = now + plan.delay_seconds + margin_used * latency_fraction + (reserve if crashed else 0)
        crashed_before = crashed
        if now >= global_deadline:
            break
        assert now < last + heartbeat_timeout, "the hook timed out while a crashed step was redelivered"


def test_heartbeat_refreshes_at_half_timeout_and_never_past_global() -> None:
    """Half the timeout left triggers a heartbeat; at the global deadline nothing is sent."""
    plan = drain_heartbeat.plan_heartbeat(
        now=460, last_heartbeat_at=0, heartbeat_timeout=900, global_deadline=90_000, requested_delay=30, margin=120
    )
    assert plan.send_now
    quiet = drain_heartbeat.plan_heartbeat(
        now=100, last_heartbeat_at=0, heartbeat_timeout=900, global_deadline=90_000, requested_delay=30, margin=120
    )
    assert not quiet.send_now and quiet.delay_seconds == 30
    near = drain_heartbeat.plan_heartbeat(
        now=89_950,
        last_heartbeat_at=89_500,
        heartbeat_timeout=900,
        global_deadline=90_000,
        requested_delay=30,
        margin=120,
    )
    assert not near.send_now and near.near_global_timeout
    past = drain_heartbeat.plan_heartbeat(
        now=90_001,
        last_heartbeat_at=89_500,
        heartbeat_timeout=900,
        global_deadline=90_000,
        requested_delay=30,
        margin=120,
    )
    assert not past.send_now and past.past_global_timeout


def test_short_heartbeat_timeout_shortens_the_poll_delay() -> None:
    """With a 60 s heartbeat timeout a 300 s poll would let the hook expire: the delay is clamped."""
    plan = drain_heartbeat.plan_heartbeat(
        now=0, last_heartbeat_at=0, heartbeat_timeout=60, global_deadline=6000, requested_delay=300, margin=120
    )
    assert plan.delay_seconds <= 40


# -- configuration and record codec ------------------------------------------------------------

BASE_ENV = {
    "DRAIN_TABLE_NAME": "t",
    "DRAIN_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
    "DRAIN_CHECK_DOCUMENT": "doc",
    "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:1:topic",
    "ENVIRONMENT": "prod",
    "DRAIN_ASG_NAMES": "rudder-ha-prod-data-plane",
}


def test_config_defaults_and_overrides() -> None:
    """Documented defaults; explicit values are parsed."""
    config = drain_config.DrainConfig.from_env(BASE_ENV)
    assert (config.deadline_seconds, config.poll_interval_seconds, config.abandon_after_deadline) == (3600, 30, False)
    assert config.ssm_command_timeout_seconds == 60
    custom = drain_config.DrainConfig.from_env(
        {**BASE_ENV, "POLL_INTERVAL_SECONDS": "900", "ABANDON_AFTER_DEADLINE": "True", "DRAIN_DEADLINE_SECONDS": "60"}
    )
    assert (custom.poll_interval_seconds, custom.abandon_after_deadline, custom.deadline_seconds) == (900, True, 60)


def test_config_names_the_groups_it_drains() -> None:
    """DRAIN_ASG_NAMES: required, comma-separated, blanks ignored."""
    assert drain_config.DrainConfig.from_env(BASE_ENV).asg_names == frozenset({"rudder-ha-prod-data-plane"})
    several = drain_config.DrainConfig.from_env({**BASE_ENV, "DRAIN_ASG_NAMES": " eks-a , eks-b,,eks-c ,"})
    assert several.asg_names == frozenset({"eks-a", "eks-b", "eks-c"})
    for missing in (
        {k: v for k, v in BASE_ENV.items() if k != "DRAIN_ASG_NAMES"},
        {**BASE_ENV, "DRAIN_ASG_NAMES": " , "},
    ):
        with pytest.raises(drain_config.ConfigError, match="DRAIN_ASG_NAMES is required"):
            drain_config.DrainConfig.from_env(missing)
    with pytest.raises(drain_config.ConfigError, match="longer than 255"):
        drain_config.DrainConfig.from_env({**BASE_ENV, "DRAIN_ASG_NAMES": "g" * 256})


def test_config_errors_list_every_problem() -> None:
    """Missing and invalid variables are all reported at once."""
    with pytest.raises(drain_config.ConfigError) as info:
        drain_config.DrainConfig.from_env(
            {"DRAIN_TABLE_NAME": "t", "POLL_INTERVAL_SECONDS": "901", "ABANDON_AFTER_DEADLINE": "maybe"}
        )
    message = str(info.value)
    for expected in ("DRAIN_QUEUE_URL", "ALERT_TOPIC_ARN", "POLL_INTERVAL_SECONDS", "ABANDON_AFTER_DEADLINE"):
        assert expected in message


def test_record_round_trip() -> None:
    """Every field survives the DynamoDB codec."""
    record = drain_state.DrainRecord(
        pk=drain_state.record_key(TOKEN),
        token=TOKEN,
        instance_id=INSTANCE,
        asg_name="g",
        hook_name="h",
        strategy="ec2-data-plane",
        started_at=1000.25,
        deadline_at=4600.25,
        created_at=1001.0,
        updated_at=1002.5,
        expires_at=2_000_000,
        origin="WarmPool",
        destination="EC2",
        status=drain_state.Status.DONE,
        outcome=drain_state.Outcome.CONTINUE,
        seq=7,
        step_state=drain_state.StepState.RUNNING,
        lease_until=1100.0,
        version=9,
        heartbeat_timeout=900,
        global_timeout=90_000,
        default_result="ABANDON",
        deadline_alerted_at=4700.0,
        completion_notified=True,
        completion_requested="CONTINUE",
        strategy_state={"phase": "check", "command": {"id": "c", "sent_at": 1.5}},
        last_progress={"kind": "IN_PROGRESS"},
    )
    assert drain_state.DrainRecord.from_item(record.to_item()) == record

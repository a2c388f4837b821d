"""Idempotency and failure handling of the drain Lambda (scripted check results, virtual time).

Duplicate and out-of-order messages, old tokens, vanished instances, hooks ended elsewhere,
transient AWS errors, failures after a side effect, concurrent duplicate invocations, throttling
and malformed input.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from typing import Any

import pytest

from tests.support import aws_emulation as ae
from tests.support.lambda_loader import DRAIN_LAMBDA_DIR, load_drain_lambda, load_handler


def deliver_now(h: ae.DrainHarness, body: str) -> tuple[ae.InvocationRecord, list[ae.ApiCall]]:
    """Send ``body`` to the queue and deliver it at once; return the invocation and its API calls."""
    message = h.emu.queue.send(body)
    before = len(h.emu.calls.calls)
    for _ in range(10):
        record = h.driver.deliver_once()
        assert record is not None
        if message.message_id in record.message_ids:
            return record, h.emu.calls.calls[before:]
    raise AssertionError("message not delivered")


def continuation_bodies(emu: ae.AwsEmulation) -> list[dict[str, Any]]:
    """Every continuation the Lambda sent, in order."""
    bodies = [json.loads(call.params["MessageBody"]) for call in emu.calls.of("SendMessage")]
    return [body for body in bodies if body.get("kind") == "rudder-ha.drain.step"]


def assert_clean_end(h: ae.DrainHarness, action: ae.LifecycleAction) -> None:
    """Nothing left in the queue or the DLQ; the hook never timed out."""
    h.driver.run(max_seconds=2000)
    assert h.emu.queue.messages == []
    assert h.emu.queue.dead_letters == []
    assert not action.timed_out


# -- duplicates and ordering -----------------------------------------------------------------


def test_same_token_twice_never_starts_a_second_drain(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture) -> None:
    """The event is redelivered mid-drain and after completion: one drain, one completion."""
    h = ae.build_harness(emu, deregistration_delay=30)
    action = h.start()
    ae.script_checks(emu, drained_at=emu.clock.now() + 300)
    h.driver.run(max_seconds=90)
    event_body = json.dumps(emu.lifecycle.event_document(action))
    _, calls = deliver_now(h, event_body)
    assert [call.operation for call in calls] == ["GetItem"]
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    assert emu.calls.count("DeregisterTargets") == 1
    assert emu.calls.count("RecordLifecycleActionHeartbeat") >= 1
    assert len(emu.calls.of("CompleteLifecycleAction")) == 1

    invocation, calls = deliver_now(h, event_body)
    assert invocation.failures == []
    assert [call.operation for call in calls] == ["GetItem"]
    reasons = {line["event"] for line in ae.drain_log_events(logs)}
    assert {"stale_step_message", "duplicate_for_finished_drain"} <= reasons
    assert_clean_end(h, action)


def test_continuations_stale_ahead_and_after_completion_do_nothing_harmful(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """Old continuations are dropped, early ones are retried until stale, late ones are ignored."""
    h = ae.build_harness(emu, deregistration_delay=30)
    action = h.start()
    ae.script_checks(emu, drained_at=emu.clock.now() + 600)
    h.driver.run(max_seconds=200)
    sent = continuation_bodies(emu)
    assert len(sent) >= 4
    stale = json.dumps(sent[1])
    _, calls = deliver_now(h, stale)
    assert [call.operation for call in calls] == ["GetItem"]

    current = h.record(action.token).seq
    ahead = json.dumps({**sent[-1], "seq": current + 1})
    invocation, calls = deliver_now(h, ahead)
    assert invocation.failures == invocation.message_ids  # retried later, not dropped
    assert [call.operation for call in calls] == ["GetItem", "ChangeMessageVisibility"]

    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    assert len(emu.calls.of("CompleteLifecycleAction")) == 1
    for body in continuation_bodies(emu)[-3:]:
        invocation, calls = deliver_now(h, json.dumps(body))
        assert invocation.failures == [] and [call.operation for call in calls] == ["GetItem"]
    events = {line["event"] for line in ae.drain_log_events(logs)}
    assert {"stale_step_message", "step_message_ahead_of_state", "duplicate_for_finished_drain"} <= events
    assert_clean_end(h, action)


def test_old_token_for_an_instance_with_a_new_lifecycle_action(emu: ae.AwsEmulation) -> None:
    """A late event of an ended action must not touch the instance now drained under a new token."""
    h = ae.build_harness(emu, deregistration_delay=30, warm_pool=True)
    instance_id = h.plane.instance_ids[0]
    ae.script_checks(emu, drained_at=emu.clock.now() + 400)
    old = emu.lifecycle.begin_termination(instance_id, h.plane.asg_name, destination="WarmPool", deliver_event=False)
    emu.lifecycle.complete(
        {
            "LifecycleActionToken": old.token,
            "AutoScalingGroupName": h.plane.asg_name,
            "LifecycleHookName": h.plane.hook_name,
            "LifecycleActionResult": "CONTINUE",
        }
    )
    emu.clock.advance(30)
    assert emu.fleet.in_warm_pool(instance_id)
    emu.return_to_group(instance_id, h.plane.asg_name)
    for arn in h.plane.target_group_arns:
        emu.elbv2.register(arn, instance_id, 8080, healthy_now=True)

    new = h.start(instance_id)
    h.driver.run(max_seconds=120)
    before = len(emu.calls.calls)
    deliver_now(h, json.dumps(emu.lifecycle.event_document(old)))
    old_calls = emu.calls.calls[before:]
    assert {call.operation for call in old_calls} <= {"GetItem", "PutItem", "RecordLifecycleActionHeartbeat"}
    probe = [call for call in old_calls if call.operation == "RecordLifecycleActionHeartbeat"]
    assert len(probe) == 1 and probe[0].error_code == "ValidationError"
    assert h.record(old.token).outcome.value == "NOT_ACTIVE"

    record = h.run_until_finished(new.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    completions = emu.calls.of("CompleteLifecycleAction")
    assert [call.params["LifecycleActionToken"] for call in completions] == [new.token]
    assert new.result == "CONTINUE"
    assert_clean_end(h, new)


# -- the instance or the hook goes away ------------------------------------------------------------


@pytest.mark.parametrize("vanish_after", [20, 600], ids=["while-deregistering", "while-checking"])
def test_instance_vanishes_mid_drain(emu: ae.AwsEmulation, vanish_after: int) -> None:
    """Terminated behind the drain's back: the drain ends as GONE, without completing or crash-looping."""
    h = ae.build_harness(emu, deregistration_delay=120)
    ae.script_checks(emu, drained_at=None)
    action = h.start()
    h.driver.run(max_seconds=vanish_after)
    emu.vanish_instance(action.instance_id)
    failures_before = sum(len(inv.failures) for inv in h.driver.invocations)
    record = h.run_until_finished(action.token, max_seconds=1800)
    assert record.outcome.value == "GONE"
    assert emu.calls.of("CompleteLifecycleAction") == []
    assert sum(len(inv.failures) for inv in h.driver.invocations) == failures_before
    h.driver.run(max_seconds=1000)
    assert emu.queue.messages == [] and emu.queue.dead_letters == []


def test_hook_completed_elsewhere_ends_the_drain(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture) -> None:
    """Someone else completes the action: the next heartbeat says "No active Lifecycle Action" -> done."""
    h = ae.build_harness(emu, deregistration_delay=30, warm_pool=True)
    ae.script_checks(emu, drained_at=None)
    action = h.start(destination="WarmPool")
    h.driver.run(max_seconds=200)
    emu.lifecycle.complete(
        {
            "LifecycleActionToken": action.token,
            "AutoScalingGroupName": h.plane.asg_name,
            "LifecycleHookName": h.plane.hook_name,
            "LifecycleActionResult": "ABANDON",
        }
    )
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "ALREADY_ENDED"
    failed = [call for call in emu.calls.of("RecordLifecycleActionHeartbeat") if call.error_code]
    assert len(failed) == 1 and failed[0].error_code == "ValidationError"
    assert all(not inv.failures for inv in h.driver.invocations)
    assert "lifecycle_action_ended_elsewhere" in {line["event"] for line in ae.drain_log_events(logs)}
    h.driver.run(max_seconds=1000)
    assert emu.queue.messages == [] and emu.queue.dead_letters == []


# -- transient failures, retries, concurrency ------------------------------------------------------


def test_transient_aws_errors_are_batch_failures_and_retried(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """Throttling and 5xx answers: the record is reported failed, redelivered, and the drain still completes."""
    h = ae.build_harness(emu, deregistration_delay=30, visibility_timeout=120)
    ae.script_checks(emu, drained_at=emu.clock.now() + 600)
    emu.faults.add("ssm", "SendCommand", "ThrottlingException", "Rate exceeded", times=2, status=400)
    emu.faults.add("dynamodb", "GetItem", "InternalServerError", "oops", times=1, status=500)
    emu.faults.add("elbv2", "DescribeTargetHealth", "Throttling", "Rate exceeded", times=1, status=400)
    action = h.start()
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    assert sum(len(inv.failures) for inv in h.driver.invocations) == 4
    failed = [line for line in ae.drain_log_events(logs) if line["event"] == "record_failed"]
    assert {line["error_code"] for line in failed} == {"ThrottlingException", "InternalServerError", "Throttling"}
    # Failed records come back after the Lambda's backoff (20 s, 40 s, ...), not the 120 s visibility timeout.
    for invocation in h.driver.invocations:
        for message_id in invocation.failures:
            again = min(i.at for i in h.driver.invocations if message_id in i.message_ids and i.at > invocation.at)
            assert again - invocation.at <= 41, again - invocation.at
    assert_clean_end(h, action)


def _is_commit_of(seq: int) -> Any:
    """Predicate: a PutItem committing step ``seq`` (the record moves to SCHEDULED ``seq``)."""

    def check(params: dict[str, Any]) -> bool:
        item = params.get("Item", {})
        return item.get("seq", {}).get("N") == str(seq) and item.get("step_state", {}).get("S") == "SCHEDULED"

    return check


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(("dynamodb", "PutItem", "after", _is_commit_of(4)), id="commit-took-effect-response-lost"),
        pytest.param(("dynamodb", "PutItem", "before", _is_commit_of(4)), id="commit-failed-after-continuation-sent"),
        pytest.param(("ssm", "SendCommand", "after", None), id="check-sent-response-lost"),
        pytest.param(("sqs", "SendMessage", "before", None), id="continuation-not-sent"),
        pytest.param(("autoscaling", "CompleteLifecycleAction", "after", None), id="completed-response-lost"),
        pytest.param(("autoscaling", "RecordLifecycleActionHeartbeat", "after", None), id="heartbeat-response-lost"),
    ],
)
def test_invocation_fails_after_a_side_effect(emu: ae.AwsEmulation, fault: tuple[str, str, str, Any]) -> None:
    """A failure after some side effects: the message is retried and the drain ends exactly as it should."""
    service, operation, phase, when = fault
    h = ae.build_harness(emu, deregistration_delay=30, visibility_timeout=120)
    ae.script_checks(emu, drained_at=emu.clock.now() + 400)
    emu.faults.add(service, operation, "ServiceUnavailable", "injected", times=1, status=503, phase=phase, when=when)
    action = h.start()
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    assert action.result == "CONTINUE"
    assert len(emu.calls.of("CompleteLifecycleAction", ok_only=True)) <= 1
    assert sum(len(inv.failures) for inv in h.driver.invocations) >= 1
    if operation == "PutItem" and phase == "before":
        seqs = [body["seq"] for body in continuation_bodies(emu)]
        assert seqs.count(4) == 2  # two continuations for the same step were in flight
    assert_clean_end(h, action)


def test_concurrent_duplicate_invocation_during_a_step(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture) -> None:
    """A duplicate delivered while the step runs elsewhere is retried later, never run twice."""
    h = ae.build_harness(emu, deregistration_delay=30)
    ae.script_checks(emu, drained_at=emu.clock.now() + 300)
    nested: list[dict[str, Any]] = []
    started: list[bool] = []

    def interleave(service: str, operation: str, params: dict[str, Any]) -> None:
        if (service, operation) == ("ssm", "SendCommand") and not started and h.driver.current:
            started.append(True)
            original = h.driver.current[0]
            duplicate = dataclasses.replace(original, message_id="duplicate-1")
            sends_before = emu.calls.count("SendCommand")
            nested.append(h.driver.invoke_concurrently(duplicate))
            nested.append({"sends": emu.calls.count("SendCommand") - sends_before})

    emu.call_hooks.append(interleave)
    action = h.start()
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert nested[0] == {"batchItemFailures": [{"itemIdentifier": "duplicate-1"}]}
    assert nested[1] == {"sends": 0}
    assert "step_in_progress_elsewhere" in {line["event"] for line in ae.drain_log_events(logs)}
    assert record.outcome.value == "CONTINUE"
    assert len(emu.calls.of("CompleteLifecycleAction")) == 1
    assert_clean_end(h, action)


def test_concurrent_duplicate_lifecycle_events_create_one_drain(emu: ae.AwsEmulation) -> None:
    """Two copies of the event processed at once: one creates the drain, the other loses the race."""
    h = ae.build_harness(emu, deregistration_delay=30)
    ae.script_checks(emu, drained_at=emu.clock.now() + 300)
    nested: list[dict[str, Any]] = []
    started: list[bool] = []

    def interleave(service: str, operation: str, params: dict[str, Any]) -> None:
        # The outer invocation found no record and is about to create it: the copy runs now.
        creating = params.get("ConditionExpression") == "attribute_not_exists(pk)"
        if (service, operation) == ("dynamodb", "PutItem") and creating and not started and h.driver.current:
            body = json.loads(h.driver.current[0].body)
            if "detail" in body:
                started.append(True)
                duplicate = dataclasses.replace(h.driver.current[0], message_id="duplicate-event")
                nested.append(h.driver.invoke_concurrently(duplicate))

    emu.call_hooks.append(interleave)
    action = h.start()
    h.driver.run(max_seconds=5)
    assert nested == [{"batchItemFailures": []}]  # the nested copy created and ran step 0
    assert h.driver.invocations[0].failures == h.driver.invocations[0].message_ids  # the other lost the race
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    assert emu.calls.count("DeregisterTargets") == 1
    assert len(emu.calls.of("CompleteLifecycleAction")) == 1
    assert_clean_end(h, action)


def test_lambda_throttled_mid_drain(emu: ae.AwsEmulation) -> None:
    """Throttled for a while: messages come back after the visibility timeout; the hook stays alive."""
    h = ae.build_harness(emu, deregistration_delay=30, visibility_timeout=120, heartbeat_timeout=900)
    ae.script_checks(emu, drained_at=emu.clock.now() + 900)
    action = h.start()
    h.driver.run(max_seconds=300)
    h.driver.throttle(240)
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    assert any(inv.error == "throttled" for inv in h.driver.invocations)
    assert max(action.heartbeat_gaps()) < 900
    assert_clean_end(h, action)


# -- malformed input and the entry point --------------------------------------------------------------


def test_malformed_and_unknown_messages_are_logged_and_dropped(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """Permanently bad input: one JSON log line with the reason, no failure, no side effect."""
    h = ae.build_harness(emu)
    instance_id = h.plane.instance_ids[0]
    good_detail = {
        "LifecycleActionToken": "0b5fe1f8-1111-2222-3333-444455556666",
        "AutoScalingGroupName": h.plane.asg_name,
        "LifecycleHookName": h.plane.hook_name,
        "EC2InstanceId": instance_id,
        "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
    }

    def envelope(detail: Any, **extra: Any) -> str:
        return json.dumps(
            {
                "detail-type": "EC2 Instance-terminate Lifecycle Action",
                "source": "aws.autoscaling",
                "detail": detail,
                **extra,
            }
        )

    bodies = {
        "body_not_json": "{not json",
        "body_not_json_object": "42",
        "unknown_message_shape": json.dumps({"Message": "hello"}),
        "unexpected_event_source": envelope(good_detail, source="custom.app"),
        "invalid_lifecycle_event": envelope({**good_detail, "EC2InstanceId": None}),
        "test_notification": json.dumps(
            {"Service": "AWS Auto Scaling", "Event": "autoscaling:TEST_NOTIFICATION", "AutoScalingGroupName": "x"}
        ),
        "wrong_transition": envelope({**good_detail, "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"}),
        "invalid_continuation": json.dumps({"kind": "rudder-ha.drain.step", "v": 1, "seq": "one"}),
        "continuation_for_unknown_drain": json.dumps(
            {
                "kind": "rudder-ha.drain.step",
                "v": 1,
                "pk": "action#nope",
                "token": "00000000-1111-2222-3333-444444444444",
                "instance_id": instance_id,
                "asg_name": h.plane.asg_name,
                "seq": 3,
            }
        ),
    }
    for body in bodies.values():
        invocation, calls = deliver_now(h, body)
        assert invocation.failures == [] and invocation.error is None
        assert {call.operation for call in calls} <= {"GetItem"}
    lines = ae.drain_log_events(logs)
    reasons = {line.get("reason") or line["event"] for line in lines}
    assert set(bodies) <= reasons
    assert emu.calls.count("PutItem") == 0 and emu.calls.count("SendCommand") == 0
    assert emu.queue.messages == [] and emu.queue.dead_letters == []

    assert h.handler({"not": "sqs"}, None) == {"batchItemFailures": []}
    assert "not_an_sqs_event" in {line["event"] for line in ae.drain_log_events(logs)}


def test_handler_entry_point_reads_its_environment(emu: ae.AwsEmulation, monkeypatch: pytest.MonkeyPatch) -> None:
    """``handler.handler`` builds its runtime from the environment; missing settings fail loudly."""
    plane = ae.provision_data_plane(emu)
    load_drain_lambda()
    module = load_handler(DRAIN_LAMBDA_DIR, "drain_lambda_entry")
    for key, value in plane.lambda_env().items():
        monkeypatch.setenv(key, value)
    event = {"Records": [{"messageId": "m-1", "body": "garbage"}]}
    assert module.handler(event, None) == {"batchItemFailures": []}

    fresh = load_handler(DRAIN_LAMBDA_DIR, "drain_lambda_entry")
    monkeypatch.delenv("DRAIN_TABLE_NAME")
    config_error = importlib.import_module("lifecycle_drain.config").ConfigError
    with pytest.raises(config_error, match="DRAIN_TABLE_NAME"):
        fresh.handler(event, None)

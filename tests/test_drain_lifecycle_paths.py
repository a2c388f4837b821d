"""Deadline alerts, ABANDON_AFTER_DEADLINE, the global timeout, warm-pool transitions and
target-group deregistration (scripted check results, virtual time)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import aws_emulation as ae

POLL = 30
RESULT_DELAY = 5


# -- deadline ------------------------------------------------------------------------------------


def test_deadline_alert_published_exactly_once_then_completed(emu: ae.AwsEmulation) -> None:
    """One drain_deadline_exceeded when the deadline passes (not every poll), drain_completed at the end."""
    h = ae.build_harness(emu, env={"DRAIN_DEADLINE_SECONDS": "300"}, deregistration_delay=30)
    action = h.start()
    t0 = emu.clock.now()
    ae.script_checks(emu, drained_at=t0 + 700, pending=7)
    record = h.run_until_finished(action.token, max_seconds=3 * 3600)
    assert record.outcome.value == "CONTINUE"
    assert record.deadline_alerted_at is not None and record.completion_notified

    publishes = emu.calls.of("Publish", ok_only=True)
    alerts = emu.published(h.plane.topic_arn)
    assert [alert["kind"] for alert in alerts] == ["drain_deadline_exceeded", "drain_completed"]
    exceeded, completed = alerts
    assert t0 + 300 <= publishes[0].at <= t0 + 300 + POLL + RESULT_DELAY + 5
    assert {"source", "kind", "environment", "instance_id", "asg_name", "summary", "details"} <= set(exceeded)
    assert exceeded["source"] == "rudder-ha.drain"
    assert (exceeded["environment"], exceeded["instance_id"], exceeded["asg_name"]) == (
        "test",
        action.instance_id,
        h.plane.asg_name,
    )
    details = exceeded["details"]
    assert details["pending_jobs"] == 7 and details["oldest_pending_age_seconds"] == 60.0
    assert details["started_at"].startswith("2026-01-01T00:00:0") and details["deadline"].startswith("2026-01-01T00:05")
    assert "7 job(s) still pending" in exceeded["summary"]
    complete_call = emu.calls.of("CompleteLifecycleAction", ok_only=True)[0]
    assert publishes[1].at >= complete_call.at
    assert completed["instance_id"] == action.instance_id and completed["details"]["outcome"] == "CONTINUE"
    assert not action.timed_out


def test_abandon_after_deadline(emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture) -> None:
    """ABANDON_AFTER_DEADLINE=true: completes with ABANDON once the deadline passes (events may be lost)."""
    h = ae.build_harness(
        emu, env={"DRAIN_DEADLINE_SECONDS": "600", "ABANDON_AFTER_DEADLINE": "true"}, deregistration_delay=30
    )
    action = h.start()
    t0 = emu.clock.now()
    ae.script_checks(emu, drained_at=None)
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "ABANDON"
    assert action.result == "ABANDON" and not action.timed_out
    [complete] = emu.calls.of("CompleteLifecycleAction")
    assert complete.params["LifecycleActionResult"] == "ABANDON"
    assert t0 + 600 <= complete.at <= t0 + 600 + POLL + RESULT_DELAY + 5
    alerts = emu.published(h.plane.topic_arn)
    assert [alert["kind"] for alert in alerts] == ["drain_deadline_exceeded", "drain_completed"]
    assert alerts[1]["details"]["outcome"] == "ABANDON" and "events may be lost" in alerts[1]["summary"]
    warnings = [line for line in ae.drain_log_events(logs) if line["event"] == "abandoning_after_deadline"]
    assert len(warnings) == 1 and "may be lost" in warnings[0]["note"]
    emu.clock.advance(30)
    assert emu.ec2_state(action.instance_id) == "terminated"


def test_without_abandon_the_drain_waits_until_the_global_timeout(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """Never drained: heartbeats keep the hook alive up to its global timeout; the Lambda never completes it."""
    h = ae.build_harness(
        emu,
        env={"DRAIN_DEADLINE_SECONDS": "600"},
        config={"check_result_delay_seconds": 10},
        heartbeat_timeout=30,
        deregistration_delay=10,
    )
    action = h.start()
    ae.script_checks(emu, drained_at=None)
    h.driver.run(until=lambda: not action.active, max_seconds=4000)
    record = h.run_until_finished(action.token, max_seconds=600)
    assert action.global_timeout == 3000
    assert action.timed_out and action.result == "ABANDON"  # the hook's DefaultResult, at the global timeout
    assert action.ended_at == pytest.approx(action.started_at + 3000)
    assert max(action.heartbeat_gaps()) < 30
    assert emu.calls.of("CompleteLifecycleAction") == []
    assert record.outcome.value in ("GONE", "ALREADY_ENDED")
    assert [alert["kind"] for alert in emu.published(h.plane.topic_arn)] == [
        "drain_deadline_exceeded",
        "drain_completed",
    ]
    imminent = [line for line in ae.drain_log_events(logs) if line["event"] == "global_timeout_imminent"]
    assert len(imminent) == 1 and imminent[0]["level"] == "error"


# -- warm pools ------------------------------------------------------------------------------------


def test_instance_going_into_the_warm_pool_is_drained_like_a_terminating_one(emu: ae.AwsEmulation) -> None:
    """AutoScalingGroup -> WarmPool: deregistered, checked until drained, then it stops in the warm pool."""
    h = ae.build_harness(emu, warm_pool=True, deregistration_delay=30)
    action = h.start(origin="AutoScalingGroup", destination="WarmPool")
    ae.script_checks(emu, drained_at=emu.clock.now() + 300)
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE" and action.result == "CONTINUE"
    assert emu.calls.count("DeregisterTargets") == 1 and emu.calls.count("SendCommand") >= 2
    assert emu.calls.of("CompleteLifecycleAction")[0].at >= action.started_at + 300
    emu.clock.advance(30)
    assert emu.fleet.in_warm_pool(action.instance_id) == h.plane.asg_name
    assert emu.ec2_state(action.instance_id) == "stopped"


def test_warm_pool_instance_terminating_completes_at_once_when_in_no_target_group(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """WarmPool -> EC2: never served traffic, so after verifying the target groups it completes without a check."""
    h = ae.build_harness(emu, warm_pool=True, register=False, extra_target_groups=1)
    instance_id = h.plane.instance_ids[0]
    emu.move_to_warm_pool(instance_id, h.plane.asg_name)
    action = h.start(instance_id, origin="WarmPool", destination="EC2")
    record = h.run_until_finished(action.token, max_seconds=600)
    assert record.outcome.value == "CONTINUE" and action.result == "CONTINUE"
    assert emu.calls.count("SendCommand") == 0 and emu.calls.count("DeregisterTargets") == 0
    described = {call.params["TargetGroupArn"] for call in emu.calls.of("DescribeTargetHealth")}
    assert described == set(h.plane.target_group_arns)
    assert emu.calls.of("CompleteLifecycleAction")[0].at - action.started_at < 10
    assert "warm_pool_instance_terminating" in {line["event"] for line in ae.drain_log_events(logs)}
    emu.clock.advance(30)
    assert emu.ec2_state(instance_id) == "terminated"


def test_registered_warm_pool_instance_gets_the_full_drain(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """WarmPool -> EC2 but found in a target group (it may have served traffic): full drain."""
    h = ae.build_harness(emu, warm_pool=True, deregistration_delay=30)
    instance_id = h.plane.instance_ids[0]
    emu.move_to_warm_pool(instance_id, h.plane.asg_name, state="Warmed:Running")
    action = h.start(instance_id, origin="WarmPool", destination="EC2")
    ae.script_checks(emu, drained_at=emu.clock.now() + 240)
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    assert emu.calls.count("DeregisterTargets") == 1 and emu.calls.count("SendCommand") >= 2
    assert emu.calls.of("CompleteLifecycleAction")[0].at >= action.started_at + 240
    assert "warm_pool_instance_was_registered" in {line["event"] for line in ae.drain_log_events(logs)}


def test_event_without_origin_and_destination_gets_the_full_drain(emu: ae.AwsEmulation) -> None:
    """Origin/Destination absent (no warm pool): a normal drain."""
    h = ae.build_harness(emu, deregistration_delay=30)
    action = h.start(include_origin_destination=False)
    ae.script_checks(emu, drained_at=emu.clock.now() + 200)
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    assert record.origin is None and record.destination is None
    assert emu.calls.count("DeregisterTargets") == 1 and emu.calls.count("SendCommand") >= 2


# -- target groups -----------------------------------------------------------------------------------


def test_deregistered_from_every_target_group_and_waits_for_draining(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """TargetGroupARNs and elbv2 traffic sources, several ports and states; no check while draining."""
    h = ae.build_harness(emu, extra_target_groups=1, traffic_source_target_groups=1, deregistration_delay=120)
    instance_id = h.plane.instance_ids[0]
    first, second, via_source = h.plane.target_group_arns
    emu.elbv2.set_health(first, instance_id, "unhealthy")
    emu.elbv2.register(second, instance_id, 9090)  # a second port, still "initial"
    missing = first.rsplit("/", 2)[0] + "/gone/0123456789abcdef"
    emu.fleet.traffic_sources[h.plane.asg_name].append({"Identifier": missing, "Type": "elbv2"})
    action = h.start()
    ae.script_checks(emu, drained_at=emu.clock.now())
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"

    deregistered = {(arn, port) for _, arn, target, port in emu.elbv2.deregistrations if target == instance_id}
    assert deregistered == {(first, 8080), (second, 8080), (second, 9090), (via_source, 8080)}
    last_deregistration = max(at for at, *_ in emu.elbv2.deregistrations)
    first_check = emu.calls.of("SendCommand")[0].at
    assert first_check >= last_deregistration + 120
    assert emu.elbv2.registrations_of(instance_id) == []
    states = {
        call.params["TargetGroupArn"]
        for call in emu.calls.of("DescribeTargetHealth")
        if call.at < first_check and call.params["TargetGroupArn"] == missing
    }
    assert states == {missing}
    assert "target_groups_not_found" in {line["event"] for line in ae.drain_log_events(logs)}
    waits = [line for line in ae.drain_log_events(logs) if line.get("reason") == "waiting_for_target_draining"]
    assert len(waits) >= 3


def test_registered_again_before_completion_restarts_deregistration(
    emu: ae.AwsEmulation, logs: pytest.LogCaptureFixture
) -> None:
    """Someone re-registers the instance during the check: no completion until it is out and checked again."""
    h = ae.build_harness(emu, deregistration_delay=60)
    instance_id = h.plane.instance_ids[0]
    target_group = h.plane.target_group_arns[0]
    registered: list[float] = []

    def reregister(service: str, operation: str, params: dict[str, Any]) -> None:
        if (service, operation) == ("ssm", "SendCommand") and not registered:
            registered.append(emu.clock.now())
            emu.elbv2.register(target_group, instance_id, 8080)

    emu.call_hooks.append(reregister)
    action = h.start()
    ae.script_checks(emu, drained_at=emu.clock.now())
    record = h.run_until_finished(action.token, max_seconds=3600)
    assert record.outcome.value == "CONTINUE"
    rounds = [at for at, arn, target, _ in emu.elbv2.deregistrations if target == instance_id]
    assert len(rounds) == 2
    complete_at = emu.calls.of("CompleteLifecycleAction")[0].at
    completing_check = [call.at for call in emu.calls.of("SendCommand")][-1]
    assert completing_check >= rounds[1] + 60 and complete_at > completing_check
    assert "instance_registered_again" in {line["event"] for line in ae.drain_log_events(logs)}
